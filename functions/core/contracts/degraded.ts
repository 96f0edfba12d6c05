/**
 * How a run says that it succeeded with a part missing. A pattern with a graceful path for an agent
 * that failed (supervisor-worker: a worker; peer-to-peer: a peer sitting a round out) lists each
 * such agent in its output's `degraded` (an empty list when the answer is whole), and the run's
 * `RunSucceeded` event carries the list too (only when it is not empty). Only agent failures
 * (the model, the step's logic, the agent's Lambda) end here: infrastructure failures fail the run
 * (INFRASTRUCTURE_ERRORS).
 *
 * @example
 * ```ts
 * const degraded: DegradedPart[] = [{ agentId: 'billing', reason: 'ModelInvocationError' }];
 * ```
 */
import { z } from 'zod';

/** One agent whose part of the answer is missing, and why: the name of the error it failed with. */
export const DegradedPartSchema = z.object({
  agentId: z.string().min(1),
  /** The error name the agent's step failed with after its retries (e.g. `ModelInvocationError`, `States.Timeout`). */
  reason: z.string().min(1),
});
export type DegradedPart = z.infer<typeof DegradedPartSchema>;

/** The `degraded` list of a run's output, if it has one that parses (older outputs have none). */
export function degradedPartsOf(output: unknown): DegradedPart[] {
  if (output === null || typeof output !== 'object') return [];
  const parsed = z.array(DegradedPartSchema).safeParse((output as { degraded?: unknown }).degraded);
  return parsed.success ? parsed.data : [];
}
