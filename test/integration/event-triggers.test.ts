/**
 * Runs started by events, end to end offline: RunRequested events put on the local event bus are
 * matched by the rules of functions/core/events.ts, start the real state machine on the local
 * runtime against DynamoDB Local (started once in test/global-setup.ts), and the real
 * publish-outcome handler puts the outcome event back on the bus.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { METRICS } from '../../functions/core/contract.ts';
import { ModelInvocationError } from '../../functions/core/errors.ts';
import { DETAIL_TYPES, OUTCOME_DETAIL_TYPES, type PutEventsEntry, RunOutcomeDetailSchema } from '../../functions/core/events.ts';
import type { ModelProvider } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { type BusEvent, LocalEventBus } from '../../local/local-event-bus.ts';
import { LocalEventTriggers, runRequestedRuleName } from '../../local/local-event-triggers.ts';
import { LocalRuntime } from '../../local/local-runtime.ts';

const REQUEST = { request: 'I was charged twice on my bill', conversation: [] };

function runRequested(detail: Record<string, unknown>): PutEventsEntry {
  return { Source: 'legion', DetailType: DETAIL_TYPES.runRequested, Detail: JSON.stringify(detail) };
}

function outcomes(bus: LocalEventBus): BusEvent[] {
  return bus.events.filter((event) => (OUTCOME_DETAIL_TYPES as readonly string[]).includes(event['detail-type']));
}

describe('Feature: runs started by events (local event bus, local runtime, DynamoDB Local)', () => {
  let runtime: LocalRuntime;
  let telecom: TeamDefinition;

  beforeAll(async () => {
    runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    telecom = await loadTeamFile('teams/telecom-support.yaml');
  });
  afterAll(() => runtime.stop());

  async function setUp(teams?: TeamDefinition[]): Promise<{ bus: LocalEventBus; triggers: LocalEventTriggers }> {
    const bus = new LocalEventBus();
    const triggers = await LocalEventTriggers.install({ runtime, bus, teams: teams ?? [telecom] });
    return { bus, triggers };
  }

  it('starts a run for a RunRequested event and publishes RunSucceeded with the task id', async () => {
    // Arrange
    const { bus, triggers } = await setUp();
    const key = `evt-${randomUUID()}`;

    // Act
    const result = await bus.putEvents([runRequested({ pattern: 'supervisor-worker', input: REQUEST, idempotencyKey: key })]);

    // Assess
    expect(result.failedEntryCount).toBe(0);
    expect(result.entries[0]?.matchedRules).toEqual([runRequestedRuleName('supervisor-worker')]);
    expect(result.entries[0]?.deliveries.map((delivery) => delivery.status)).toEqual(['DELIVERED']);
    expect(triggers.runs).toHaveLength(1);
    expect(triggers.runs[0]).toMatchObject({ taskId: key, team: 'telecom-support', status: 'STARTED', result: { status: 'SUCCEEDED', taskId: key } });
    const [outcome] = outcomes(bus);
    expect(outcome?.['detail-type']).toBe(DETAIL_TYPES.runSucceeded);
    expect(outcome?.source).toBe('legion');
    const detail = RunOutcomeDetailSchema.parse(outcome?.detail);
    expect(detail).toMatchObject({ taskId: key, pattern: 'supervisor-worker', team: 'telecom-support', status: 'SUCCEEDED' });
    expect(detail.summary).toMatch(/Billing/);
    expect(detail.summary.length).toBeLessThanOrEqual(280);
    expect(triggers.runs[0]?.outcome?.detailType).toBe(DETAIL_TYPES.runSucceeded);
    // The outcome carries the run's totals, the same the run reported; the status the run recorded stands.
    expect(detail.totals).toEqual(triggers.runs[0]?.result?.totals);
    expect(detail.totals?.agentSteps).toBeGreaterThan(0);
    expect((await runtime.statuses.forTeam('telecom-support').get(key))?.status).toBe('SUCCEEDED');
  });

  it('starts one run for the same idempotency key twice, and reports the duplicate', async () => {
    // Arrange
    const { bus, triggers } = await setUp();
    const key = `dup-${randomUUID()}`;
    const entry = runRequested({ pattern: 'supervisor-worker', input: REQUEST, idempotencyKey: key });
    const duplicatesBefore = runtime.telemetry.metricValues(METRICS.duplicateRunRequests).length;

    // Act
    await bus.putEvents([entry]);
    const checkpointsAfterFirst = (await runtime.checkpoints(key)).length;
    const second = await bus.putEvents([entry]);

    // Assess
    expect(triggers.runs.map((run) => run.status)).toEqual(['STARTED', 'DUPLICATE']);
    expect(triggers.runs[0]?.result?.modelCalls).toBeGreaterThan(0);
    expect(triggers.runs[1]?.result).toBeUndefined();
    expect(second.entries[0]?.deliveries[0]?.result).toMatchObject({ status: 'DUPLICATE', taskId: key });
    expect((await runtime.checkpoints(key)).length).toBe(checkpointsAfterFirst);
    expect(outcomes(bus).map((event) => event['detail-type'])).toEqual([DETAIL_TYPES.runSucceeded]);
    expect(runtime.telemetry.metricValues(METRICS.duplicateRunRequests).length).toBe(duplicatesBefore + 1);
  });

  it('starts one run when the same key arrives twice in one PutEvents call', async () => {
    const { bus, triggers } = await setUp();
    const key = `batch-${randomUUID()}`;
    const entry = runRequested({ pattern: 'supervisor-worker', input: REQUEST, idempotencyKey: key });

    await bus.putEvents([entry, entry]);

    expect(triggers.runs.map((run) => run.status)).toEqual(['STARTED', 'DUPLICATE']);
    expect(outcomes(bus)).toHaveLength(1);
  });

  it('derives the task id from the event id when no idempotency key is given', async () => {
    const { bus, triggers } = await setUp();

    const result = await bus.putEvents([runRequested({ pattern: 'supervisor-worker', input: REQUEST })]);

    expect(triggers.runs[0]?.taskId).toBe(`run-${result.entries[0]?.eventId ?? ''}`);
    expect(triggers.runs[0]?.result?.status).toBe('SUCCEEDED');
  });

  it('publishes RunFailed for a run that fails', async () => {
    // Arrange: a fake model (not the scripted one) whose every call fails.
    const unavailable: ModelProvider = { converse: () => Promise.reject(new ModelInvocationError('fake', 'throttled')) };
    const failing = await LocalRuntime.connect(inject('dynamoEndpoint'), { model: unavailable });
    const bus = new LocalEventBus();
    const triggers = await LocalEventTriggers.install({ runtime: failing, bus, teams: [telecom] });
    const key = `fail-${randomUUID()}`;
    try {
      // Act
      await bus.putEvents([runRequested({ pattern: 'supervisor-worker', input: REQUEST, idempotencyKey: key })]);

      // Assess
      expect(triggers.runs[0]?.result?.status).toBe('FAILED');
      const [outcome] = outcomes(bus);
      expect(outcome?.['detail-type']).toBe(DETAIL_TYPES.runFailed);
      expect(RunOutcomeDetailSchema.parse(outcome?.detail)).toMatchObject({
        taskId: key,
        status: 'FAILED',
        error: { error: 'ModelInvocationError' },
        summary: expect.stringMatching(/^ModelInvocationError: .*throttled/) as unknown,
      });
    } finally {
      await failing.stop();
    }
  });

  it('publishes ApprovalRequested, and no outcome yet, for a run that escalates and waits for a human', async () => {
    const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Classify', times: 9 }] });
    const escalating = await LocalRuntime.connect(inject('dynamoEndpoint'), { model });
    // The runtime's own bus: request-approval puts its event there, as on the Legion bus in AWS.
    const bus = escalating.eventBus;
    const triggers = await LocalEventTriggers.install({ runtime: escalating, bus, teams: [telecom] });
    try {
      await bus.putEvents([runRequested({ pattern: 'supervisor-worker', input: REQUEST, idempotencyKey: `esc-${randomUUID()}` })]);

      expect(triggers.runs[0]?.result?.status).toBe('WAITING');
      expect(outcomes(bus)).toEqual([]);
      const requested = bus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.approvalRequested);
      expect(requested).toHaveLength(1);
      expect(requested[0]?.detail).toMatchObject({ taskId: triggers.runs[0]?.taskId, escalation: { error: 'RollbackLimitExceededError' } });
    } finally {
      await escalating.stop();
    }
  });

  it('reports a RunRequested event for an unknown pattern as undeliverable: no rule matches it', async () => {
    const { bus, triggers } = await setUp();

    const result = await bus.putEvents([runRequested({ pattern: 'auction', input: { task: 'x' }, idempotencyKey: `u-${randomUUID()}` })]);

    expect(result.failedEntryCount).toBe(0);
    expect(result.entries[0]?.matchedRules).toEqual([]);
    expect(bus.undeliverable).toHaveLength(1);
    expect(triggers.runs).toEqual([]);
    expect(outcomes(bus)).toEqual([]);
  });

  it('records a failed delivery, and starts nothing, for a request whose input the pattern refuses', async () => {
    const { bus, triggers } = await setUp();
    const key = `bad-${randomUUID()}`;

    const result = await bus.putEvents([runRequested({ pattern: 'supervisor-worker', input: { text: 'no request field' }, idempotencyKey: key })]);

    expect(result.entries[0]?.deliveries[0]).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/^InvalidEventError: .*request/) as unknown });
    expect(await runtime.describeTask(key)).toBeUndefined();
    expect(triggers.runs[0]?.result).toBeUndefined();
    expect(outcomes(bus)).toEqual([]);
  });

  it('runs the team the event names, and refuses a team that is not deployed for the pattern', async () => {
    const market = await loadTeamFile('teams/market-research.yaml');
    const { bus, triggers } = await setUp([telecom, market]);

    const named = await bus.putEvents([runRequested({ pattern: 'supervisor-worker', team: 'market-research', input: { request: 'size of the EV charger market' }, idempotencyKey: `m-${randomUUID()}` })]);
    const unknown = await bus.putEvents([runRequested({ pattern: 'supervisor-worker', team: 'no-such-team', input: REQUEST })]);

    expect(named.entries[0]?.deliveries[0]?.status).toBe('DELIVERED');
    expect(triggers.runs[0]).toMatchObject({ team: 'market-research', result: { team: 'market-research' } });
    expect(unknown.entries[0]?.deliveries[0]).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/no-such-team.*telecom-support, market-research/) as unknown });
  });
});
