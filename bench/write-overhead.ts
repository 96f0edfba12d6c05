/**
 * What checkpointing adds to an agent step: the time of `save()` alone (the same step without a
 * checkpoint does not call it), for several kinds of save, measured in one randomised sequence.
 *
 * @example
 * ```ts
 * const samples = await measureSaves(checkpoints, variants, { iterations: 200, warmup: 10, random });
 * ```
 */
import type { CheckpointInput, CheckpointManager } from '../functions/recovery/checkpoint-manager.ts';
import { type Random, shuffled } from './random.ts';

export interface SaveVariant {
  name: string;
  taskId: string;
  /** The fencing epoch; with it each save also carries a unique stepKey (as the checkpoint middleware does). */
  epoch?: number | undefined;
  state: unknown;
}

export interface SaveSamples {
  variant: SaveVariant;
  saveMs: number[];
}

export interface SaveOptions {
  iterations: number;
  warmup: number;
  random: Random;
}

/** One save of a variant's state; `step` makes the stepKey unique. */
export function saveInput(variant: SaveVariant, step: string): CheckpointInput {
  return {
    taskId: variant.taskId,
    epoch: variant.epoch,
    stepKey: variant.epoch === undefined ? undefined : `${variant.epoch}:${step}#billing`,
    agent: 'billing',
    stateName: step,
    state: variant.state,
    durationMs: 1_200,
    tokens: 599,
  };
}

export async function measureSaves(checkpoints: CheckpointManager, variants: readonly SaveVariant[], options: SaveOptions): Promise<SaveSamples[]> {
  const plan = (count: number, timed: boolean) => variants.flatMap((variant) => Array.from({ length: count }, () => ({ variant, timed })));
  const order = [...shuffled(plan(options.warmup, false), options.random), ...shuffled(plan(options.iterations, true), options.random)];
  const samples = new Map(variants.map((variant) => [variant.name, { variant, saveMs: [] as number[] }]));
  let step = 0;
  for (const { variant, timed } of order) {
    const input = saveInput(variant, `Work${step++}`);
    const startedAt = performance.now();
    await checkpoints.save(input);
    const elapsed = performance.now() - startedAt;
    if (timed) samples.get(variant.name)?.saveMs.push(elapsed);
  }
  return [...samples.values()];
}
