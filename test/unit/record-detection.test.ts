/**
 * record-detection, the `RecordLoop` / `RecordHallucination` states: a detection is stored once,
 * counted in the metric of its type and put on the Legion bus as `FailureDetected`. The detection
 * log is a FAKE (an in-memory log keyed like the real one by task, type, step and stepId; the real
 * one is tested on DynamoDB Local in test/integration/detection-log.test.ts); EventBridge is the
 * fake PutEvents client of test/support/fake-event-bridge.ts. Logger and Metrics are the real
 * Powertools ones, their output collected by the local runtime's TelemetrySink.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type RecordDetectionDependencies,
  type RecordDetectionEvent,
  RecordDetectionEventSchema,
  createRecordDetectionHandler,
  recordDetection,
} from '../../functions/control/record-detection.ts';
import { METRICS } from '../../functions/core/contract.ts';
import { DETECTION_METRICS } from '../../functions/guards/report-detection.ts';
import type { Detection, DetectionType } from '../../functions/core/contracts/detections.ts';
import type { DetectionLog, RecordOutcome } from '../../functions/guards/detection-log.ts';
import { EventPublishError, InvalidEventError } from '../../functions/core/errors.ts';
import { DETAIL_TYPES, FailureDetectedDetailSchema, LEGION_EVENT_SOURCE } from '../../functions/core/events.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { FakeEventBridge } from '../support/fake-event-bridge.ts';
import { LOOP_DETECTION as LOOP } from '../support/detections.ts';

const BUS = 'legion-Legion';
const context = { functionName: 'legion-record-detection', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;


/** FAKE: the detection log in memory, keeping what the real one keeps (the first write of each identity). */
class FakeDetectionLog implements Pick<DetectionLog, 'record' | 'markAnnounced'> {
  public readonly stored = new Map<string, Detection>();
  public readonly announced = new Set<string>();
  public readonly calls: { taskId: string; detection: Detection }[] = [];

  public record(taskId: string, detection: Detection): Promise<RecordOutcome> {
    this.calls.push({ taskId, detection });
    const key = keyOf(taskId, detection);
    const outcome = { stored: !this.stored.has(key), announced: this.announced.has(key) };
    if (outcome.stored) this.stored.set(key, detection);
    return Promise.resolve(outcome);
  }

  /** One fake serves every team: the handler's scoping is not what these tests look at. */
  public forTeam(): this {
    return this;
  }

  public markAnnounced(taskId: string, detection: Detection): Promise<void> {
    this.announced.add(keyOf(taskId, detection));
    return Promise.resolve();
  }
}

const keyOf = (taskId: string, detection: Detection): string => [taskId, detection.type, detection.step, detection.stepId].join('#');

function eventFor(detection: Detection = LOOP, overrides: Partial<RecordDetectionEvent> = {}): RecordDetectionEvent {
  return RecordDetectionEventSchema.parse({
    step: 'record-detection',
    stateName: 'RecordLoop',
    taskId: 't-record-detection',
    team: 'content-pipeline',
    pattern: 'pipeline',
    detection,
    ...overrides,
  });
}

