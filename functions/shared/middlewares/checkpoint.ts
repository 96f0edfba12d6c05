/**
 * Writes a checkpoint after every successful agent step: the step's result, how long it took and
 * the tokens it used. With an `epoch` in the event the write is fenced (a stale execution is
 * refused) and idempotent per step. A failed write fails the step (a step without its checkpoint would be
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
import type { CheckpointManager } from '../checkpoint-manager.ts';
import { METRICS } from '../contract.ts';

export interface CheckpointOptions {
  store: CheckpointManager;
  agentId: string;
  metrics: Metrics;
  /** @default performance.now */
  clock?: () => number;
}

interface StepEvent {
  taskId: string;
  stateName: string;
  epoch?: number | undefined;
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
      const { taskId, stateName, epoch } = request.event;
      const usage = request.response?.usage;
      try {
        await options.store.save({
          taskId,
          stateName,
          epoch,
          // Within one epoch a step runs once per agent: a retried invocation re-saves idempotently.
          stepKey: epoch === undefined ? undefined : `${epoch}:${stateName}#${options.agentId}`,
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
