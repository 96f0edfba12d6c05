/**
 * Fills a task's history with checkpoints through the real `save()`, a bounded number at a time
 * (the head item hands out sequence numbers atomically, so concurrent saves of one task are safe).
 *
 * @example
 * ```ts
 * await populate(checkpoints, { taskId: 't-1', epoch }, 10_000, { concurrency: 16, state, onSaved: () => progress.add(1) });
 * ```
 */
import type { CheckpointManager } from '../functions/recovery/checkpoint-manager.ts';

/** The team the checkpoint benchmarks write their tasks under (keys carry the team). */
export const BENCH_TEAM = 'bench';

export interface BenchTask {
  taskId: string;
  /** The fencing epoch from `begin()`; saves are fenced and carry a stepKey, as agent steps do. */
  epoch: number;
}

export interface PopulateOptions {
  concurrency: number;
  state: unknown;
  onSaved?: () => void;
}

export async function populate(checkpoints: CheckpointManager, task: BenchTask, count: number, options: PopulateOptions): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const step = next++;
      await checkpoints.save({
        taskId: task.taskId,
        epoch: task.epoch,
        stepKey: `${task.epoch}:Step${step}#billing`,
        agent: 'billing',
        stateName: `Step${step}`,
        state: options.state,
        durationMs: 1_200,
        tokens: 599,
      });
      options.onSaved?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, count) }, worker));
}
