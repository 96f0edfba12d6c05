/**
 * Restore and rollback latency for tasks with different history lengths, measured in one
 * randomised sequence so that machine noise falls on every history length alike.
 *
 * Each rollback undoes a checkpoint saved just before it (outside the timed region), and the
 * checkpoint it invalidated is then deleted (also untimed): every measurement, restore or rollback,
 * sees the same history of `history` valid checkpoints. Without that clean-up, invalidated
 * checkpoints would pile up between the newest and the last valid one and the benchmark would
 * measure how many rollbacks came before, not the history length.
 *
 * @example
 * ```ts
 * const results = await measureHistoryLatency({ checkpoints, client, tableName, tasks, restores: 200, rollbacks: 100, warmup: 10, random, state });
 * ```
 */
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CheckpointManager } from '../functions/recovery/checkpoint-manager.ts';
import { CHECKPOINT_TABLE, checkpointSortKey, taskPartition } from '../functions/core/contract.ts';
import { BENCH_TEAM, type BenchTask } from './populate.ts';
import { type Random, shuffled } from './random.ts';


export interface HistoryTask extends BenchTask {
  /** How many valid checkpoints the task keeps. */
  history: number;
}

export interface LatencyOptions {
  checkpoints: CheckpointManager;
  /** Used only for the untimed clean-up after each rollback. */
  client: DynamoDBDocumentClient;
  tableName: string;
  tasks: readonly HistoryTask[];
  restores: number;
  rollbacks: number;
  /** Untimed measurements of each kind per task before the timed ones. */
  warmup: number;
  random: Random;
  /** State of the checkpoint saved before each rollback. */
  state: unknown;
}

export interface HistoryLatency {
  history: number;
  restoreMs: number[];
  rollbackMs: number[];
}

type Operation = 'restore' | 'rollback';

interface Measurement {
  task: HistoryTask;
  operation: Operation;
  timed: boolean;
}

export async function measureHistoryLatency(options: LatencyOptions): Promise<HistoryLatency[]> {
  const { checkpoints, tasks } = options;
  const latest = new Map<string, number>();
  for (const task of tasks) latest.set(task.taskId, await latestSequence(checkpoints, task));

  const plan = (operation: Operation, count: number, timed: boolean): Measurement[] =>
    tasks.flatMap((task) => Array.from({ length: count }, () => ({ task, operation, timed })));
  const warmup = shuffled([...plan('restore', options.warmup, false), ...plan('rollback', options.warmup, false)], options.random);
  const timed = shuffled([...plan('restore', options.restores, true), ...plan('rollback', options.rollbacks, true)], options.random);

  const results = new Map(tasks.map((task) => [task.taskId, { history: task.history, restoreMs: [] as number[], rollbackMs: [] as number[] }]));
  let redo = 0;
  for (const { task, operation, timed: isTimed } of [...warmup, ...timed]) {
    const expected = latest.get(task.taskId) ?? 0;
    const elapsed =
      operation === 'restore'
        ? await timeRestore(checkpoints, task, expected)
        : await timeRollback(options, task, expected, redo++);
    if (isTimed) results.get(task.taskId)?.[operation === 'restore' ? 'restoreMs' : 'rollbackMs'].push(elapsed);
  }
  return [...results.values()];
}

async function latestSequence(checkpoints: CheckpointManager, task: HistoryTask): Promise<number> {
  const restored = await checkpoints.restore(task.taskId);
  if (!restored) throw new Error(`task ${task.taskId} has no valid checkpoint to measure`);
  return restored.sequence;
}

async function timeRestore(checkpoints: CheckpointManager, task: HistoryTask, expected: number): Promise<number> {
  const startedAt = performance.now();
  const restored = await checkpoints.restore(task.taskId);
  const elapsed = performance.now() - startedAt;
  if (restored?.sequence !== expected) {
    throw new Error(`restore of ${task.taskId} returned ${String(restored?.sequence)}, expected ${expected}`);
  }
  return elapsed;
}

async function timeRollback(options: LatencyOptions, task: HistoryTask, expected: number, redo: number): Promise<number> {
  const { checkpoints, client, tableName } = options;
  const undone = await checkpoints.save({
    taskId: task.taskId,
    epoch: task.epoch,
    stepKey: `${task.epoch}:Redo${redo}#billing`,
    agent: 'billing',
    stateName: `Redo${redo}`,
    state: options.state,
  });
  const startedAt = performance.now();
  const result = await checkpoints.rollback(task.taskId, { reason: 'benchmark' });
  const elapsed = performance.now() - startedAt;
  if (result.target.sequence !== expected || result.invalidated.length !== 1 || result.invalidated[0] !== undone.sequence) {
    throw new Error(`rollback of ${task.taskId} went to ${result.target.sequence} invalidating [${result.invalidated.join(', ')}], expected ${expected} invalidating [${undone.sequence}]`);
  }
  await client.send(
    new DeleteCommand({
      TableName: tableName,
      Key: { [CHECKPOINT_TABLE.partitionKey]: taskPartition(BENCH_TEAM, task.taskId), [CHECKPOINT_TABLE.sortKey]: checkpointSortKey(undone.sequence) },
    }),
  );
  return elapsed;
}
