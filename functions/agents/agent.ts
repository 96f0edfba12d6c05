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
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type AgentEvent, AgentEventSchema, type AgentResult, type AgentStep } from '../shared/agent-contract.ts';
import type { CheckpointManager } from '../shared/checkpoint-manager.ts';
import type { AgentConfig } from '../shared/config.ts';
import { METRICS } from '../shared/contract.ts';
import { InvalidEventError } from '../shared/errors.ts';
import { checkpoint } from '../shared/middlewares/checkpoint.ts';
import { validateEvent } from '../shared/middlewares/validate-event.ts';
import { verifyOutput } from '../shared/middlewares/verify-output.ts';
import type { ModelProvider } from '../shared/models/model-provider.ts';
import { checkAgentResult } from './output-invariants.ts';
import { classify } from './steps/classify.ts';
import { synthesize } from './steps/synthesize.ts';
import { work } from './steps/work.ts';

export interface AgentDependencies {
  model: ModelProvider;
  checkpoints: CheckpointManager;
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

export type AgentHandler = (event: unknown, context: Context) => Promise<AgentResult>;

const STEPS_BY_ROLE: Record<AgentConfig['agent']['role'], readonly AgentStep[]> = {
  supervisor: ['classify', 'synthesize'],
  worker: ['work'],
};

/** Runs one step of one agent: no middlewares, no checkpoint. Tests may call it directly. */
export async function runAgentStep(event: AgentEvent, config: AgentConfig, deps: AgentDependencies): Promise<AgentResult> {
  if (!STEPS_BY_ROLE[config.agent.role].includes(event.step)) {
    throw new InvalidEventError(config.agent.id, [`a ${config.agent.role} cannot run step "${event.step}"`]);
  }
  const context = { config, model: deps.model, logger: deps.logger };
  const result = await dispatch(event, context);
  const usage = result.usage;
  if (usage) deps.metrics.addMetric(METRICS.tokensUsed, MetricUnit.Count, usage.inputTokens + usage.outputTokens);
  deps.metrics.addMetric(METRICS.agentSteps, MetricUnit.Count, 1);
  return result;
}

function dispatch(event: AgentEvent, context: Parameters<typeof classify>[1]): Promise<AgentResult> {
  switch (event.step) {
    case 'classify':
      return classify(event, context);
    case 'work':
      return work(event, context);
    case 'synthesize':
      return synthesize(event, context);
  }
}

/**
 * The agent handler with logging, metrics, tracing, event validation, checkpointing and output
 * verification. verifyOutput comes after checkpoint so that its `after` runs first: an
 * inconsistent result is refused before it can be checkpointed.
 */
export function createAgentHandler(config: AgentConfig, deps: AgentDependencies): AgentHandler {
  deps.metrics.addDimension('team', config.team);
  deps.metrics.addDimension('agent', config.agent.id);
  deps.logger.appendKeys({ team: config.team, agent: config.agent.id });
  const handler = middy<AgentEvent, AgentResult>((event: AgentEvent) => runAgentStep(event, config, deps))
    .use(captureLambdaHandler(deps.tracer))
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    .use({ onError: () => void deps.metrics.addMetric(METRICS.agentStepErrors, MetricUnit.Count, 1) })
    .use(validateEvent({ schema: AgentEventSchema, handlerName: config.agent.id }))
    .use(
      checkpoint({
        store: deps.checkpoints,
        agentId: config.agent.id,
        metrics: deps.metrics,
        ...(config.progressCheckpointSeconds ? { progressIntervalMs: config.progressCheckpointSeconds * 1000 } : {}),
      }),
    )
    .use(verifyOutput<AgentEvent, AgentResult>({ agentId: config.agent.id, check: (event, result) => checkAgentResult(event, result, config) }));
  return handler as unknown as AgentHandler;
}
