/**
 * functions/core/events.ts: the rule patterns (checked with the local matcher, which follows the
 * EventBridge documentation), the detail schemas, and how a finished run becomes an outcome event.
 */
import { describe, expect, it } from 'vitest';
import {
  DETAIL_TYPES,
  type FinishedRun,
  RunOutcomeDetailSchema,
  RunRequestedDetailSchema,
  executionStatusChangePattern,
  outcomeEntry,
  outcomeOf,
  runRequestedPattern,
} from '../../functions/core/events.ts';
import { matchesEventPattern, validateEventPattern } from '../../local/event-pattern.ts';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:legion-telecom';

function statusChange(status: string, stateMachineArn = ARN): unknown {
  return { source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { status, stateMachineArn, name: 't-1' } };
}

describe('Module: events', () => {
  describe('Function: runRequestedPattern', () => {
    it('is the documented pattern, and one EventBridge accepts', () => {
      expect(runRequestedPattern('pipeline')).toEqual({ source: ['legion'], 'detail-type': ['RunRequested'], detail: { pattern: ['pipeline'] } });
      expect(() => validateEventPattern(runRequestedPattern('pipeline'))).not.toThrow();
    });
  });

  describe('Function: executionStatusChangePattern', () => {
    const pattern = validateEventPattern(executionStatusChangePattern([ARN]));

    it.each(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'])('matches a %s execution of a Legion machine', (status) => {
      expect(matchesEventPattern(pattern, statusChange(status))).toBe(true);
    });

    it.each([
      ['a RUNNING execution', statusChange('RUNNING')],
      ['another state machine', statusChange('SUCCEEDED', `${ARN}-other`)],
      ['another source', { ...(statusChange('SUCCEEDED') as object), source: 'legion' }],
    ])('does not match %s', (_name, event) => {
      expect(matchesEventPattern(pattern, event)).toBe(false);
    });
  });

  describe('Schema: RunRequestedDetailSchema', () => {
    it('accepts a request with and without the optional fields', () => {
      expect(RunRequestedDetailSchema.safeParse({ pattern: 'pipeline', input: { brief: 'b' } }).success).toBe(true);
      expect(RunRequestedDetailSchema.safeParse({ pattern: 'pipeline', team: 'x', input: {}, idempotencyKey: 'order_42-a' }).success).toBe(true);
    });

    it.each([
      ['no input', { pattern: 'pipeline' }, 'input'],
      ['no pattern', { input: {} }, 'pattern'],
      ['a key with spaces', { pattern: 'pipeline', input: {}, idempotencyKey: 'a b' }, 'idempotencyKey'],
      ['a key over 80 characters', { pattern: 'pipeline', input: {}, idempotencyKey: 'k'.repeat(81) }, 'idempotencyKey'],
    ])('refuses %s', (_name, detail, field) => {
      const parsed = RunRequestedDetailSchema.safeParse(detail);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual([field]);
    });
  });

  describe('Function: outcomeOf', () => {
    const base = { taskId: 't-1', pattern: 'supervisor-worker', team: 'telecom-support' };

    it.each<[string, FinishedRun, string, Record<string, unknown>]>([
      ['a success, summarised by its answer', { ...base, status: 'SUCCEEDED', output: { answer: 'Refund  issued.\n' } }, DETAIL_TYPES.runSucceeded, { status: 'SUCCEEDED', summary: 'Refund issued.' }],
      ['a success without answer, as JSON', { ...base, status: 'SUCCEEDED', output: { n: 1 } }, DETAIL_TYPES.runSucceeded, { summary: '{"n":1}' }],
      ['a failure', { ...base, status: 'FAILED', error: { error: 'StageFailed', cause: 'stage 2' } }, DETAIL_TYPES.runFailed, { status: 'FAILED', summary: 'StageFailed: stage 2', error: { error: 'StageFailed', cause: 'stage 2' } }],
      ['an escalation', { ...base, status: 'FAILED', error: { error: 'RollbackLimitExceededError', cause: '3 rollbacks' } }, DETAIL_TYPES.runEscalated, { status: 'ESCALATED' }],
      ['a timeout', { ...base, status: 'TIMED_OUT' }, DETAIL_TYPES.runFailed, { status: 'TIMED_OUT', error: { error: 'States.Timeout', cause: 'the execution was timed out' } }],
      ['an abort', { ...base, status: 'ABORTED' }, DETAIL_TYPES.runFailed, { status: 'ABORTED', summary: 'States.Aborted: the execution was aborted' }],
    ])('reports %s', (_name, run, detailType, detail) => {
      const outcome = outcomeOf(run);
      expect(outcome.detailType).toBe(detailType);
      expect(outcome.detail).toMatchObject({ ...base, ...detail });
      expect(RunOutcomeDetailSchema.safeParse(outcome.detail).success).toBe(true);
    });

    it('keeps the summary short', () => {
      const { detail } = outcomeOf({ ...base, status: 'SUCCEEDED', output: { answer: 'word '.repeat(500) } });
      expect(detail.summary).toHaveLength(280);
      expect(detail.summary.endsWith('…')).toBe(true);
    });

    it('makes a PutEvents entry for the bus', () => {
      const entry = outcomeEntry({ ...base, status: 'SUCCEEDED', output: { answer: 'ok' } }, 'legion-Legion');
      expect(entry).toEqual({ Source: 'legion', DetailType: 'RunSucceeded', EventBusName: 'legion-Legion', Detail: JSON.stringify({ ...base, status: 'SUCCEEDED', summary: 'ok' }) });
    });
  });
});
