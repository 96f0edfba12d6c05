/**
 * What a whole run cost and went through, over all its steps and every sub-team's (a hierarchical
 * team's nested tasks, at any depth): the totals that the local RunResult and the outcome events
 * (`RunSucceeded`, `RunFailed`, `RunEscalated`) carry. `output.usage` stays what it was (the last
 * step's tokens); these are the sums. They are read from what the task stored (its status item,
 * its checkpoints, its rollbacks and detections), so they count every execution of the task: a
 * resume adds the steps it really ran, never the ones it restored.
 *
 * @example
 * ```ts
 * const totals: RunTotals = addTotals(emptyTotals(), { ...emptyTotals(), modelCalls: 3, agentSteps: 2 });
 * totals.modelCalls; // 3
 * ```
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

export const RunTotalsSchema = z.object({
  /** Tokens the model read, over every model call of the run. */
  inputTokens: count,
  /** Tokens the model wrote, over every model call of the run. */
  outputTokens: count,
  /** Calls the model answered (refused calls, over a budget, are not made and not counted). */
  modelCalls: count,
  /** Agent steps that ran to their end (a step restored from its checkpoint did not run again). */
  agentSteps: count,
  /** Checkpoints stored (step and progress checkpoints, valid or invalidated, not yet expired). */
  checkpoints: count,
  /** Rollbacks, automatic and manual. */
  rollbacks: count,
  /** Loops, hallucinated consensus and deadlocks detected. */
  detections: count,
  /** Model calls refused by a token budget (agent's or task's). */
  budgetRefusals: count,
});
export type RunTotals = z.infer<typeof RunTotalsSchema>;

/** Totals of nothing: every count 0. */
export function emptyTotals(): RunTotals {
  return { inputTokens: 0, outputTokens: 0, modelCalls: 0, agentSteps: 0, checkpoints: 0, rollbacks: 0, detections: 0, budgetRefusals: 0 };
}

/** The sum of some totals, field by field. */
export function addTotals(...parts: readonly RunTotals[]): RunTotals {
  const sum = emptyTotals();
  for (const part of parts) {
    for (const key of Object.keys(sum) as (keyof RunTotals)[]) sum[key] += part[key];
  }
  return sum;
}
