/**
 * LocalTaskTokens: the callback tokens of `.waitForTaskToken` Tasks in the local runtime (what
 * Step Functions' SendTaskSuccess / SendTaskFailure do in AWS, which cannot run here). The commands
 * are the real SDK command objects; nothing is sent anywhere. Timeouts run on vitest's fake
 * timers, so "no answer in time" and "answered during the wait" do not depend on the machine's speed.
 */
import { InvalidToken, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, type SendTaskSuccessCommandInput, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { answer } from '../../functions/control/request-approval.ts';
import type { Approval } from '../../functions/approvals/approval-store.ts';
import { HumanRejectedError, LegionError } from '../../functions/core/errors.ts';
import { LocalTaskTokens, TaskFailureAnswer, type TokenAnswer } from '../../local/local-task-tokens.ts';

const success = (taskToken: string, output: unknown): SendTaskSuccessCommand => new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) });
const failure = (taskToken: string, error: string, cause: string): SendTaskFailureCommand => new SendTaskFailureCommand({ taskToken, error, cause });

/** Whether a promise has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('Class: LocalTaskTokens', () => {
  let tokens: LocalTaskTokens;

  beforeEach(() => {
    vi.useFakeTimers();
    tokens = new LocalTaskTokens();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('Method: send (SendTaskSuccess) / wait', () => {
    it('an answer sent before wait is kept and delivered to wait', async () => {
      await expect(tokens.send(success('t-1', { decision: 'APPROVED', output: 'done' }))).resolves.toEqual({});

      await expect(tokens.wait('t-1', 0)).resolves.toEqual({ answered: true, output: { decision: 'APPROVED', output: 'done' } });
    });

    it('an answer is delivered once: the next wait on the token finds none', async () => {
      await tokens.send(success('t-1', 1));
      await tokens.wait('t-1', 0);

      const again = tokens.wait('t-1', 10);
      await vi.advanceTimersByTimeAsync(10);
      await expect(again).resolves.toEqual({ answered: false });
    });

    it('an answer sent during wait resolves it at once (before the timeout), and clears the timer', async () => {
      const waiting = tokens.wait('t-1', 60_000);
      expect(await settled(waiting)).toBe(false);

      await tokens.send(success('t-1', { answer: 42 }));

      // No fake time has passed: only the answer can have resolved it.
      await expect(waiting).resolves.toEqual({ answered: true, output: { answer: 42 } });
      expect(vi.getTimerCount()).toBe(0);
    });

    it('an answer without output is delivered as null', async () => {
      await tokens.send(new SendTaskSuccessCommand({ taskToken: 't-1' } as SendTaskSuccessCommandInput));
      await expect(tokens.wait('t-1', 0)).resolves.toEqual({ answered: true, output: null });
    });

    it('no answer within the timeout: { answered: false }, and a later answer is kept for the next wait', async () => {
      const waiting = tokens.wait('t-1', 1000);
      await vi.advanceTimersByTimeAsync(999);
      expect(await settled(waiting)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await expect(waiting).resolves.toEqual({ answered: false });

      await tokens.send(success('t-1', 'late'));

      await expect(tokens.wait('t-1', 0)).resolves.toEqual({ answered: true, output: 'late' });
    });

    it('keeps tokens apart: an answer to one token does not end the wait on another', async () => {
      const waitingA = tokens.wait('t-a', 1000);
      await tokens.send(success('t-b', 'for b'));

      await vi.advanceTimersByTimeAsync(1000);
      await expect(waitingA).resolves.toEqual({ answered: false });
      await expect(tokens.wait('t-b', 0)).resolves.toEqual({ answered: true, output: 'for b' });
    });
  });

  describe('Method: send (SendTaskFailure) / wait', () => {
    it('makes a waiting wait reject with an error named after the given error, whose message is the cause', async () => {
      const waiting = tokens.wait('t-1', 60_000);
      const outcome = waiting.then(
        (value: TokenAnswer) => ({ value }),
        (error: unknown) => ({ error }),
      );

      await tokens.send(failure('t-1', 'HumanRejectedError', 'Task t-1 rejected by a human: too risky'));

      const { error } = (await outcome) as { error?: unknown };
      expect(error).toBeInstanceOf(TaskFailureAnswer);
      expect(error).toBeInstanceOf(LegionError);
      expect(error).toMatchObject({ name: 'HumanRejectedError', message: 'Task t-1 rejected by a human: too risky', context: { error: 'HumanRejectedError' } });
    });

    it('a failure sent before wait makes wait reject', async () => {
      await tokens.send(failure('t-1', 'HumanRejectedError', 'no'));

      await expect(tokens.wait('t-1', 0)).rejects.toMatchObject({ name: 'HumanRejectedError', message: 'no' });
    });

    it('a failure without error or cause: States.TaskFailed with an empty message', async () => {
      await tokens.send(new SendTaskFailureCommand({ taskToken: 't-1' }));

      await expect(tokens.wait('t-1', 0)).rejects.toMatchObject({ name: 'States.TaskFailed', message: '' });
    });
  });

  describe('Method: send (invalid commands)', () => {
    it('rejects a SendTaskSuccess without taskToken', async () => {
      const sent = tokens.send(new SendTaskSuccessCommand({ output: '{}' } as SendTaskSuccessCommandInput));
      await expect(sent).rejects.toThrow(LegionError);
      await expect(sent).rejects.toThrow(/no taskToken/);
    });

    it('rejects a SendTaskFailure with an empty taskToken', async () => {
      await expect(tokens.send(failure('', 'HumanRejectedError', 'no'))).rejects.toThrow(/no taskToken/);
    });

    // SFN answers output that is not JSON with an InvalidOutput error (a rejected promise); send
    // is typed Promise<unknown> and rejects the other invalid command (no token) the same way.
    it('rejects (does not throw synchronously) a SendTaskSuccess whose output is not JSON', async () => {
      let sent: Promise<unknown> | undefined;
      expect(() => {
        sent = tokens.send(new SendTaskSuccessCommand({ taskToken: 't-1', output: 'not json' }));
      }).not.toThrow();
      await expect(sent).rejects.toThrow();
    });
  });

  describe('with request-approval\'s answer (the client the handler is given)', () => {
    const decided = (overrides: Partial<Approval>): Approval => ({
      taskId: 't-9',
      status: 'APPROVED',
      team: 'telecom-support',
      pattern: 'supervisor-worker',
      escalation: { Error: 'RollbackLimitExceededError', Cause: 'limit' },
      taskToken: 'token-stored',
      requestedAt: '2030-01-01T12:00:00.000Z',
      ...overrides,
    });

    it('an APPROVED decision resolves the wait with {decision, output, decidedBy}', async () => {
      const waiting = tokens.wait('token-new', 60_000);
      await answer('token-new', decided({ output: { answer: 'by hand' }, decidedBy: 'ops' }), tokens);
      await expect(waiting).resolves.toEqual({ answered: true, output: { decision: 'APPROVED', output: { answer: 'by hand' }, decidedBy: 'ops' } });
    });

    it('a REJECTED decision makes the wait reject as HumanRejectedError (what the Catch matches), the reason in the message', async () => {
      await answer('token-new', decided({ status: 'REJECTED', reason: 'too risky' }), tokens);
      await expect(tokens.wait('token-new', 0)).rejects.toMatchObject({ name: 'HumanRejectedError', message: new HumanRejectedError('t-9', 'too risky').message });
    });
  });

  describe('Method: send (SendTaskHeartbeat)', () => {
    it('accepts a heartbeat on a token a state waits on, which goes on waiting for its answer', async () => {
      const waiting = tokens.wait('t-1', 60_000);

      await expect(tokens.send(new SendTaskHeartbeatCommand({ taskToken: 't-1' }))).resolves.toEqual({});
      await tokens.send(new SendTaskSuccessCommand({ taskToken: 't-1', output: '"done"' }));

      await expect(waiting).resolves.toEqual({ answered: true, output: 'done' });
    });

    it('refuses a heartbeat on a token nothing waits on (never issued, or its wait is over) with TaskDoesNotExist, as AWS does', async () => {
      const unknown = tokens.send(new SendTaskHeartbeatCommand({ taskToken: 'nobody' }));
      await expect(unknown).rejects.toBeInstanceOf(TaskDoesNotExist);
      await expect(unknown).rejects.toMatchObject({ name: 'TaskDoesNotExist' });

      const waiting = tokens.wait('t-2', 1000);
      await vi.advanceTimersByTimeAsync(1000);
      await waiting;
      await expect(tokens.send(new SendTaskHeartbeatCommand({ taskToken: 't-2' }))).rejects.toBeInstanceOf(TaskDoesNotExist);
    });

    it('refuses a heartbeat without a token with InvalidToken', async () => {
      await expect(tokens.send(new SendTaskHeartbeatCommand({ taskToken: '' }))).rejects.toBeInstanceOf(InvalidToken);
    });
  });
});
