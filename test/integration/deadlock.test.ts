/**
 * Resource deadlocks, end to end on the local runtime (the real ASL, the real middy-wrapped agent
 * handlers with their leaseResources middleware, the real ResourcePool on DynamoDB Local):
 * `--inject deadlock` (a scripted shortcut, local/scenarios/deadlock.ts) gives two agents that run
 * at the same time opposite resource orders and holds between their leases, so they deadlock in
 * every step they share. The youngest releases and retries; the run finishes; the detection is
 * stored and counted. A holder that never releases makes the waiter give up (DeadlockTimeoutError),
 * which the state machine handles like any failing agent. Each test runs a team renamed for it, so
 * its resource pool (one per team) is its own; every run has a time bound and is asserted to have ended.
 */
import { DETAIL_TYPES } from '../../functions/core/events.ts';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../functions/core/contract.ts';
import type { DetectionRecord } from '../../functions/core/contracts/detections.ts';
import { type LeasingPool, ResourcePool } from '../../functions/guards/resource-pool.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { LocalRuntime, type RunRequest, type RunResult } from '../../local/local-runtime.ts';
import { DEADLOCK_RESOURCES, deadlockInjection } from '../../local/scenarios/deadlock.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

interface Answer {
  answer: string;
  handledBy: string[];
}

/** Every test's bound: a run that hangs fails here instead of stalling the suite. */
const TEST_TIMEOUT_MS = 30_000;
/** Statuses of a run that ended. */
const ENDED = ['SUCCEEDED', 'FAILED', 'ESCALATED', 'WAITING'];

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
const deadlocksCounted = (runtime: LocalRuntime): number => sum(runtime.telemetry.metricValues(METRICS.deadlocksDetected));
const agentSteps = (result: RunResult): string[] => result.trace.map((step) => `${step.agent}:${step.state}`).sort();

/** The team under a name of its own (its resource pool is then the test's alone), with `resources` set per agent. */
function renamed(team: TeamDefinition, resources: Record<string, string[]> = {}): TeamDefinition {
  const name = `${team.name.slice(0, 20)}-${randomUUID().slice(0, 8)}`;
  return { ...team, name, agents: team.agents.map((agent) => ({ ...agent, resources: resources[agent.id] ?? agent.resources })) };
}

