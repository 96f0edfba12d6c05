/**
 * The rollback state of every pattern: a step's result failed its consistency check (its schema or
 * an invariant), so the task goes back to its latest valid checkpoint and the state machine walks
 * its states again. Steps with a valid checkpoint return their stored result without running, so
 * in effect the run restarts at the failed step. Each rollback is counted (metric, and on the task);
 * past the team's limit the function throws `RollbackLimitExceededError` and the run escalates.
 *
 * @example
 * ```ts
 * const handler = createRollbackTaskHandler({ checkpoints, logger, metrics });
 * await handler({ step: 'rollback', stateName: 'RollBack', team: 'telecom-support', taskId: 't-1', epoch: 2, maxRollbacks: 2,
 *   error: { Error: 'AgentOutputError', Cause: 'Output of agent supervisor rejected: not JSON' } }, context);
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import type { CheckpointManager } from '../recovery/checkpoint-manager.ts';
import { METRICS } from '../core/contract.ts';
import { RollbackLimitExceededError } from '../core/errors.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';
import { type EscalationRecorder, recordEscalation } from './record-escalation.ts';

export const RollbackTaskEventSchema = z.object({
  step: z.literal('rollback'),
  stateName: z.string().min(1),
  /** The team of the state machine: the store is scoped to it. */
  team: z.string().min(1),
  taskId: z.string().min(1).max(128),
  epoch: z.number().int().positive(),
  maxRollbacks: z.number().int().min(0),
  /** What the Catch caught: Step Functions' `{ Error, Cause }`. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});
export type RollbackTaskEvent = z.infer<typeof RollbackTaskEventSchema>;

export interface RollbackTaskResult {
  taskId: string;
  /** The checkpoint the task continues from (0: none yet, it starts over). */
  restoredSequence: number;
  /** Automatic rollbacks of the task so far, this one included. */
  rollbacks: number;
}

export interface RollbackTaskDependencies extends EscalationRecorder {
  checkpoints: CheckpointManager;
  logger: Logger;
  metrics: Metrics;
}

/** Rolls the task back to its latest valid checkpoint (pure; no middlewares). */
export async function rollbackTask(event: RollbackTaskEvent, deps: RollbackTaskDependencies): Promise<RollbackTaskResult> {
  const reason = `${event.error.Error}: ${causeMessage(event.error.Cause)}`;
  try {
    const { target, rollbacks } = await deps.checkpoints.forTeam(event.team).rollbackAutomatically(event.taskId, { reason, epoch: event.epoch, limit: event.maxRollbacks });
    deps.metrics.addMetric(METRICS.rollbacks, MetricUnit.Count, 1);
    deps.logger.warn('rolled back after an inconsistent step result', { taskId: event.taskId, restoredSequence: target?.sequence ?? 0, rollbacks, reason });
    return { taskId: event.taskId, restoredSequence: target?.sequence ?? 0, rollbacks };
  } catch (error) {
    if (error instanceof RollbackLimitExceededError) {
      deps.metrics.addMetric(METRICS.escalations, MetricUnit.Count, 1);
      deps.logger.error('rollback limit reached; escalating', { taskId: event.taskId, reason });
      // A resume would run the failed step again, which may pass this time: the escalation must outlive this execution.
      const owner = await deps.checkpoints.forTeam(event.team).findOwner(event.taskId);
      await recordEscalation(deps, { taskId: event.taskId, team: event.team, pattern: owner?.pattern ?? 'unknown' }, error);
    }
    throw error;
  }
}

/** A Lambda error's Cause is JSON (`errorMessage`, `errorType`, `trace`) in AWS; plain text locally. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

export function createRollbackTaskHandler(deps: RollbackTaskDependencies): ControlHandler<RollbackTaskResult> {
  return createControlHandler('rollback-task', RollbackTaskEventSchema, (event) => rollbackTask(event, deps), deps);
}
