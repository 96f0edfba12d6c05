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
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type AgentConfig, progressCheckpointSecondsOf } from '../core/config.ts';
import { DEFAULT_TASK_TOKEN_BUDGET, METRICS } from '../core/contract.ts';
import { BudgetExceededError, ConfigurationError, InvalidEventError, describeIssues } from '../core/errors.ts';
import { BudgetedModel } from '../models/budgeted-model.ts';
import { withModelIoLog } from '../models/model-io-log.ts';
import type { ModelCallMeter } from '../models/model-call-meter.ts';
import { checkpoint, stepKeyOf } from '../recovery/checkpoint.ts';
import { ToolLoop, type ToolCallReport, type ToolLoopOptions } from '../tools/tool-loop.ts';
import { ToolCaller } from '../tools/tool-caller.ts';
import type { StepContext } from './steps/step-context.ts';
import { classifyErrors } from '../middlewares/classify-errors.ts';
import { type TaskStatusMiddleware, taskStatus } from '../observability/task-status.ts';
import { validateEvent } from '../middlewares/validate-event.ts';
import { verifyOutput } from '../guards/verify-output.ts';
import type { ModelProvider } from '../models/model-provider.ts';
import { agentLeases } from './agent-leases.ts';
import { reportRepeatedToolCall } from './tool-loop-detection.ts';
import { traceToolCall } from '../observability/trace-tool-call.ts';
import { loadCustomSteps } from './custom-handler.ts';
import { checkStepResult } from './output-invariants.ts';
import { stepNamed } from './steps/index.ts';
import { type AgentStepDefinition, type StepEnvelope, StepEnvelopeSchema, type StepEventBase, type StepResultBase } from './steps/step-definition.ts';
import type { AgentDependencies } from './agent-dependencies.ts';

export type AgentHandler = (event: unknown, context: Context) => Promise<StepResultBase>;


/** The definition of the step an event asks for, if this agent's role may run it. */
function definitionFor(event: StepEventBase, config: AgentConfig): AgentStepDefinition {
  const definition = stepNamed(event.step);
  if (!definition) throw new InvalidEventError(config.agent.id, [`unknown step "${event.step}"`]);
  if (!definition.roles.includes(config.agent.role)) {
    throw new InvalidEventError(config.agent.id, [`a ${config.agent.role} cannot run step "${event.step}"`]);
  }
  return definition;
}

/**
 * The events already parsed by their step's schema, by event object: the handler runs a step and
 * then checks its result against the same event, and parsing it once is enough.
 */
const parsedEvents = new WeakMap<object, StepEventBase>();

/** The event parsed by its step's schema (once per event object), or the problems that schema finds. */
function parseStepEvent(event: StepEnvelope, definition: AgentStepDefinition): { data: StepEventBase } | { problems: string[] } {
  const known = parsedEvents.get(event);
  if (known) return { data: known };
  const parsed = definition.eventSchema.safeParse(event);
  if (!parsed.success) return { problems: describeIssues(parsed.error.issues) };
  parsedEvents.set(event, parsed.data);
  return { data: parsed.data };
}

/**
 * Runs one step of one agent: no middlewares, no checkpoint. Tests may call it directly. With a
 * `meter`, the step's model calls (those that reach the model) are counted on it.
 */
