/**
 * The task-status middleware in the real agent handler (createAgentHandler): what a step that runs
 * records (its state and agent, then one step and the model calls and tokens it used), that a step
 * restored from its checkpoint records nothing, that a task over budget is counted once in
 * TasksOverBudget however many of its calls are refused, and that a failed status write fails the
 * step as an infrastructure error. The store is an in-memory fake here (its atomic counters are
 * tested on DynamoDB Local in test/integration/task-status-store.test.ts).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAgentHandler } from '../../functions/agents/agent.ts';
import type { AgentDependencies } from '../../functions/agents/agent-dependencies.ts';
import type { Checkpoint, CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { METRICS, METRICS_SERVICE } from '../../functions/core/contract.ts';
import { BudgetExceededError, InfrastructureError, InfrastructureThrottledError, TaskStatusError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import type { StepUsage, TaskStatusStore } from '../../functions/observability/task-status-store.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { agentDependencies } from '../support/agent-doubles.ts';
import { agentConfigOf, loadTelecomTeam } from '../support/telecom.ts';

type StatusCalls = Pick<TaskStatusStore, 'stepStarted' | 'stepFinished' | 'stepFailed' | 'budgetRefused'>;

/** FAKE status store: the store's semantics in memory (counters per task; the first refusal of a task says so), every call logged. */
class MemoryTaskStatuses implements StatusCalls {
  public readonly calls: [string, string, unknown][] = [];
  public readonly refusals = new Map<string, number>();
  /** Makes this method fail, with this error as the cause (as DynamoDB would answer). */
  public failing: { method: keyof StatusCalls; cause: Error } | undefined;

  public stepStarted(taskId: string, step: { state: string; agent: string }): Promise<void> {
    return this.record('stepStarted', taskId, step);
  }

  public stepFinished(taskId: string, usage: StepUsage): Promise<void> {
    return this.record('stepFinished', taskId, usage);
  }

  public stepFailed(taskId: string, usage: StepUsage): Promise<void> {
    return this.record('stepFailed', taskId, usage);
  }

  public async budgetRefused(taskId: string): Promise<boolean> {
    await this.record('budgetRefused', taskId, undefined);
    const refusals = (this.refusals.get(taskId) ?? 0) + 1;
    this.refusals.set(taskId, refusals);
    return refusals === 1;
  }

  private record(method: keyof StatusCalls, taskId: string, argument: unknown): Promise<void> {
    if (this.failing?.method === method) return Promise.reject(new TaskStatusError(taskId, this.failing.cause.message, { cause: this.failing.cause }));
    this.calls.push([method, taskId, argument]);
    return Promise.resolve();
  }
}

/** TEST DOUBLE around the scripted model: counts the calls and the tokens of the replies. */
class CountingModel implements ModelProvider {
  public calls = 0;
  public tokens = { inputTokens: 0, outputTokens: 0 };
  private readonly scripted = new ScriptedModel();

  public async converse(request: ModelRequest): Promise<ModelReply> {
    this.calls += 1;
    const reply = await this.scripted.converse(request);
    this.tokens.inputTokens += reply.usage.inputTokens;
    this.tokens.outputTokens += reply.usage.outputTokens;
    return reply;
  }
}

/** An AWS service error as the SDK raises it (it carries `$metadata`). */
const awsError = (name: string): Error => Object.assign(new Error(`${name}: test`), { name, $metadata: {} });

const CLASSIFY = { step: 'classify', stateName: 'Classify', input: { request: 'Why is my bill so high?', conversation: [] } };
const context = {} as Context;

