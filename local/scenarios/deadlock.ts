/**
 * `legion run supervisor-worker|peer-to-peer --inject deadlock`: a resource deadlock, set up on
 * purpose. A SCRIPTED SHORTCUT (offline only): it stands for two agents that take the same locks in
 * opposite orders, not for anything a model does by itself.
 *
 * Two agents that run at the same time (supervisor-worker: two workers of one request, in the
 * Delegate Map; peer-to-peer: two peers, in every Propose and Critique round) get opposite resource
 * orders: A leases `database` then `verification-key`, B `verification-key` then `database`. Each
 * step of theirs then takes its first lease, holds it a moment (holdBetweenLeases, so that both
 * have their first before either asks for its second, whatever the scheduling) and waits for the
 * other's: a cycle in the wait-for graph. Its youngest holder releases its lease and retries, the
 * other goes on; the run ends normally, and `detections` lists a `released-youngest` deadlock per
 * step in which the cycle formed.
 *
 * With telecom-support.yaml, A is `billing` and B `technical-support` (the example request reaches
 * both); with peer-review.yaml, A is `security-reviewer` and B `performance-reviewer`.
 *
 * @example
 * ```ts
 * const { team, input, run } = deadlockInjection(await loadTeamFile('teams/telecom-support.yaml'));
 * const result = await runtime.run({ team, input: input ?? team.example, taskId, ...run });
 * result.detections; // [{ type: 'deadlock', step: 'Work', action: 'released-youngest', agents: ['billing', 'technical-support'], ... }]
 * ```
 */
import { UsageError } from '../../functions/core/errors.ts';
import { matchIntents } from '../../functions/models/scripted-model.ts';
import type { LeasingPool } from '../../functions/guards/resource-pool.ts';
import { type AgentDefinition, type TeamDefinition, agentsWithRole } from '../../functions/core/team-schema.ts';
import type { LeasingRunOptions } from '../local-runtime.ts';

/** What A leases, in order; B leases the same the other way round. */
export const DEADLOCK_RESOURCES = ['database', 'verification-key'] as const;

/** How long a step holds its first lease before it asks for its second: far above the skew between two concurrent steps here. */
export const DEADLOCK_HOLD_MS = 300;

export interface DeadlockScenario {
  /** The team, A and B with opposite `resources` (and, supervisor-worker, at least two workers at a time). */
  team: TeamDefinition;
  /** [A, B]. */
  agents: [string, string];
  /** An input that reaches both A and B, when the team's example does not (supervisor-worker only). */
  input?: Record<string, unknown>;
}

export interface DeadlockInjection extends DeadlockScenario {
  /** Options of `LocalRuntime.run` / `resume`: the pool wrapper that holds between leases. */
  run: Required<Pick<LeasingRunOptions, 'wrapResourcePool'>>;
}

/**
 * The team changed for the deadlock: two agents that run concurrently get opposite resource
 * orders. supervisor-worker: the first two workers the example request reaches (or, if it reaches
 * fewer, the first two workers, with an input naming a capability of each); peer-to-peer: the
 * first two peers.
 *
 * @throws {UsageError} for another pattern, or a team with fewer than two workers or peers
 * @example
 * ```ts
 * const { team, agents } = deadlockScenario(telecomSupport); // agents: ['billing', 'technical-support']
 * ```
 */
export function deadlockScenario(team: TeamDefinition): DeadlockScenario {
  if (team.pattern === 'supervisor-worker') return workersScenario(team);
  if (team.pattern === 'peer-to-peer') {
    const [a, b] = agentsWithRole(team, 'peer');
    if (!a || !b) throw new UsageError(`--inject deadlock needs two peers (team ${team.name} has fewer)`);
    return { team: withOpposingResources(team, a.id, b.id), agents: [a.id, b.id] };
  }
  throw new UsageError(`--inject deadlock: reproduced offline in supervisor-worker and peer-to-peer, not in ${team.pattern}`);
}

/**
 * The pool, but a holder that has just taken its first lease holds it `holdMs` before it goes on
 * (once per holder: a holder that retries after yielding does not wait again). Two steps taking
 * the same resources in opposite orders then always deadlock.
 *
 * @example
 * ```ts
 * runtime.run({ team, input, taskId, wrapResourcePool: (pool) => holdBetweenLeases(pool) });
 * ```
 */
export function holdBetweenLeases(pool: LeasingPool, holdMs = DEADLOCK_HOLD_MS): LeasingPool {
  const held = new Set<string>();
  return {
    now: () => pool.now(),
    tryAcquire: async (resource, holder) => {
      const attempt = await pool.tryAcquire(resource, holder);
      if (attempt.acquired && !held.has(holder.id)) {
        held.add(holder.id);
        await sleep(holdMs);
      }
      return attempt;
    },
    release: (resource, holderId) => pool.release(resource, holderId),
    releaseAll: (holderId, resources) => pool.releaseAll(holderId, resources),
    recordWait: (waiter, resource, heldBy) => pool.recordWait(waiter, resource, heldBy),
    clearWait: (waiterId) => pool.clearWait(waiterId),
    waitForGraph: () => pool.waitForGraph(),
  };
}

/**
 * What `--inject deadlock` applies: the scenario's team (and input), and the run options that
 * make the deadlock form every time.
 *
 * @throws {UsageError} as deadlockScenario
 * @example
 * ```ts
 * const injection = deadlockInjection(team);
 * await runtime.run({ team: injection.team, input: injection.input ?? injection.team.example, taskId, ...injection.run });
 * ```
 */
export function deadlockInjection(team: TeamDefinition, holdMs = DEADLOCK_HOLD_MS): DeadlockInjection {
  return { ...deadlockScenario(team), run: { wrapResourcePool: (pool) => holdBetweenLeases(pool, holdMs) } };
}

function workersScenario(team: TeamDefinition): DeadlockScenario {
  const workers = agentsWithRole(team, 'worker');
  const request = typeof team.example?.request === 'string' ? team.example.request : '';
  const reached = matchIntents(request, workers).flatMap((id) => workers.filter((worker) => worker.id === id));
  const [a, b] = reached.length >= 2 ? reached : workers;
  if (!a || !b) throw new UsageError(`--inject deadlock needs two workers (team ${team.name} has fewer)`);
  // One worker at a time would take the resources one after the other: no deadlock to show.
  const limits = { ...team.limits, maxParallelWorkers: Math.max(2, team.limits.maxParallelWorkers) };
  const changed = { ...withOpposingResources(team, a.id, b.id), limits };
  return reached.length >= 2 ? { team: changed, agents: [a.id, b.id] } : { team: changed, agents: [a.id, b.id], input: { ...team.example, request: requestFor(a, b) } };
}

/** A request the scripted supervisor sends to both workers: it names a capability of each. */
function requestFor(a: AgentDefinition, b: AgentDefinition): string {
  return `I need help with ${a.capabilities[0] ?? a.id} and with ${b.capabilities[0] ?? b.id}.`;
}

function withOpposingResources(team: TeamDefinition, a: string, b: string): TeamDefinition {
  const resourcesOf = (id: string): string[] | undefined => (id === a ? [...DEADLOCK_RESOURCES] : id === b ? [...DEADLOCK_RESOURCES].reverse() : undefined);
  return { ...team, agents: team.agents.map((agent) => ({ ...agent, resources: resourcesOf(agent.id) ?? agent.resources })) };
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