describe('Function: record-detection', () => {
  let detections: FakeDetectionLog;
  let events: FakeEventBridge;
  let telemetry: TelemetrySink;
  let deps: RecordDetectionDependencies;
  let handler: ReturnType<typeof createRecordDetectionHandler>;

  beforeEach(() => {
    detections = new FakeDetectionLog();
    events = new FakeEventBridge();
    telemetry = new TelemetrySink();
    const logger = new Logger({ serviceName: 'legion-record-detection' });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-record-detection' });
    telemetry.attach(logger, metrics);
    deps = { detections, events, eventBusName: BUS, logger, metrics };
    handler = createRecordDetectionHandler(deps);
  });

  const details = (): unknown[] => events.entries.map((entry): unknown => JSON.parse(entry.Detail ?? '{}'));

  describe('a new detection', () => {
    it('stores it with its task and returns it', async () => {
      // Act
      const result = await handler(eventFor(), context);

      // Assess
      expect(result).toEqual(LOOP);
      expect(detections.calls).toEqual([{ taskId: 't-record-detection', detection: LOOP }]);
    });

    it('puts one FailureDetected entry on the bus, whose detail is the detection with the task, team, pattern and time', async () => {
      // Arrange
      const before = Date.now();

      // Act
      await handler(eventFor(), context);

      // Assess
      const after = Date.now();
      expect(events.entries).toHaveLength(1);
      expect(events.entries[0]).toMatchObject({ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.failureDetected, EventBusName: BUS });
      expect(DETAIL_TYPES.failureDetected).toBe('FailureDetected');
      const detail = FailureDetectedDetailSchema.parse(details()[0]);
      expect(detail).toEqual({ ...LOOP, taskId: 't-record-detection', team: 'content-pipeline', pattern: 'pipeline', detectedAt: expect.any(String) as unknown });
      expect(detail.detectedAt).toBe(new Date(Date.parse(detail.detectedAt)).toISOString());
      expect(Date.parse(detail.detectedAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(detail.detectedAt)).toBeLessThanOrEqual(after);
    });

    it.each([
      ['loop', METRICS.loopsDetected],
      ['hallucination', METRICS.hallucinationsDetected],
      ['deadlock', METRICS.deadlocksDetected],
    ] as const)('counts a %s detection once in %s, and nothing in the other detection metrics', async (type: DetectionType, metric) => {
      // Arrange
      const detection: Detection = { ...LOOP, type, action: type === 'loop' ? 'conflict-rule' : 'flagged' };

      // Act
      await handler(eventFor(detection), context);

      // Assess
      expect(DETECTION_METRICS[type]).toBe(metric);
      expect(telemetry.metricValues(metric)).toEqual([1]);
      for (const other of Object.values(DETECTION_METRICS).filter((name) => name !== metric)) expect(telemetry.metricValues(other)).toEqual([]);
      expect(FailureDetectedDetailSchema.parse(details()[0])).toMatchObject({ type, action: detection.action });
    });

    it('logs a warning naming the type and the action', async () => {
      await handler(eventFor(), context);
      const warning = telemetry.logs.find((line) => line.level === 'WARN');
      expect(warning).toMatchObject({ message: 'loop detected: conflict-rule', taskId: 't-record-detection' });
    });

    it('records, counts and puts each detection of one task: another stepId is another detection', async () => {
      await handler(eventFor(), context);
      await handler(eventFor({ ...LOOP, stepId: 'h3', action: 'escalated' }), context);

      expect(telemetry.metricValues(METRICS.loopsDetected)).toEqual([1, 1]);
      expect(details().map((detail) => FailureDetectedDetailSchema.parse(detail).stepId)).toEqual(['h2', 'h3']);
    });
  });

  describe('a detection recorded before (a replay)', () => {
    it('returns it, but neither counts it nor puts it on the bus again', async () => {
      // Arrange
      await handler(eventFor(), context);

      // Act: the same detection again, as a resumed run or a retried Lambda replays it.
      const replayed = await handler(eventFor(), context);

      // Assess
      expect(replayed).toEqual(LOOP);
      expect(detections.calls).toHaveLength(2);
      expect(telemetry.metricValues(METRICS.loopsDetected)).toEqual([1]);
      expect(events.entries).toHaveLength(1);
      expect(events.commands).toHaveLength(1);
    });

    it('goes by the identity (task, type, step, stepId), not by the details', async () => {
      await handler(eventFor(), context);
      await handler(eventFor({ ...LOOP, details: 'described differently', agents: ['writer'] }), context);

      expect(telemetry.metricValues(METRICS.loopsDetected)).toEqual([1]);
      expect(events.entries).toHaveLength(1);
    });

    it('records the same detection of another task as new', async () => {
      await handler(eventFor(), context);
      await handler(eventFor(LOOP, { taskId: 't-other-task' }), context);

      expect(telemetry.metricValues(METRICS.loopsDetected)).toEqual([1, 1]);
      expect(details().map((detail) => FailureDetectedDetailSchema.parse(detail).taskId)).toEqual(['t-record-detection', 't-other-task']);
    });
  });

  describe('EventBridge refuses the entry', () => {
    it('throws EventPublishError naming FailureDetected', async () => {
      events.failWith = 'InternalException';

      const call = recordDetection(eventFor(), deps);

      await expect(call).rejects.toThrow(EventPublishError);
      await expect(call).rejects.toThrow(/FailureDetected/);
      expect(events.entries).toEqual([]);
    });

    // Regression (functions/control/record-detection.ts, recordDetection): found by this test, fixed.
    it('puts FailureDetected on the replay after a refused entry', async () => {
      // Arrange: the first attempt stores the detection, then EventBridge refuses the entry.
      events.failWith = 'InternalException';
      await expect(handler(eventFor(), context)).rejects.toThrow(EventPublishError);
      events.failWith = undefined;

      // Act: the replay.
      await handler(eventFor(), context);

      // Assess
      expect(events.entries).toHaveLength(1);
    });
  });

  describe('an invalid event', () => {
    it.each([
      ['no detection', { detection: undefined }, /detection/],
      ['a detection of an unknown type', { detection: { ...LOOP, type: 'livelock' } }, /detection\.type/],
      ['a detection with an unknown action', { detection: { ...LOOP, action: 'ignored' } }, /detection\.action/],
      ['a detection without stepId', { detection: { ...LOOP, stepId: '' } }, /detection\.stepId/],
      ['an empty taskId', { taskId: '' }, /taskId/],
      ['no team', { team: undefined }, /team/],
      ['another step', { step: 'begin' }, /step/],
    ])('with %s: InvalidEventError naming the problem; nothing stored, counted or put', async (_name, overrides, message) => {
      // Arrange
      const event = { ...eventFor(), ...overrides };

      // Act
      const call = handler(event, context);

      // Assess
      await expect(call).rejects.toThrow(InvalidEventError);
      await expect(call).rejects.toThrow(message);
      await expect(call).rejects.toThrow(/^Invalid event for record-detection: /);
      expect(detections.calls).toEqual([]);
      expect(events.commands).toEqual([]);
      expect(telemetry.metricValues(METRICS.loopsDetected)).toEqual([]);
    });
  });
});
