/**
 * Writes a checkpoint after every successful agent step: the step's result, how long it took and
 * the tokens it used. A failed write fails the step (a step without its checkpoint would be
 * repeated on resume), and is counted.
 *
 * @example
 * ```ts
 * middy(runStep).use(checkpoint({ store, agentId: 'billing', metrics }));
 * ```
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { CheckpointStore } from '../checkpoint-store.ts';
import { METRICS } from '../contract.ts';

export interface CheckpointOptions {
  store: CheckpointStore;
  agentId: string;
  metrics: Metrics;
  /** @default performance.now */
  clock?: () => number;
}

interface StepEvent {
  taskId: string;
  stateName: string;
}

interface StepResult {
  usage?: { inputTokens: number; outputTokens: number } | undefined;
}

const startedAt = new WeakMap<object, number>();

export function checkpoint<E extends StepEvent, R extends StepResult>(options: CheckpointOptions): MiddlewareObj<E, R> {
  const clock = options.clock ?? (() => performance.now());
  return {
    before: (request) => {
      startedAt.set(request, clock());
    },
    after: async (request) => {
      const { taskId, stateName } = request.event;
      const usage = request.response?.usage;
      try {
        await options.store.save({
          taskId,
          stateName,
          agent: options.agentId,
          state: request.response,
          durationMs: clock() - (startedAt.get(request) ?? clock()),
          tokens: usage ? usage.inputTokens + usage.outputTokens : 0,
        });
        options.metrics.addMetric(METRICS.checkpointsWritten, MetricUnit.Count, 1);
      } catch (error) {
        options.metrics.addMetric(METRICS.checkpointFailures, MetricUnit.Count, 1);
        throw error;
      }
    },
  };
}
