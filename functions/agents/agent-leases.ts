/**
 * Leases on an agent's shared `resources` around each of its steps, and the deadlocks met on the
 * way recorded with the step's task. `agentLeases` gives the middlewares the agent handler adds
 * last (none for an agent without resources); see functions/guards/resource-pool.ts for the pool,
 * and docs/failure-modes.md.
 *
 * @example
 * ```ts
 * middy(runStep).use(checkpoint(...)).use(verifyOutput(...)).use(agentLeases(config, deps));
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import { type AgentConfig, leaseTimingsOf } from '../core/config.ts';
import type { Detection } from '../core/contracts/detections.ts';
import { ConfigurationError } from '../core/errors.ts';
import { leaseResources } from '../guards/lease-resources.ts';
import { agentStepId, reportAgentDetection } from './agent-detections.ts';
import type { DeadlockDetection, PoolHolder } from '../guards/resource-pool.ts';
import type { AgentDependencies } from './agent-dependencies.ts';
import type { StepEnvelope, StepResultBase } from './steps/step-definition.ts';

/**
 * The holder of an agent step's leases: `<taskId>/<agentId>/<stateName>[#<stepId>]`, unique per
 * step (a state's stepId alone repeats across states: a peer's Propose and Critique of round 1).
 * A `/` in the state part is escaped, so the agent is always the second segment from the end.
 *
 * @example
 * ```ts
 * leaseHolderId({ taskId: 't-1', stateName: 'Propose', stepId: '2', step: 'propose' }, 'security-reviewer'); // 't-1/security-reviewer/Propose#2'
 * ```
 */
export function leaseHolderId(event: StepEnvelope, agentId: string): string {
  const step = event.stepId === undefined ? event.stateName : `${event.stateName}#${event.stepId}`;
  return `${event.taskId}/${agentId}/${step.replaceAll('/', '%2F')}`;
}

/**
 * The agent of a holder id made by leaseHolderId; any other id (a holder that is not an agent
 * step) as it is.
 *
 * @example
 * ```ts
 * agentOfHolder('t-1/security-reviewer/Propose#2'); // 'security-reviewer'
 * ```
 */
export function agentOfHolder(holderId: string): string {
  const parts = holderId.split('/');
  return parts.length >= 3 ? (parts[parts.length - 2] ?? holderId) : holderId;
}

/** A step of this agent that holds or waits for leases: what its detections are recorded with. */
interface LeasingStep {
  event: StepEnvelope;
  /** Detections reported so far: numbers the next one. */
  detections: number;
}

/**
 * The middlewares that lease the agent's resources for each step (none for an agent without
 * resources): the first keeps track of the steps leasing now, so that a detection, which names
 * only its holder, is recorded with its task and state; the second is leaseResources.
 */
export function agentLeases(config: AgentConfig, deps: AgentDependencies): MiddlewareObj<StepEnvelope, StepResultBase>[] {
  const { resources, id: agentId } = config.agent;
  if (resources.length === 0) return [];
  const { resourcePool: pool } = deps;
  if (!pool || !deps.detections) throw new ConfigurationError([`agent ${agentId} leases ${resources.join(', ')} but has no resource pool or detection log`]);
  const steps = new Map<string, LeasingStep>();
  // By request, not by event: onError also runs for an event that failed validation, and had no holder.
  const holderIds = new WeakMap<object, string>();
  const forget = (request: object): void => {
    const id = holderIds.get(request);
    if (id !== undefined) steps.delete(id);
  };
  const tracking: MiddlewareObj<StepEnvelope, StepResultBase> = {
    before: (request) => {
      const id = leaseHolderId(request.event, agentId);
      holderIds.set(request, id);
      steps.set(id, { event: request.event, detections: 0 });
    },
    after: forget,
    onError: forget,
  };
  const holderOf = (event: StepEnvelope): PoolHolder => ({ id: leaseHolderId(event, agentId), taskId: event.taskId, startedAt: Date.now() });
  const leasing = leaseResources<StepEnvelope, StepResultBase>({
    pool,
    resources,
    holderOf,
    waitTimeoutMs: leaseTimingsOf(config).waitTimeoutMs,
    onDetection: (detection) => recordDeadlock(detection, steps.get(detection.holderId), config, deps),
  });
  return [tracking, leasing];
}

/**
 * Reports a deadlock detection with the step's task (once: a replayed Lambda numbers its
 * detections the same way, so they collapse), counted in DeadlocksDetected (reportAgentDetection).
 */
async function recordDeadlock(found: DeadlockDetection, step: LeasingStep | undefined, config: AgentConfig, deps: AgentDependencies): Promise<void> {
  if (!step || !deps.detections) return;
  step.detections += 1;
  const { taskId, stateName, stepId } = step.event;
  const id = `${agentStepId(config.agent.id, stepId)}-${String(step.detections)}`;
  await reportAgentDetection(taskId, describeDeadlock(found, stateName, id.slice(0, 200)), config, deps, 'deadlock detected, but its report failed');
}

/**
 * A detection of the resource pool as Legion reports it: the agents involved (from the holder ids)
 * and, for a human, what happened.
 *
 * @example
 * ```ts
 * describeDeadlock({ type: 'deadlock', action: 'timed-out', holderId: 't-1/billing/Work', waitingFor: 'database', heldBy: 't-2/billing/Work', waitedMs: 15_000, resources: [] }, 'Work', 'billing-1');
 * // { type: 'deadlock', step: 'Work', stepId: 'billing-1', action: 'timed-out', agents: ['billing'], details: 't-1/billing/Work waited 15000 ms for database ...' }
 * ```
 */
export function describeDeadlock(found: DeadlockDetection, step: string, stepId: string): Detection {
  const agents = (holders: readonly (string | undefined)[]): string[] => [...new Set(holders.flatMap((holder) => (holder === undefined ? [] : [agentOfHolder(holder)])))];
  const released = (resources: readonly string[]): string => (resources.length > 0 ? resources.join(', ') : 'nothing');
  const base = { type: 'deadlock', step, stepId, action: found.action } as const;
  switch (found.action) {
    case 'released-youngest':
      return {
        ...base,
        agents: agents(found.cycle),
        details: cap(`wait-for cycle ${[...found.cycle, found.cycle[0] ?? ''].join(' -> ')}: the youngest, ${found.victim}, released ${released(found.resources)} and retried (it was waiting for ${found.waitingFor})`),
      };
    case 'force-released-expired':
      return { ...base, agents: agents([found.holderId, found.forcedFrom]), details: cap(`the lease of ${released(found.resources)} held by ${found.forcedFrom} had expired: ${found.holderId} took it over`) };
    case 'timed-out':
      return {
        ...base,
        agents: agents([found.holderId, found.heldBy]),
        details: cap(`${found.holderId} waited ${String(found.waitedMs)} ms for ${found.waitingFor} (held by ${found.heldBy ?? 'someone'}), gave up and released ${released(found.resources)}`),
      };
  }
}

const cap = (text: string): string => (text.length <= 2000 ? text : `${text.slice(0, 1997)}...`);
