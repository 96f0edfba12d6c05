/**
 * What Legion reports when it detects one of the three failure modes of agent teams, and what it
 * did about it. Every detection is stored with its task (item `DETECTION#...`), counted (a metric
 * per type), put on the bus (`FailureDetected`) and listed in the run's `detections`.
 *
 * @example
 * ```ts
 * const detection = DetectionSchema.parse({ type: 'loop', step: 'CheckLoop', stepId: 'h2',
 *   action: 'conflict-rule', agents: ['writer', 'editor'], details: 'A-B-A-B hand-backs' });
 * ```
 */
import { z } from 'zod';

/** The failure modes Legion detects. */
export const DETECTION_TYPES = ['loop', 'hallucination', 'deadlock'] as const;
export type DetectionType = (typeof DETECTION_TYPES)[number];

/**
 * What was done about a detection:
 * - `conflict-rule`: a loop; the instruction of the higher-ranked agent was made binding;
 * - `escalated`: handed to a human (the run waits for `legion approve` / `legion reject`);
 * - `flagged`: the result is returned marked unverified (a task not marked high impact);
 * - `released-youngest`: a wait-for cycle; its youngest holder released its leases and retried;
 * - `force-released-expired`: a lease whose holder stopped renewing it was taken over;
 * - `timed-out`: a wait for a resource passed its limit; the waiter gave up its leases and failed;
 * - `refused-repeat`: a model asked for the same tool call (same tool, same input) again in one
 *   step; it was not run, the model was told it has the result, and the same call once more fails
 *   the step (`ToolLoopError`).
 */
export const DETECTION_ACTIONS = ['conflict-rule', 'escalated', 'flagged', 'released-youngest', 'force-released-expired', 'timed-out', 'refused-repeat'] as const;
export type DetectionAction = (typeof DETECTION_ACTIONS)[number];

export const DetectionSchema = z.object({
  type: z.enum(DETECTION_TYPES),
  /** The state in which it was detected. */
  step: z.string().min(1).max(200),
  /** Which run of that state (a hand-back, a round, an agent step): with `type` and `step`, the detection's identity. */
  stepId: z.string().min(1).max(200),
  action: z.enum(DETECTION_ACTIONS),
  /** The agents involved (the looping pair, the agents that built on a claim, the holders in a cycle). */
  agents: z.array(z.string().min(1)).max(50),
  /** What was seen, for a human. */
  details: z.string().max(2000),
});
export type Detection = z.infer<typeof DetectionSchema>;

/** A detection as stored and reported: with the task and when it was recorded. */
export interface DetectionRecord extends Detection {
  taskId: string;
  detectedAt: string;
}
