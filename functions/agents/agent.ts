/**
 * The generic model-driven agent: one handler for every role of every team. What it does comes
 * from the event's `step` (which the state machine sets) and from the agent's configuration
 * (which the team definition sets). `runAgentStep` is the pure step; `createAgentHandler` wraps it
 * with the middlewares that every agent Lambda runs.
 *
 * @example
 * ```ts
 * const handler = createAgentHandler(config, dependencies);
 * await handler({ step: 'work', taskId: 't-1', stateName: 'Work', ... }, lambdaContext);
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { CheckpointManager } from '../shared/checkpoint-manager.ts';
import { type AgentConfig, leaseTimingsOf } from '../shared/config.ts';
import { DEFAULT_TASK_TOKEN_BUDGET, METRICS } from '../shared/contract.ts';
import type { Detection } from '../shared/contracts/detections.ts';
import type { DetectionLog } from '../shared/detection-log.ts';
import { BudgetExceededError, ConfigurationError, InvalidEventError, describeIssues } from '../shared/errors.ts';
import type { TokenBudgets } from '../shared/budget-store.ts';
import { BudgetedModel } from '../shared/models/budgeted-model.ts';
import { checkpoint } from '../shared/middlewares/checkpoint.ts';
import { leaseResources } from '../shared/middlewares/lease-resources.ts';
import { validateEvent } from '../shared/middlewares/validate-event.ts';
import { verifyOutput } from '../shared/middlewares/verify-output.ts';
import type { ModelProvider } from '../shared/models/model-provider.ts';
import type { DeadlockDetection, LeasingPool, PoolHolder } from '../shared/resource-pool.ts';
import { checkStepResult } from './output-invariants.ts';
import { stepNamed } from './steps/index.ts';
import type { AgentStepDefinition, StepEventBase, StepResultBase } from './steps/step-definition.ts';

export interface AgentDependencies {
  model: ModelProvider;
  /** Token budgets every model call spends from. @default none: calls are not budgeted */
  budgets?: Pick<TokenBudgets, 'reserve' | 'settle'> | undefined;
  checkpoints: CheckpointManager;
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
  /** Agents with `resources`: the team's pool they lease them from. @default none */
  resourcePool?: LeasingPool | undefined;
  /** Agents with `resources`: where the deadlocks they meet are recorded. @default none */
  detections?: Pick<DetectionLog, 'record'> | undefined;
}

export type AgentHandler = (event: unknown, context: Context) => Promise<StepResultBase>;

/** What every step event has; the step's own schema checks the rest once the step is known. */
export const StepEnvelopeSchema = z.looseObject({
  step: z.string().min(1),
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  stepId: z.string().min(1).max(200).optional(),
});
export type StepEnvelope = z.infer<typeof StepEnvelopeSchema>;

/** The definition of the step an event asks for, if this agent's role may run it. */
function definitionFor(event: StepEventBase, config: AgentConfig): AgentStepDefinition {
  const definition = stepNamed(event.step);
  if (!definition) throw new InvalidEventError(config.agent.id, [`unknown step "${event.step}"`]);
  if (!definition.roles.includes(config.agent.role)) {
    throw new InvalidEventError(config.agent.id, [`a ${config.agent.role} cannot run step "${event.step}"`]);
  }
  return definition;
}

/** Runs one step of one agent: no middlewares, no checkpoint. Tests may call it directly. */
export async function runAgentStep(event: StepEnvelope, config: AgentConfig, deps: AgentDependencies): Promise<StepResultBase> {
  const definition = definitionFor(event, config);
  const parsed = definition.eventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidEventError(config.agent.id, describeIssues(parsed.error.issues));
  const result = await definition.run(parsed.data, { config, model: budgetedModel(event.taskId, config, deps), logger: deps.logger });
  const usage = result.usage;
  if (usage) deps.metrics.addMetric(METRICS.tokensUsed, MetricUnit.Count, usage.inputTokens + usage.outputTokens);
  deps.metrics.addMetric(METRICS.agentSteps, MetricUnit.Count, 1);
  return result;
}

