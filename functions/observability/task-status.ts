/**
 * Keeps the task's status item up to date around each agent step (functions/observability/task-status-store.ts):
 * `before`, the state and agent running now; `after`, one more step done and the tokens and model
 * calls the step used, counted by a {@link ModelCallMeter} around the step's model (the handler
 * wraps its model with {@link TaskStatusMiddleware.meterOf}); `onError`, the calls a failed step
 * made, and a refusal by a token budget (the task's first one is counted once in the metric
 * `TasksOverBudget`). Use it after `checkpoint()`: a step restored from its checkpoint returns
 * early from checkpoint's `before`, runs nothing, and must not count as a step done.
 *
 * A status write that fails fails the step, as a failed checkpoint write does: an infrastructure
 * error (TaskStatusError), which `classifyErrors` turns into a name the state machines match. In
 * `onError` it is handed on as the step's error rather than thrown, since a middleware throwing
 * there would skip the `onError` of those after it, the classification among them.
 *
 * @example
 * ```ts
 * const status = taskStatus({ store: statuses, agentId: 'billing', metrics });
 * middy((event) => runStep(event, status.meterOf(event))).use(checkpoint(...)).use(status);
 * ```
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { METRICS } from '../core/contract.ts';
import { BudgetExceededError } from '../core/errors.ts';
import { ModelCallMeter } from '../models/model-call-meter.ts';
import type { TaskStatusStore } from './task-status-store.ts';

export interface TaskStatusOptions {
  store: Pick<TaskStatusStore, 'stepStarted' | 'stepFinished' | 'stepFailed' | 'budgetRefused'>;
  agentId: string;
  metrics: Metrics;
}

interface StepEvent {
  taskId: string;
  stateName: string;
}

export interface TaskStatusMiddleware<E, R> extends MiddlewareObj<E, R> {
  /** The meter of the step `event` runs (its model goes through it); undefined before `before` ran. */
  meterOf(event: E): ModelCallMeter | undefined;
}

export function taskStatus<E extends StepEvent, R>(options: TaskStatusOptions): TaskStatusMiddleware<E, R> {
  // By event: the handler sees the event, not the request. A meter is taken once, by `after` or
  // `onError`, so that an error in a later `after` does not count the step's calls twice.
  const meters = new WeakMap<object, ModelCallMeter>();
  const take = (event: E): ModelCallMeter | undefined => {
    const meter = meters.get(event);
    meters.delete(event);
    return meter;
  };
  return {
    meterOf: (event) => meters.get(event),
    before: async (request) => {
      meters.set(request.event, new ModelCallMeter());
      await options.store.stepStarted(request.event.taskId, { state: request.event.stateName, agent: options.agentId });
    },
    after: async (request) => {
      const meter = take(request.event);
      if (meter) await options.store.stepFinished(request.event.taskId, meter.usage());
    },
    onError: async (request) => {
      // The event may be anything here: onError also runs when validation refused it.
      const event = request.event as E | null | undefined;
      if (event === null || typeof event !== 'object') return;
      const meter = take(event);
      if (!meter) return;
      try {
        const usage = meter.usage();
        if (usage.modelCalls > 0) await options.store.stepFailed(event.taskId, usage);
        if (request.error instanceof BudgetExceededError && (await options.store.budgetRefused(event.taskId))) {
          options.metrics.addMetric(METRICS.tasksOverBudget, MetricUnit.Count, 1);
        }
      } catch (error) {
        request.error = error as Error;
      }
    },
  };
}
