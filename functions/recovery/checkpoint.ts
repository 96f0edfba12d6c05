/**
 * Writes a checkpoint after every successful agent step: the step's result, how long it took and
 * the tokens it used. With an `epoch` in the event (every state machine passes the one its Begin
 * state took), the write is fenced (a stale execution is refused) and the step is idempotent: a
 * step that already has a valid checkpoint for this task (a retried or resumed step) returns the
 * stored result without running again, so its side effects do not happen twice. A failed write fails the step (a step without its checkpoint would be
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
import type { CheckpointManager } from './checkpoint-manager.ts';
import { DEFAULT_PROGRESS_CHECKPOINT_SECONDS, METRICS } from '../core/contract.ts';

export interface CheckpointOptions {
  store: CheckpointManager;
  agentId: string;
  metrics: Metrics;
  /** @default performance.now */
  clock?: () => number;
  /** A step still running after this long writes a progress checkpoint, and again each period. @default 30 s */
  progressIntervalMs?: number;
}

interface StepEvent {
  taskId: string;
  stateName: string;
  epoch?: number | undefined;
  /** Tells apart runs of one state by one agent (e.g. a stage's attempt); part of the step key. */
  stepId?: string | undefined;
}

interface StepResult {
  usage?: { inputTokens: number; outputTokens: number } | undefined;
}

const startedAt = new WeakMap<object, number>();
const progressTimers = new WeakMap<object, NodeJS.Timeout>();

/**
 * Saves a progress checkpoint every interval while a step runs, so a long step leaves a trace at
 * least that often. A failed progress save is counted, not fatal: the step's own checkpoint decides.
 */
function startProgressCheckpoints(event: StepEvent, options: CheckpointOptions, elapsedMs: () => number): NodeJS.Timeout {
  const timer = setInterval(() => {
    const elapsed = Math.round(elapsedMs());
    options.store
      .save({ taskId: event.taskId, stateName: event.stateName, agent: options.agentId, epoch: event.epoch, kind: 'progress', state: { inProgress: true, elapsedMs: elapsed }, durationMs: elapsed })
      .then(() => {
        options.metrics.addMetric(METRICS.checkpointsWritten, MetricUnit.Count, 1);
      })
      .catch(() => {
        options.metrics.addMetric(METRICS.checkpointFailures, MetricUnit.Count, 1);
      });
  }, options.progressIntervalMs ?? DEFAULT_PROGRESS_CHECKPOINT_SECONDS * 1000);
  timer.unref();
  return timer;
}

/** A step of a task: a state run by one agent (a Map runs the same state once per agent), once per stepId. */
export function stepKeyOf(event: StepEvent, agentId: string): string {
  return event.stepId === undefined ? `${event.stateName}#${agentId}` : `${event.stateName}#${agentId}#${event.stepId}`;
}

export function checkpoint<E extends StepEvent, R extends StepResult>(options: CheckpointOptions): MiddlewareObj<E, R> {
  const clock = options.clock ?? (() => performance.now());
  return {
    before: async (request) => {
      startedAt.set(request, clock());
      const { taskId, epoch } = request.event;
      if (epoch !== undefined) {
        const done = await options.store.findDoneStep(taskId, stepKeyOf(request.event, options.agentId));
        if (done) return JSON.parse(done.state) as R;
      }
      progressTimers.set(request, startProgressCheckpoints(request.event, options, () => clock() - (startedAt.get(request) ?? clock())));
      return undefined;
    },
    onError: (request) => {
      clearInterval(progressTimers.get(request));
    },
    after: async (request) => {
      clearInterval(progressTimers.get(request));
      const { taskId, stateName, epoch } = request.event;
      const usage = request.response?.usage;
      try {
        const saved = await options.store.save({
          taskId,
          stateName,
          epoch,
          stepKey: epoch === undefined ? undefined : stepKeyOf(request.event, options.agentId),
          agent: options.agentId,
          state: request.response,
          durationMs: clock() - (startedAt.get(request) ?? clock()),
          tokens: usage ? usage.inputTokens + usage.outputTokens : 0,
        });
        // Another run of this step saved first: answer with its result, so both runs agree.
        if (saved.stepKey !== undefined && saved.state !== JSON.stringify(request.response ?? null)) request.response = JSON.parse(saved.state) as R;
        else options.metrics.addMetric(METRICS.checkpointsWritten, MetricUnit.Count, 1);
      } catch (error) {
        options.metrics.addMetric(METRICS.checkpointFailures, MetricUnit.Count, 1);
        throw error;
      }
    },
  };
}
