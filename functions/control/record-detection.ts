/**
 * The `RecordDetection` states of the patterns: a loop or a hallucinated consensus was detected
 * in the state machine. The detection is stored with the task (once: a replay records nothing
 * new), counted (LoopsDetected, HallucinationsDetected or DeadlocksDetected) and put on the Legion
 * bus as `FailureDetected`, so that a rule can page someone even when the run resolves it alone.
 * It returns the detection, which the state machine carries on to what it decided.
 *
 * @example
 * ```ts
 * const handler = createRecordDetectionHandler({ detections, events, eventBusName, logger, metrics });
 * await handler({ step: 'record-detection', stateName: 'RecordLoop', taskId: 't-1', team: 'content-pipeline', pattern: 'pipeline',
 *   detection: { type: 'loop', step: 'CheckHandBack', stepId: 'h2', action: 'conflict-rule', agents: ['writer', 'editor'], details: '...' } }, context);
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { type Detection, DetectionSchema } from '../core/contracts/detections.ts';
import type { DetectionLog } from '../guards/detection-log.ts';
import type { PutEventsClient } from '../core/put-event.ts';
import { reportDetection } from '../guards/report-detection.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';

export const RecordDetectionEventSchema = z.object({
  step: z.literal('record-detection'),
  stateName: z.string().min(1),
  taskId: z.string().min(1).max(128),
  team: z.string().min(1),
  pattern: z.string().min(1),
  detection: DetectionSchema,
});
export type RecordDetectionEvent = z.infer<typeof RecordDetectionEventSchema>;

export interface RecordDetectionDependencies {
  detections: { forTeam(team: string): Pick<DetectionLog, 'record' | 'markAnnounced'> };
  events: PutEventsClient;
  eventBusName: string;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Stores, counts and announces a detection (pure; no middlewares). A detection recorded before is
 * not counted again, and announced again only if its event never went out (a replay after a
 * failed put).
 */
export async function recordDetection(event: RecordDetectionEvent, deps: RecordDetectionDependencies): Promise<Detection> {
  await reportDetection({ taskId: event.taskId, team: event.team, pattern: event.pattern }, event.detection, { ...deps, detections: deps.detections.forTeam(event.team) });
  return event.detection;
}

export function createRecordDetectionHandler(deps: RecordDetectionDependencies): ControlHandler<Detection> {
  return createControlHandler('record-detection', RecordDetectionEventSchema, (event) => recordDetection(event, deps), deps);
}