/** The agent's model, spending from the agent's and the task's token budgets; every request names the agent. */
function budgetedModel(taskId: string, config: AgentConfig, deps: AgentDependencies): ModelProvider {
  const agentId = config.agent.id;
  const model: ModelProvider = { converse: (request) => deps.model.converse({ ...request, agentId }) };
  if (!deps.budgets) return model;
  return new BudgetedModel(model, deps.budgets, {
    taskId,
    agentId: config.agent.id,
    agentBudget: config.agent.tokenBudget,
    taskBudget: config.taskTokenBudget ?? DEFAULT_TASK_TOKEN_BUDGET,
  });
}

/** Checks a result against its step's schema and invariants (see output-invariants.ts). */
export function checkAgentResult(event: StepEnvelope, result: StepResultBase, config: AgentConfig): string[] {
  const definition = definitionFor(event, config);
  const parsed = definition.eventSchema.safeParse(event);
  return parsed.success ? checkStepResult(definition, parsed.data, result, config) : describeIssues(parsed.error.issues);
}

/**
 * The agent handler with logging, metrics, tracing, event validation, checkpointing, output
 * verification and, for an agent with `resources`, leases on them. verifyOutput comes after
 * checkpoint so that its `after` runs first: an inconsistent result is refused before it can be
 * checkpointed. The leases come last: a step restored from its checkpoint returns early from
 * checkpoint's `before`, so it takes none, and a step that runs holds them around its work only.
 *
 * @throws {ConfigurationError} when the agent has resources but `deps` has no pool or detection log
 */
export function createAgentHandler(config: AgentConfig, deps: AgentDependencies): AgentHandler {
  deps.metrics.addDimension('team', config.team);
  deps.metrics.addDimension('agent', config.agent.id);
  deps.logger.appendKeys({ team: config.team, agent: config.agent.id });
  const handler = middy<StepEnvelope, StepResultBase>((event: StepEnvelope) => runAgentStep(event, config, deps))
    .use(captureLambdaHandler(deps.tracer))
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    .use({
      onError: (request) => {
        deps.metrics.addMetric(METRICS.agentStepErrors, MetricUnit.Count, 1);
        if (request.error instanceof BudgetExceededError) deps.metrics.addMetric(METRICS.budgetsExceeded, MetricUnit.Count, 1);
      },
    })
    .use(validateEvent({ schema: StepEnvelopeSchema, handlerName: config.agent.id }))
    .use(
      checkpoint({
        store: deps.checkpoints,
        agentId: config.agent.id,
        metrics: deps.metrics,
        ...(config.progressCheckpointSeconds ? { progressIntervalMs: config.progressCheckpointSeconds * 1000 } : {}),
      }),
    )
    .use(verifyOutput<StepEnvelope, StepResultBase>({ agentId: config.agent.id, check: (event, result) => checkAgentResult(event, result, config) }))
    .use(agentLeases(config, deps));
  return handler;
}

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
function agentLeases(config: AgentConfig, deps: AgentDependencies): MiddlewareObj<StepEnvelope, StepResultBase>[] {
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
 * Records a deadlock detection with the step's task (once: a replayed Lambda numbers its
 * detections the same way, so they collapse), counts it in DeadlocksDetected and logs a warning.
 * A failed write is logged and counted, not thrown: the deadlock is resolved either way, and
 * failing the step for its record would throw away the work the resolution saved.
 */
async function recordDeadlock(found: DeadlockDetection, step: LeasingStep | undefined, config: AgentConfig, deps: AgentDependencies): Promise<void> {
  if (!step || !deps.detections) return;
  step.detections += 1;
  const { taskId, stateName, stepId } = step.event;
  const id = `${config.agent.id}${stepId === undefined ? '' : `#${stepId}`}-${String(step.detections)}`;
  const detection = describeDeadlock(found, stateName, id.slice(0, 200));
  const isNew = await deps.detections.record(taskId, detection).catch((error: unknown) => {
    deps.logger.error('deadlock detected, but its record failed', { taskId, detection, error: error as Error });
    return true;
  });
  if (!isNew) return;
  deps.metrics.addMetric(METRICS.deadlocksDetected, MetricUnit.Count, 1);
  deps.logger.warn(`deadlock detected: ${detection.action}`, { taskId, detection });
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