describe('Middleware: taskStatus (in createAgentHandler)', () => {
  let supervisor: AgentConfig;

  beforeAll(async () => {
    supervisor = agentConfigOf(await loadTelecomTeam(), 'supervisor');
  });

  /** The supervisor's handler with the given doubles; its metrics collected in `telemetry`. */
  function build(overrides: Partial<AgentDependencies>, model: ModelProvider = new CountingModel()): { handler: ReturnType<typeof createAgentHandler>; statuses: MemoryTaskStatuses; telemetry: TelemetrySink } {
    const statuses = new MemoryTaskStatuses();
    const telemetry = new TelemetrySink();
    const base = agentDependencies(model);
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS_SERVICE });
    telemetry.attach(base.logger, metrics);
    const savingCheckpoints = {
      save: (checkpoint: { state: unknown }) => Promise.resolve({ stepKey: undefined, state: JSON.stringify(checkpoint.state ?? null) }),
      findDoneStep: () => Promise.resolve(undefined),
    } as unknown as CheckpointManager;
    const deps: AgentDependencies = { ...base, metrics, checkpoints: savingCheckpoints, taskStatus: statuses, ...overrides };
    return { handler: createAgentHandler(supervisor, deps), statuses, telemetry };
  }

  it('records the state and agent as the step starts, then one step done with the model calls and tokens it used', async () => {
    const model = new CountingModel();
    const { handler, statuses, telemetry } = build({}, model);

    await handler({ ...CLASSIFY, taskId: 'task-status-1' }, context);

    expect(model.calls).toBeGreaterThan(0);
    expect(statuses.calls).toEqual([
      ['stepStarted', 'task-status-1', { state: 'Classify', agent: 'supervisor' }],
      ['stepFinished', 'task-status-1', { modelCalls: model.calls, ...model.tokens }],
    ]);
    // The step's latency goes out in milliseconds with the per-agent dimension set.
    const [emf] = telemetry.emf.filter((record) => METRICS.agentStepDuration in record);
    const directive = (emf?._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } | undefined)?.CloudWatchMetrics[0];
    expect(directive?.Metrics).toContainEqual({ Name: METRICS.agentStepDuration, Unit: 'Milliseconds' });
    expect(directive?.Dimensions).toContainEqual(['service', 'team', 'agent']);
  });

  it('records nothing for a step restored from its checkpoint: it runs no model call and is no step done', async () => {
    const model = new CountingModel();
    const done = { state: JSON.stringify({ intents: [] }) } as Checkpoint;
    const restoring = {
      findDoneStep: () => Promise.resolve(done),
      save: () => Promise.reject(new Error('a restored step saves nothing')),
    } as unknown as CheckpointManager;
    const { handler, statuses, telemetry } = build({ checkpoints: restoring }, model);

    const result = await handler({ ...CLASSIFY, taskId: 'task-status-2', epoch: 1 }, context);

    expect(result).toEqual({ intents: [] });
    expect(model.calls).toBe(0);
    expect(statuses.calls).toEqual([]);
    expect(telemetry.metricValues(METRICS.agentStepDuration)).toEqual([]);
  });

  it('counts a task over budget once in TasksOverBudget, however many of its calls are refused', async () => {
    const refusing = {
      reserve: (taskId: string) => Promise.reject(new BudgetExceededError(taskId, 'supervisor', 'task', 100, 50, 120)),
      settle: () => Promise.resolve(),
    };
    const { handler, statuses, telemetry } = build({ budgets: refusing });

    for (const stateName of ['Classify', 'Reclassify']) {
      await expect(handler({ ...CLASSIFY, stateName, taskId: 'task-over-budget' }, context)).rejects.toBeInstanceOf(BudgetExceededError);
    }
    await expect(handler({ ...CLASSIFY, taskId: 'another-task-over-budget' }, context)).rejects.toBeInstanceOf(BudgetExceededError);

    expect(statuses.refusals).toEqual(new Map([['task-over-budget', 2], ['another-task-over-budget', 1]]));
    expect(telemetry.metricValues(METRICS.tasksOverBudget)).toEqual([1, 1]);
    expect(telemetry.metricValues(METRICS.budgetsExceeded)).toEqual([1, 1, 1]);
    // A refused call never reached the model: nothing to add for the failed steps.
    expect(statuses.calls.filter(([method]) => method === 'stepFailed')).toEqual([]);
  });

  it('fails the step as an infrastructure error when its status cannot be written (throttled: retried by the state machine)', async () => {
    const { handler, statuses } = build({});
    statuses.failing = { method: 'stepStarted', cause: awsError('ProvisionedThroughputExceededException') };

    await expect(handler({ ...CLASSIFY, taskId: 'task-status-3' }, context)).rejects.toBeInstanceOf(InfrastructureThrottledError);
  });

  it('fails closed when the status of a failed step cannot be written: the infrastructure error wins over the step\'s own', async () => {
    const refusing = { reserve: (taskId: string) => Promise.reject(new BudgetExceededError(taskId, 'supervisor', 'agent', 1, 50, 10)), settle: () => Promise.resolve() };
    const { handler, statuses } = build({ budgets: refusing });
    statuses.failing = { method: 'budgetRefused', cause: awsError('AccessDeniedException') };

    const failure = handler({ ...CLASSIFY, taskId: 'task-status-4' }, context);

    await expect(failure).rejects.toBeInstanceOf(InfrastructureError);
    await expect(failure).rejects.toThrow(/TaskStatusError/);
  });
});