export async function runAgentStep(event: StepEnvelope, config: AgentConfig, deps: AgentDependencies, meter?: ModelCallMeter): Promise<StepResultBase> {
  const definition = definitionFor(event, config);
  const parsed = parseStepEvent(event, definition);
  if ('problems' in parsed) throw new InvalidEventError(config.agent.id, parsed.problems);
  const started = performance.now();
  const deadline = stepDeadline(config);
  const toolOptions = toolCallerOptions(event, config, deps, deadline);
  const budgeted = budgetedModel(event.taskId, config, deps, meter, deadline);
  const model = toolOptions ? new ToolLoop(budgeted, toolOptions) : budgeted;
  const custom = config.agent.handler ? (await loadCustomSteps(config.agent.handler, config.agent.role))[definition.step] : undefined;
  const context = { config, model, logger: deps.logger, ...(toolOptions ? { callTool: directToolCalls(toolOptions, config.agent.id) } : {}) };
  // The event is the step schema's parse of a JSON object: a record, whichever step it is.
  const result = custom ? await custom(parsed.data as StepEventBase & Record<string, unknown>, context) : await definition.run(parsed.data, context);
  const usage = result.usage;
  if (usage) deps.metrics.addMetric(METRICS.tokensUsed, MetricUnit.Count, usage.inputTokens + usage.outputTokens);
  deps.metrics.addMetric(METRICS.agentSteps, MetricUnit.Count, 1);
  // Steps that ran to their end, as AgentSteps counts them: a restored step never gets here.
  deps.metrics.addMetric(METRICS.agentStepDuration, MetricUnit.Milliseconds, Math.round(performance.now() - started));
  return result;
}

/**
 * The agent's model, spending from the agent's and the task's token budgets; every request names
 * the agent, its own model when its definition has one, and the step's deadline. The meter sits below the budget: a refused call never reaches the model, nor the count.
 */
function budgetedModel(taskId: string, config: AgentConfig, deps: AgentDependencies, meter: ModelCallMeter | undefined, deadline: number): ModelProvider {
  const agentId = config.agent.id;
  const modelId = config.agent.model;
  const provider = config.logModelIo ? withModelIoLog(deps.model, deps.logger) : deps.model;
  const named: ModelProvider = {
    converse: (request) => {
      if (request.reask) deps.metrics.addMetric(METRICS.modelReasks, MetricUnit.Count, 1);
      return provider.converse({ ...request, agentId, deadline, ...(modelId ? { modelId } : {}) });
    },
  };
  const model = meter ? meter.wrap(named) : named;
  if (!deps.budgets) return model;
  return new BudgetedModel(model, deps.budgets, {
    taskId,
    agentId,
    agentBudget: config.agent.tokenBudget,
    taskBudget: config.taskTokenBudget ?? DEFAULT_TASK_TOKEN_BUDGET,
  });
}

/** When a step must be done with its model and tool calls: a call that outlives the step is lost with it (the Lambda times out), so 5 % is kept to answer. */
function stepDeadline(config: AgentConfig): number {
  return Date.now() + config.agent.timeoutSeconds * 950;
}

/**
 * For an agent with tools, how its step calls them (through the tool loop, or itself). A fenced
 * step (one with an epoch: every state machine's) records its calls under its checkpoint's step
 * key, so running it again after a crash does not call its tools again.
 */
function toolCallerOptions(event: StepEnvelope, config: AgentConfig, deps: AgentDependencies, deadline: number): ToolLoopOptions | undefined {
  if (!deps.tools || deps.tools.isEmpty) return undefined;
  const { agent } = config;
  const journal = deps.toolCalls && event.epoch !== undefined ? { journal: deps.toolCalls, taskId: event.taskId, stepKey: stepKeyOf(event, agent.id) } : undefined;
  return {
    toolbox: deps.tools,
    agentId: agent.id,
    maxToolCalls: agent.maxToolCalls,
    callTimeoutMs: agent.toolTimeoutSeconds * 1000,
    deadline,
    journal,
    onCall: (call) => { reportToolCall(call, deps); },
    onRepeat: (repeat) => reportRepeatedToolCall(repeat, event, config, deps),
    trace: (name, run) => traceToolCall(deps.tracer, name, run),
  };
}

/** A step's own calls of the agent's tools, by name, recorded like the tool loop's. */
function directToolCalls(options: ToolLoopOptions, agentId: string): NonNullable<StepContext['callTool']> {
  const caller = new ToolCaller(options);
  return async (name, input) => {
    const tool = (await options.toolbox.tools()).find((candidate) => candidate.spec.name === name);
    if (!tool) throw new ConfigurationError([`agent ${agentId} has no tool named ${name}`]);
    return caller.call(tool, { id: `step-${name}`, name, input });
  };
}