describe('Feature: resource deadlocks (local runtime, DynamoDB Local)', () => {
  let telecom: TeamDefinition;
  let peerReview: TeamDefinition;

  beforeAll(async () => {
    telecom = await loadTeamFile('teams/telecom-support.yaml');
    peerReview = await loadTeamFile('teams/peer-review.yaml');
  });

  /** Runs `work` on a runtime of its own (its own telemetry). */
  function withRuntime<T>(work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
    return withTestRuntime({}, work);
  }

  const poolOf = (runtime: LocalRuntime, team: TeamDefinition): ResourcePool =>
    new ResourcePool({ client: runtime.db.documentClient(), tableName: LOCAL_TABLE_NAME, pool: team.name });

  const run = (runtime: LocalRuntime, request: Omit<RunRequest, 'taskId'>): Promise<RunResult> => runtime.run({ ...request, taskId: `deadlock-${randomUUID()}` });

  /** Every detection is a broken cycle between exactly A and B. */
  function expectCyclesBroken(detections: DetectionRecord[], agents: readonly string[], steps: readonly string[]): void {
    for (const detection of detections) {
      expect(detection).toMatchObject({ type: 'deadlock', action: 'released-youngest' });
      expect(steps).toContain(detection.step);
      expect([...detection.agents].sort()).toEqual([...agents].sort());
      expect(detection.details).toMatch(/^wait-for cycle .* -> .*: the youngest, .* released (database|verification-key) and retried/);
    }
  }

  describe('Scenario: --inject deadlock', () => {
    it(
      'supervisor-worker: two workers deadlock in the Delegate Map; the younger yields once, both answer, the run succeeds',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const injection = deadlockInjection(renamed(telecom));
        const { team, agents } = injection;
        const { result, counted, pool, announced } = await withRuntime(async (runtime) => {
          const outcome = await run(runtime, { team, input: injection.input ?? team.example, ...injection.run });
          const failureEvents = runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.failureDetected);
          return { result: outcome, counted: deadlocksCounted(runtime), pool: await poolOf(runtime, team).waitForGraph(), announced: failureEvents };
        });

        expect(ENDED).toContain(result.status);
        expect(result.error).toBeUndefined();
        expect(result.status).toBe('SUCCEEDED');
        expect(agents).toEqual(['billing', 'technical-support']);
        expect(injection.input).toBeUndefined();
        expect([...(result.output as Answer).handledBy].sort()).toEqual(agents);
        // Detected in the first step that could deadlock, once: the victim's retry met no second cycle.
        expect(result.detections).toHaveLength(1);
        expectCyclesBroken(result.detections, agents, ['Work']);
        expect(result.detections[0]?.stepId).toMatch(/^(billing|technical-support)-1$/);
        // Announced on the bus like the state machines' detections.
        expect(announced.map((event) => event.detail)).toEqual([
          expect.objectContaining({ taskId: result.taskId, type: 'deadlock', action: 'released-youngest', team: team.name, pattern: 'supervisor-worker' }),
        ]);
        // No step more than a run without the deadlock: the resolution retried leases, not work.
        expect(agentSteps(result)).toEqual(['billing:Work', 'supervisor:Classify', 'supervisor:Synthesize', 'technical-support:Work']);
        expect(counted).toBe(1);
        expect(pool).toEqual({ leases: [], waits: [] });
      },
    );

    it(
      'peer-to-peer: two peers deadlock in each Propose and Critique round; each cycle is broken once and the negotiation ends as usual',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const injection = deadlockInjection(renamed(peerReview));
        const { team, agents } = injection;
        const { result, counted, pool } = await withRuntime(async (runtime) => {
          const outcome = await run(runtime, { team, input: team.example, ...injection.run });
          return { result: outcome, counted: deadlocksCounted(runtime), pool: await poolOf(runtime, team).waitForGraph() };
        });

        expect(ENDED).toContain(result.status);
        expect(result.error).toBeUndefined();
        expect(result.status).toBe('SUCCEEDED');
        expect(agents).toEqual(['security-reviewer', 'performance-reviewer']);
        const { agreed, rounds } = result.output as { agreed: boolean; rounds: number };
        expect(agreed).toBe(true);
        // One cycle per step A and B run together (Propose and Critique of each round), each broken at its first detection.
        expect(result.detections).toHaveLength(2 * rounds);
        expectCyclesBroken(result.detections, agents, ['Propose', 'Critique']);
        const where = result.detections.map((detection) => `${detection.step}:${detection.stepId.replace(/^.*#(\d+)-1$/, '$1')}`).sort();
        expect(where).toEqual(Array.from({ length: rounds }, (_unused, index) => [`Critique:${String(index + 1)}`, `Propose:${String(index + 1)}`]).flat().sort());
        // Every peer proposed and critiqued in every round: nobody sat a round out.
        expect(result.trace.filter((step) => agents.includes(step.agent))).toHaveLength(2 * 2 * rounds);
        expect(counted).toBe(result.detections.length);
        expect(pool).toEqual({ leases: [], waits: [] });
      },
    );
  });

  describe('Scenario: a holder that never releases', () => {
    it(
      'supervisor-worker: the waiting worker gives up after leaseWaitTimeoutMs (timed-out), its part is reported as failed, the run succeeds without it',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const team = renamed(telecom, { billing: ['database'] });
        const stuck = { id: 'maintenance/db-migration/Run', taskId: 'maintenance', startedAt: Date.now() };
        const { result, counted, pool } = await withRuntime(async (runtime) => {
          const resources = poolOf(runtime, team);
          expect((await resources.tryAcquire('database', stuck)).acquired).toBe(true);
          try {
            const outcome = await run(runtime, { team, input: team.example, leaseWaitTimeoutMs: 500 });
            return { result: outcome, counted: deadlocksCounted(runtime), pool: await resources.waitForGraph() };
          } finally {
            await resources.release('database', stuck.id);
          }
        });

        expect(ENDED).toContain(result.status);
        expect(result.error).toBeUndefined();
        // Work's Catch (States.ALL) turns the failed worker into a FAILED result, as for any failing worker.
        expect(result.status).toBe('SUCCEEDED');
        const output = result.output as Answer;
        expect(output.handledBy).toEqual(['technical-support']);
        expect(output.answer).toContain('Our billing team could not answer right now');
        expect(agentSteps(result)).toEqual(['supervisor:Classify', 'supervisor:Synthesize', 'technical-support:Work']);
        expect(result.detections).toHaveLength(1);
        expect(result.detections[0]).toMatchObject({ type: 'deadlock', step: 'Work', stepId: 'billing-1', action: 'timed-out', agents: ['billing', 'db-migration'] });
        expect(result.detections[0]?.details).toMatch(/waited \d+ ms for database \(held by maintenance\/db-migration\/Run\), gave up and released nothing/);
        expect(counted).toBe(1);
        // Only the stuck holder's lease is left: billing released everything and left no wait edge.
        expect(pool.waits).toEqual([]);
        expect(pool.leases.map((lease) => [lease.resource, lease.holderId])).toEqual([['database', stuck.id]]);
      },
    );

    it(
      'peer-to-peer: the waiting peer sits each round out (timed-out in every step), the others still reach a quorum',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const team = renamed(peerReview, { 'security-reviewer': ['verification-key'] });
        const stuck = { id: 'maintenance/key-rotation/Run', taskId: 'maintenance', startedAt: Date.now() };
        const { result, counted } = await withRuntime(async (runtime) => {
          const resources = poolOf(runtime, team);
          await resources.tryAcquire('verification-key', stuck);
          try {
            return { result: await run(runtime, { team, input: team.example, leaseWaitTimeoutMs: 300 }), counted: deadlocksCounted(runtime) };
          } finally {
            await resources.release('verification-key', stuck.id);
          }
        });

        expect(ENDED).toContain(result.status);
        expect(result.error).toBeUndefined();
        const { rounds } = result.output as { rounds: number };
        expect(result.status).toBe('SUCCEEDED');
        expect(result.trace.filter((step) => step.agent === 'security-reviewer')).toEqual([]);
        expect(result.detections).toHaveLength(2 * rounds);
        for (const detection of result.detections) {
          expect(detection).toMatchObject({ type: 'deadlock', action: 'timed-out', agents: ['security-reviewer', 'key-rotation'] });
        }
        expect(counted).toBe(2 * rounds);
      },
    );
  });

  describe('Scenario: resources without a conflict', () => {
    it(
      'two workers that lease the same resources in the same order take turns: no detection, no lease left, and a resumed run takes no lease',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const resources = [...DEADLOCK_RESOURCES];
        const team = renamed(telecom, { billing: resources, 'technical-support': resources });
        const acquired: string[] = [];
        const counting = (pool: LeasingPool): LeasingPool =>
          Object.assign(Object.create(pool) as LeasingPool, {
            tryAcquire: (resource: string, holder: Parameters<LeasingPool['tryAcquire']>[1]) => {
              acquired.push(holder.id);
              return pool.tryAcquire(resource, holder);
            },
          });
        const { result, resumed, counted, pool, acquiredByRun } = await withRuntime(async (runtime) => {
          const first = await run(runtime, { team, input: team.example, wrapResourcePool: counting });
          const byRun = acquired.splice(0);
          const again = await runtime.resume({ team, taskId: first.taskId, wrapResourcePool: counting });
          return { result: first, resumed: again, counted: deadlocksCounted(runtime), pool: await poolOf(runtime, team).waitForGraph(), acquiredByRun: byRun };
        });

        expect(ENDED).toContain(result.status);
        expect(result.error).toBeUndefined();
        expect(result.status).toBe('SUCCEEDED');
        expect([...(result.output as Answer).handledBy].sort()).toEqual(['billing', 'technical-support']);
        expect(result.detections).toEqual([]);
        expect(counted).toBe(0);
        expect(pool).toEqual({ leases: [], waits: [] });
        // Both workers leased both resources (at least once each; one may have waited its turn).
        expect(new Set(acquiredByRun.map((holder) => holder.split('/')[1]))).toEqual(new Set(['billing', 'technical-support']));
        expect(acquiredByRun.every((holder) => holder === `${result.taskId}/billing/Work` || holder === `${result.taskId}/technical-support/Work`)).toBe(true);
        // The resumed execution replays every step from its checkpoint: no model call, no lease.
        expect(resumed.status).toBe('SUCCEEDED');
        expect(resumed.modelCalls).toBe(0);
        expect(acquired).toEqual([]);
      },
    );
  });
});
