/**
 * The states every pattern shares (starting or resuming a task, automatic rollback, escalation)
 * must be the same in every ASL file: the files cannot import each other, so this test is what
 * keeps them from drifting apart. Only the parts that name the pattern may differ.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APPROVAL_HEARTBEAT_SECONDS, APPROVAL_HEARTBEAT_TIMEOUT_ERROR, APPROVAL_TIMEOUT_SECONDS, ESCALATION_ERRORS } from '../../functions/core/contract.ts';
import { EscalationTimedOutError } from '../../functions/core/errors.ts';

const DIR = fileURLToPath(new URL('../../statemachines/', import.meta.url));
const REFERENCE = 'supervisor-worker.asl.json';

type State = Record<string, unknown> & {
  Next?: string;
  Parameters?: { Payload?: Record<string, unknown> };
  ResultSelector?: { limits?: Record<string, unknown> };
};
const statesOf = (file: string): Record<string, State> => (JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as { States: Record<string, State> }).States;

/** The states every pattern shares, in every file. */
const SHARED_STATES = [
  'Begin',
  'CheckApproval',
  'RestoreEscalation',
  'RollBack',
  'Escalate',
  'HumanApproved',
  'HumanRejected',
  'ApprovalTimedOut',
  'ApprovalWaitTimedOut',
  'ApprovalHeartbeatLost',
  'EscalationFailed',
  'RollbackFailed',
  'BeginFailed',
];

/** A state without the fields each pattern sets for itself (its first state is CheckApproval's NONE target). */
function shared(state: State | undefined): unknown {
  if (!state) return undefined;
  const copy = structuredClone(state);
  delete copy.Next;
  for (const choice of (copy.Choices ?? []) as { Next?: string }[]) delete choice.Next;
  delete copy.Parameters?.Payload?.pattern;
  delete copy.ResultSelector?.limits;
  return copy;
}

const files = readdirSync(DIR).filter((file) => file.endsWith('.asl.json') && file !== REFERENCE);
const allFiles = [REFERENCE, ...files];

type Catcher = { ErrorEquals: string[]; Next: string; ResultPath?: string };
const catchersOf = (file: string): Catcher[] => (statesOf(file).Escalate?.Catch ?? []) as Catcher[];
/** The position of the first catcher that matches `error` (as Step Functions picks it), or -1. */
const catcherFor = (catchers: Catcher[], error: string): number => catchers.findIndex((catcher) => catcher.ErrorEquals.includes(error) || catcher.ErrorEquals.includes('States.ALL'));

describe('Feature: states shared by every pattern', () => {
  const reference = statesOf(REFERENCE);

  it.each(SHARED_STATES)('the reference defines %s', (name) => {
    expect(reference[name]).toBeDefined();
  });

  it('compares at least one other pattern', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  describe.each(allFiles)('Feature: %s waits for a human with a heartbeat and a task deadline', (file) => {
    it('Escalate has HeartbeatSeconds (APPROVAL_HEARTBEAT_SECONDS), well below its TimeoutSeconds (APPROVAL_TIMEOUT_SECONDS)', () => {
      const escalate = statesOf(file).Escalate;
      expect(escalate?.HeartbeatSeconds).toBe(APPROVAL_HEARTBEAT_SECONDS);
      expect(escalate?.TimeoutSeconds).toBe(APPROVAL_TIMEOUT_SECONDS);
      expect(APPROVAL_HEARTBEAT_SECONDS).toBeLessThan(APPROVAL_TIMEOUT_SECONDS);
    });

    it("gives the run a TimeoutSeconds that leaves room for its work and a whole day's wait for a human (Escalate's own timeout)", () => {
      const definition = JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as { TimeoutSeconds?: number };
      // Step Functions stops an execution at its TimeoutSeconds, whatever state it is in, Escalate's wait included.
      expect(definition.TimeoutSeconds).toBeGreaterThanOrEqual(APPROVAL_TIMEOUT_SECONDS + 900);
    });

    it.each([
      ['HumanRejectedError', 'HumanRejected'],
      ['States.HeartbeatTimeout', 'ApprovalHeartbeatLost'],
      ['EscalationTimedOutError', 'ApprovalTimedOut'],
      ['States.Timeout', 'ApprovalWaitTimedOut'],
      ['States.TaskFailed', 'EscalationFailed'],
    ])('catches %s (by name, ahead of States.ALL) into %s, keeping the state in $.rejection', (error, next) => {
      const catchers = catchersOf(file);
      const index = catcherFor(catchers, error);
      expect(catchers[index]?.Next).toBe(next);
      expect(catchers[index]?.ResultPath).toBe('$.rejection');
      if (error !== 'States.TaskFailed') expect(catchers[index]?.ErrorEquals).toEqual([error]);
    });

    it('catches States.HeartbeatTimeout before States.Timeout (which a heartbeat timeout matches too)', () => {
      const catchers = catchersOf(file);
      const heartbeat = catchers.findIndex((catcher) => catcher.ErrorEquals.includes('States.HeartbeatTimeout'));
      const timeout = catchers.findIndex((catcher) => catcher.ErrorEquals.includes('States.Timeout'));
      expect(heartbeat).toBeGreaterThanOrEqual(0);
      expect(heartbeat).toBeLessThan(timeout);
    });

    it('ends the deadline (EscalationTimedOutError) and its own timeout (States.Timeout) the same way: ApprovalTimedOut, an escalation error', () => {
      const states = statesOf(file);
      expect(states.ApprovalWaitTimedOut).toMatchObject({ Type: 'Pass', ResultPath: '$.rejection', Next: 'ApprovalTimedOut', Result: { Error: 'EscalationTimedOutError' } });
      // The cause stays the one given (the keeper's names the task and since when it waited).
      expect(states.ApprovalTimedOut).toMatchObject({ Type: 'Fail', Error: new EscalationTimedOutError('t', '', '').name, CausePath: '$.rejection.Cause' });
      expect(ESCALATION_ERRORS).toContain(states.ApprovalTimedOut?.Error);
    });

    it('ends a lost heartbeat in a Fail state with its own error, not an escalation (the run is FAILED), naming the keeper', () => {
      const lost = statesOf(file).ApprovalHeartbeatLost;
      expect(lost).toMatchObject({ Type: 'Fail', Error: APPROVAL_HEARTBEAT_TIMEOUT_ERROR });
      expect(lost?.Cause).toMatch(/^no heartbeat: the approval keeper is not running/);
      expect(ESCALATION_ERRORS).not.toContain(APPROVAL_HEARTBEAT_TIMEOUT_ERROR);
    });
  });

  describe.each(files)('%s', (file) => {
    it.each(SHARED_STATES)('has the same %s as supervisor-worker', (name) => {
      const states = statesOf(file);
      expect(shared(states[name])).toEqual(shared(reference[name]));
    });

    it('sends a task without an approval, and a rolled-back task, to the same first state', () => {
      const states = statesOf(file);
      const [none] = (states.CheckApproval?.Choices ?? []) as { Next?: string }[];
      expect(none?.Next).toBeDefined();
      expect(none?.Next).toBe(states.RollBack?.Next);
    });

    it('keeps maxRollbacks in the limits Begin reads, and names its own pattern', () => {
      const begin = statesOf(file).Begin;
      expect(begin?.ResultSelector?.limits?.['maxRollbacks.$']).toBe(reference.Begin?.ResultSelector?.limits?.['maxRollbacks.$']);
      expect(begin?.Parameters?.Payload?.pattern).toBe(file.replace('.asl.json', ''));
    });
  });
});
