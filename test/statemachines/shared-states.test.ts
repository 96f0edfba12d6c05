/**
 * The states every pattern shares (starting or resuming a task, automatic rollback, escalation)
 * must be the same in every ASL file: the files cannot import each other, so this test is what
 * keeps them from drifting apart. Only the parts that name the pattern may differ.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

describe('Feature: states shared by every pattern', () => {
  const reference = statesOf(REFERENCE);

  it.each(SHARED_STATES)('the reference defines %s', (name) => {
    expect(reference[name]).toBeDefined();
  });

  it('compares at least one other pattern', () => {
    expect(files.length).toBeGreaterThan(0);
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