/** Counts and logs a tool call; its input and result stay out of the logs (they may hold customer data). */
function reportToolCall(call: ToolCallReport, deps: AgentDependencies): void {
  // A repeated call is counted as the loop it is, by its detection (reportRepeatedToolCall).
  if (!call.repeated && !call.restored) {
    deps.metrics.addMetric(METRICS.toolCalls, MetricUnit.Count, 1);
    if (!call.ok) deps.metrics.addMetric(METRICS.toolCallErrors, MetricUnit.Count, 1);
  }
  deps.logger.info('tool call', { tool: call.name, durationMs: Math.round(call.durationMs), ok: call.ok, restored: call.restored, repeated: call.repeated });
}

/** Checks a result against its step's schema and invariants (see output-invariants.ts). */
export function checkAgentResult(event: StepEnvelope, result: StepResultBase, config: AgentConfig): string[] {
  const definition = definitionFor(event, config);
  const parsed = parseStepEvent(event, definition);
  return 'problems' in parsed ? parsed.problems : checkStepResult(definition, parsed.data, result, config);
}

/**
 * The agent handler with logging, metrics, tracing, event validation, checkpointing, output
 * verification and, for an agent with `resources`, leases on them. Infrastructure errors (checkpoint
 * store, throttling, permissions, configuration) leave it under the names the state machines match
 * in INFRASTRUCTURE_ERRORS (see classify-errors.ts); the agent's own errors keep theirs. verifyOutput comes after
 * checkpoint so that its `after` runs first: an inconsistent result is refused before it can be
 * checkpointed. The task's status comes right after checkpoint, for the same reason as the leases:
 * a step restored from its checkpoint returns early from checkpoint's `before`, so it neither
 * shows as running nor counts as done. The leases come last: a restored step takes none, and a
 * step that runs holds them around its work only. A failed status write fails the step as an
 * infrastructure error, as a failed checkpoint write does (classifyErrors sees it).
 *
 * @throws {ConfigurationError} when the agent has resources but `deps` has no pool or detection log
 */
export function createAgentHandler(config: AgentConfig, deps: AgentDependencies): AgentHandler {
  deps.logger.appendKeys({ team: config.team, agent: config.agent.id });
  const status: TaskStatusMiddleware<StepEnvelope, StepResultBase> | undefined = deps.taskStatus
    ? taskStatus({ store: deps.taskStatus, agentId: config.agent.id, metrics: deps.metrics })
    : undefined;
  const handler = middy<StepEnvelope, StepResultBase>((event: StepEnvelope) => runAgentStep(event, config, deps, status?.meterOf(event)))
    .use(captureLambdaHandler(deps.tracer))
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    // Every invocation (Powertools clears request dimensions when it publishes): the metrics go out
    // with [service, team, agent] and with [service] alone, the stack-wide series alarms watch.
    .use({ before: () => { deps.metrics.addDimensions({ team: config.team, agent: config.agent.id }); deps.metrics.addDimensions({}); } })
    .use({
      onError: (request) => {
        deps.metrics.addMetric(METRICS.agentStepErrors, MetricUnit.Count, 1);
        if (request.error instanceof BudgetExceededError) deps.metrics.addMetric(METRICS.budgetsExceeded, MetricUnit.Count, 1);
      },
    })
    // Inside the metrics and logging middlewares, so that they see the classified error: an
    // infrastructure failure must fail the run, not take the graceful path of a failed agent.
    .use(classifyErrors({ onInfrastructureError: (error) => { deps.logger.error('infrastructure error under an agent step', { error }); } }))
    .use(validateEvent({ schema: StepEnvelopeSchema, handlerName: config.agent.id }))
    .use(
      checkpoint({
        store: deps.checkpoints,
        agentId: config.agent.id,
        metrics: deps.metrics,
        // The local runtime builds its config from the team, not readAgentConfig: the default is derived here too.
        progressIntervalMs: progressCheckpointSecondsOf(config) * 1000,
      }),
    )
    .use(status ? [status] : [])
    .use(verifyOutput<StepEnvelope, StepResultBase>({ agentId: config.agent.id, check: (event, result) => checkAgentResult(event, result, config) }))
    .use(agentLeases(config, deps));
  return handler;
}
