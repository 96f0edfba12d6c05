/**
 * Human in the loop, end to end on the local runtime: an escalated run waits (status WAITING) on
 * the real `Escalate` state of its pattern's ASL (`.waitForTaskToken`), the real request-approval
 * handler stores its token with the task and puts ApprovalRequested on the bus, and a decision
 * resumes the task: approved, it ends with the human's output; rejected, it fails. The scripted
 * model's `off-contract` fault (a scripted shortcut) makes the runs escalate.
 *
 * The task deadline (a day after the first request) works locally through request-approval on a
 * resume, and through the keeper run once (`sweepApprovals`); time is the runtime's `now` option, a
 * clock the tests move. Errors Step Functions itself raises in AWS (States.HeartbeatTimeout,
 * States.Timeout) cannot happen locally: they are sent to a waiting execution's token by hand, to
 * see where the real ASL routes them.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import { APPROVAL_HEARTBEAT_TIMEOUT_ERROR, APPROVAL_TIMEOUT_SECONDS } from '../../functions/core/contract.ts';
import { DETAIL_TYPES } from '../../functions/core/events.ts';
import { ApprovalDeadlinePassedError, ApprovalNotPendingError, EscalationTimedOutError } from '../../functions/core/errors.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type LocalRuntimeOptions, type RunResult } from '../../local/local-runtime.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

const DAY_MS = APPROVAL_TIMEOUT_SECONDS * 1000;

describe('Feature: escalation waits for a human (local runtime, DynamoDB Local)', () => {
  let telecom: TeamDefinition;
  let pipeline: TeamDefinition;

  /** Runs `work` on a runtime whose scripted model breaks `stateName`'s contract `times` times. */
  function withRuntime<T>(
    work: (runtime: LocalRuntime) => Promise<T>,
    faults: { stateName: string; times: number } = { stateName: 'Classify', times: 9 },
    options: Omit<LocalRuntimeOptions, 'dataDir' | 'model'> = {},
  ): Promise<T> {
    return withTestRuntime({ ...options, model: new ScriptedModel({ faults: [{ kind: 'off-contract', ...faults }] }) }, work);
  }

  const escalate = (runtime: LocalRuntime, team: TeamDefinition = telecom): Promise<RunResult> =>
    runtime.run({ team, input: team.example, taskId: `hitl-${randomUUID()}` });

  beforeAll(async () => {
    telecom = await loadTeamFile('teams/telecom-support.yaml');
    pipeline = await loadTeamFile('teams/content-pipeline.yaml');
  });

  it('stops WAITING with a pending approval that names the escalation, and notifies on the bus with the task token', async () => {
    // Act
    const { result, requested } = await withRuntime(async (runtime) => {
      const waiting = await escalate(runtime);
      return { result: waiting, requested: runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.approvalRequested) };
    });

    // Assess
    expect(result.status).toBe('WAITING');
    expect(result.error).toBeUndefined();
    expect(result.approval).toMatchObject({ status: 'PENDING', team: 'telecom-support', pattern: 'supervisor-worker', escalation: { Error: 'RollbackLimitExceededError' } });
    expect(result.approval).not.toHaveProperty('taskToken');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.detail).toMatchObject({ taskId: result.taskId, escalation: { error: 'RollbackLimitExceededError' } });
    expect(requested[0]?.detail.taskToken).toEqual(expect.stringContaining(result.taskId));
  });

  it('approved, resumes and ends SUCCEEDED with the output the human gave, without calling a model', async () => {
    // Act
    const { waiting, approved } = await withRuntime(async (runtime) => {
      const first = await escalate(runtime);
      return { waiting: first, approved: await runtime.approve({ team: telecom, taskId: first.taskId, output: { answer: 'Refund issued by hand' }, by: 'ops@example.com' }) };
    });

    // Assess
    expect(waiting.status).toBe('WAITING');
    expect(approved.status).toBe('SUCCEEDED');
    expect(approved.output).toEqual({
      approvedBy: 'ops@example.com',
      output: { answer: 'Refund issued by hand' },
      escalation: expect.objectContaining({ Error: 'RollbackLimitExceededError' }) as unknown,
    });
    expect(approved.modelCalls).toBe(0);
    expect(approved.approval).toMatchObject({ status: 'APPROVED', decidedBy: 'ops@example.com' });
  });

  it('rejected, resumes and ends FAILED with HumanRejectedError and the reason', async () => {
    // Act
    const rejected = await withRuntime(async (runtime) => {
      const first = await escalate(runtime);
      return runtime.reject({ team: telecom, taskId: first.taskId, reason: 'the customer withdrew the request' });
    });

    // Assess
    expect(rejected.status).toBe('FAILED');
    expect(rejected.error?.error).toBe('HumanRejectedError');
    expect(rejected.error?.cause).toMatch(/rejected by a human: the customer withdrew the request/);
    expect(rejected.approval?.status).toBe('REJECTED');
  });

  it('refuses a second decision, and a decision on a task that never escalated, with ApprovalNotPendingError', async () => {
    await withRuntime(async (runtime) => {
      const first = await escalate(runtime);
      await runtime.approve({ team: telecom, taskId: first.taskId });
      await expect(runtime.reject({ team: telecom, taskId: first.taskId, reason: 'too late' })).rejects.toThrow(ApprovalNotPendingError);
      await expect(runtime.approve({ team: telecom, taskId: `never-${randomUUID()}` })).rejects.toThrow(/never escalated/);
    });
  });

  it('a resumed task that is still pending waits again, without running its steps again', async () => {
    // Act
    const { first, again } = await withRuntime(async (runtime) => {
      const waiting = await escalate(runtime);
      return { first: waiting, again: await runtime.resume({ team: telecom, taskId: waiting.taskId }) };
    });

    // Assess
    expect(again.status).toBe('WAITING');
    expect(again.modelCalls).toBe(0);
    expect(again.approval?.requestedAt).toBe(first.approval?.requestedAt);
  });

  it('works the same in another pattern: a pipeline stage that keeps breaking its contract waits for a human', async () => {
    // Act
    const { waiting, approved } = await withRuntime(
      async (runtime) => {
        const first = await escalate(runtime, pipeline);
        return { waiting: first, approved: await runtime.approve({ team: pipeline, taskId: first.taskId, output: { document: 'written by the editor-in-chief' } }) };
      },
      { stateName: 'RunStage', times: 9 },
    );

    // Assess
    expect(waiting.status).toBe('WAITING');
    expect(waiting.approval?.pattern).toBe('pipeline');
    expect(approved.status).toBe('SUCCEEDED');
    expect((approved.output as { output: unknown }).output).toEqual({ document: 'written by the editor-in-chief' });
  });

  describe('Feature: a crash as Escalate starts, before the request is stored', () => {
    /** Classify breaks its contract once more than the rollbacks allow: run again, it would pass. */
    const justPastTheLimit = { stateName: 'Classify', times: 3 };

    /** Escalates, and stops the run as Escalate starts: request-approval never runs (as with --inject crash:Escalate). */
    function crashAtEscalate(runtime: LocalRuntime): Promise<RunResult> {
      const crash = new AbortController();
      const onStateEntered = (state: string): void => {
        if (state === 'Escalate') crash.abort();
      };
      return runtime.run({ team: telecom, input: telecom.example, taskId: `hitl-${randomUUID()}`, signal: crash.signal, onStateEntered });
    }

    it('resumes into the same wait for a human, without running a step again; approved, it ends with the human\'s output', async () => {
      // Act
      const { crashed, resumed, approved } = await withRuntime(async (runtime) => {
        const stopped = await crashAtEscalate(runtime);
        const waiting = await runtime.resume({ team: telecom, taskId: stopped.taskId });
        return { crashed: stopped, resumed: waiting, approved: await runtime.approve({ team: telecom, taskId: stopped.taskId, output: { answer: 'Refund issued by hand' }, by: 'ops@example.com' }) };
      }, justPastTheLimit);

      // Assess: the escalation was recorded when the rollback limit was reached, before the crash.
      expect(crashed.status).toBe('ABORTED');
      expect(crashed.approval).toMatchObject({ status: 'REQUESTED', escalation: { Error: 'RollbackLimitExceededError' } });
      expect(resumed.status).toBe('WAITING');
      expect(resumed.modelCalls).toBe(0);
      expect(resumed.approval).toMatchObject({ status: 'PENDING', escalation: crashed.approval?.escalation, requestedAt: crashed.approval?.requestedAt });
      expect(approved.status).toBe('SUCCEEDED');
      expect(approved.output).toMatchObject({ approvedBy: 'ops@example.com', output: { answer: 'Refund issued by hand' }, escalation: { Error: 'RollbackLimitExceededError' } });
      expect(approved.modelCalls).toBe(0);
    });

    it('decided before any resume (rejected), the resume ends FAILED with HumanRejectedError, without running a step again', async () => {
      // Act
      const rejected = await withRuntime(async (runtime) => {
        const stopped = await crashAtEscalate(runtime);
        return runtime.reject({ team: telecom, taskId: stopped.taskId, reason: 'the customer withdrew the request' });
      }, justPastTheLimit);

      // Assess
      expect(rejected.status).toBe('FAILED');
      expect(rejected.error?.error).toBe('HumanRejectedError');
      expect(rejected.modelCalls).toBe(0);
      expect(rejected.approval).toMatchObject({ status: 'REJECTED', escalation: { Error: 'RollbackLimitExceededError' } });
    });
  });

  describe('Feature: the task deadline (a day after the first request, however many executions wait)', () => {
    const CLASSIFY = { stateName: 'Classify', times: 9 };

    it('a task still waiting past its deadline is failed on resume with EscalationTimedOutError: ESCALATED, no step run again, no decision possible', async () => {
      const clock = { ms: Date.now() };
      // Act
      const { waiting, late, decision, again } = await withRuntime(
        async (runtime) => {
          const first = await escalate(runtime);
          clock.ms += DAY_MS + 1000;
          const resumed = await runtime.resume({ team: telecom, taskId: first.taskId });
          const decided = await runtime.approve({ team: telecom, taskId: first.taskId }).catch((error: unknown) => error);
          return { waiting: first, late: resumed, decision: decided, again: await runtime.resume({ team: telecom, taskId: first.taskId }) };
        },
        CLASSIFY,
        { now: () => clock.ms },
      );

      // Assess
      expect(waiting.status).toBe('WAITING');
      const requestedAt = waiting.approval?.requestedAt ?? '';
      expect(late.status).toBe('ESCALATED');
      expect(late.error).toEqual({
        error: 'EscalationTimedOutError',
        cause: new EscalationTimedOutError(waiting.taskId, requestedAt, new Date(Date.parse(requestedAt) + DAY_MS).toISOString()).message,
      });
      expect(late.error?.cause).toContain(waiting.taskId);
      expect(late.modelCalls).toBe(0);
      expect(late.approval).toMatchObject({ status: 'TIMED_OUT', decidedBy: 'deadline', requestedAt });
      expect(decision).toBeInstanceOf(ApprovalDeadlinePassedError);
      expect(decision).toBeInstanceOf(ApprovalNotPendingError);
      expect(again).toMatchObject({ status: 'ESCALATED', error: { error: 'EscalationTimedOutError' }, modelCalls: 0 });
    });

    it('a resume before the deadline waits again, and does not move the deadline', async () => {
      const clock = { ms: Date.now() };
      // Act
      const { before, after } = await withRuntime(
        async (runtime) => {
          const first = await escalate(runtime);
          clock.ms += DAY_MS - 60_000;
          const waitingAgain = await runtime.resume({ team: telecom, taskId: first.taskId });
          clock.ms += 61_000;
          return { before: waitingAgain, after: await runtime.resume({ team: telecom, taskId: first.taskId }) };
        },
        CLASSIFY,
        { now: () => clock.ms },
      );

      // Assess
      expect(before.status).toBe('WAITING');
      expect(after.status).toBe('ESCALATED');
      expect(after.error?.error).toBe('EscalationTimedOutError');
    });

    it("reading a waiting task's approval past its deadline records it TIMED_OUT (locally nothing runs on a schedule)", async () => {
      const clock = { ms: Date.now() };
      // Act
      const { before, after } = await withRuntime(
        async (runtime) => {
          const first = await escalate(runtime);
          const pending = await runtime.approval(first.taskId);
          clock.ms += DAY_MS;
          return { before: pending, after: await runtime.approval(first.taskId) };
        },
        CLASSIFY,
        { now: () => clock.ms },
      );

      // Assess
      expect(before?.status).toBe('PENDING');
      expect(after).toMatchObject({ status: 'TIMED_OUT', decidedBy: 'deadline' });
      expect(after).not.toHaveProperty('taskToken');
    });

    it('the keeper, run once, times out a WAITING task past its deadline (its resume then ends ESCALATED at once), and only that one', async () => {
      // The task escalated two days ago; every other approval of the shared table was asked for within the day.
      const clock = { ms: Date.now() - 2 * DAY_MS };
      // Act
      const { late, recent, sweep, resumed, recentAfter } = await withRuntime(
        async (runtime) => {
          const old = await escalate(runtime);
          clock.ms = Date.now();
          const fresh = await escalate(runtime);
          const swept = await runtime.sweepApprovals();
          return { late: old, recent: fresh, sweep: swept, resumed: await runtime.resume({ team: telecom, taskId: old.taskId }), recentAfter: await runtime.approval(fresh.taskId) };
        },
        CLASSIFY,
        { now: () => clock.ms },
      );

      // Assess
      expect(sweep.timedOut).toContain(late.taskId);
      expect(sweep.timedOut).not.toContain(recent.taskId);
      // A run that stopped WAITING has no live execution locally: its heartbeat is refused, its approval stays PENDING.
      expect(sweep.heartbeatsFailed).toContain(recent.taskId);
      expect(recentAfter?.status).toBe('PENDING');
      expect(resumed).toMatchObject({ status: 'ESCALATED', error: { error: 'EscalationTimedOutError' }, approval: { status: 'TIMED_OUT' } });
    });
  });

  describe('Feature: an execution that waits in this process (approvalWaitMs)', () => {
    /** Starts a run that escalates and waits up to a minute; resolves with the run and its token once it waits. */
    async function waitingRun(runtime: LocalRuntime): Promise<{ taskId: string; taskToken: string; run: Promise<RunResult> }> {
      const taskId = `hitl-${randomUUID()}`;
      const run = runtime.run({ team: telecom, input: telecom.example, taskId });
      for (let attempt = 0; attempt < 300; attempt += 1) {
        const requested = runtime.eventBus.events.find((event) => event['detail-type'] === DETAIL_TYPES.approvalRequested && event.detail.taskId === taskId);
        if (requested) {
          // The event is put before the state starts waiting on the token.
          for (let check = 0; check < 100; check += 1) {
            const live = await runtime.taskTokens.send(new SendTaskHeartbeatCommand({ taskToken: String(requested.detail.taskToken) })).then(
              () => true,
              () => false,
            );
            if (live) return { taskId, taskToken: String(requested.detail.taskToken), run };
            await sleep(20);
          }
        }
        await sleep(20);
      }
      throw new Error(`run ${taskId} never waited`);
    }

    const waitingOptions = { approvalWaitMs: 60_000 };

    it('the keeper (sweepApprovals) sends its heartbeat to the live token, and the run goes on waiting for its answer', async () => {
      // Act
      const { taskId, sweep, result } = await withRuntime(
        async (runtime) => {
          const waiting = await waitingRun(runtime);
          const swept = await runtime.sweepApprovals();
          await runtime.taskTokens.send(new SendTaskSuccessCommand({ taskToken: waiting.taskToken, output: JSON.stringify({ decision: 'APPROVED', output: { answer: 'by hand' }, decidedBy: 'ops' }) }));
          return { taskId: waiting.taskId, sweep: swept, result: await waiting.run };
        },
        { stateName: 'Classify', times: 9 },
        waitingOptions,
      );

      // Assess
      expect(sweep.heartbeatsSent).toContain(taskId);
      expect(sweep.heartbeatsFailed).not.toContain(taskId);
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toMatchObject({ approvedBy: 'ops', output: { answer: 'by hand' } });
    });

    it(`States.HeartbeatTimeout (no keeper) ends the run FAILED with ${APPROVAL_HEARTBEAT_TIMEOUT_ERROR}, naming the keeper; the approval stays PENDING`, async () => {
      // Act
      const result = await withRuntime(
        async (runtime) => {
          const waiting = await waitingRun(runtime);
          await runtime.taskTokens.send(new SendTaskFailureCommand({ taskToken: waiting.taskToken, error: 'States.HeartbeatTimeout', cause: '' }));
          return waiting.run;
        },
        { stateName: 'Classify', times: 9 },
        waitingOptions,
      );

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error?.error).toBe(APPROVAL_HEARTBEAT_TIMEOUT_ERROR);
      expect(result.error?.cause).toMatch(/^no heartbeat: the approval keeper is not running/);
      expect(result.approval?.status).toBe('PENDING');
    });

    it("States.Timeout (the execution's own day) ends the run as the deadline does: ESCALATED with EscalationTimedOutError", async () => {
      // Act
      const result = await withRuntime(
        async (runtime) => {
          const waiting = await waitingRun(runtime);
          await runtime.taskTokens.send(new SendTaskFailureCommand({ taskToken: waiting.taskToken, error: 'States.Timeout', cause: '' }));
          return waiting.run;
        },
        { stateName: 'Classify', times: 9 },
        waitingOptions,
      );

      // Assess
      expect(result.status).toBe('ESCALATED');
      expect(result.error).toEqual({ error: 'EscalationTimedOutError', cause: "this execution waited a day (Escalate's TimeoutSeconds) for a human decision" });
    });
  });
});
