/**
 * Reports a detected failure mode: stores it with its task (once), counts it in its metric and
 * puts `FailureDetected` on the Legion bus (once: again on a replay only if the first put failed).
 * The record-detection control function (the state machines' Record... states) and the agents
 * that meet a deadlock both report through it, so every detection is handled the same way.
 *
 * @example
 * ```ts
 * await reportDetection({ taskId: 't-1', team: 'content-pipeline', pattern: 'pipeline' }, detection, { detections, events, eventBusName, logger, metrics });
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../core/contract.ts';
import type { Detection, DetectionType } from '../core/contracts/detections.ts';
import type { DetectionLog } from './detection-log.ts';
import { DETAIL_TYPES, type FailureDetectedDetail, LEGION_EVENT_SOURCE } from '../core/events.ts';
import { type PutEventsClient, putEvent } from '../core/put-event.ts';

/** The metric each type of detection is counted in. */
export const DETECTION_METRICS: Record<DetectionType, string> = {
  loop: METRICS.loopsDetected,
  hallucination: METRICS.hallucinationsDetected,
  deadlock: METRICS.deadlocksDetected,
};

/** Where a detection happened. */
export interface DetectionSource {
  taskId: string;
  team: string;
  pattern: string;
}

export interface DetectionReporting {
  detections: Pick<DetectionLog, 'record' | 'markAnnounced'>;
  /** The Legion bus; without it the detection is stored and counted, not announced. @default none */
  events?: PutEventsClient | undefined;
  eventBusName?: string | undefined;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Stores, counts and announces a detection. A detection recorded before is not counted again, and
 * announced again only if its event never went out.
 *
 * @throws {EventPublishError} when the bus refuses the event (the detection stays stored, not announced)
 */
export async function reportDetection(source: DetectionSource, detection: Detection, deps: DetectionReporting): Promise<void> {
  const { taskId } = source;
  const { stored, announced } = await deps.detections.record(taskId, detection);
  if (stored) {
    deps.metrics.addMetric(DETECTION_METRICS[detection.type], MetricUnit.Count, 1);
    deps.logger.warn(`${detection.type} detected: ${detection.action}`, { taskId, detection });
  }
  const { events, eventBusName } = deps;
  if (announced || !events || !eventBusName) return;
  const detail: FailureDetectedDetail = { ...detection, ...source, detectedAt: new Date().toISOString() };
  await putEvent({ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.failureDetected, Detail: JSON.stringify(detail), EventBusName: eventBusName }, { events, eventBusName });
  await deps.detections.markAnnounced(taskId, detection);
}
