/**
 * Conformance suite of the detection log (items `DETECTION#<type>#<step>#<stepId>` of a task's
 * partition in the checkpoint table) against DynamoDB Local (the real jar, started once in
 * test/global-setup.ts). No DynamoDB client is mocked. Each test uses its own task id. Time is the
 * log's `now` option, a clock each test moves by hand, so detectedAt and the TTL are exact.
 * Pages beyond 1 MB (LastEvaluatedKey) are not tested.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { APPROVAL_SK } from '../../functions/approvals/approval-store.ts';
import { CHECKPOINT_TABLE, checkpointSortKey, taskItemKey, taskPartition } from '../../functions/core/contract.ts';
import type { Detection } from '../../functions/core/contracts/detections.ts';
import { DETECTION_SK_PREFIX, DetectionLog } from '../../functions/guards/detection-log.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';
import { LOOP_DETECTION as LOOP } from '../support/detections.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'test-team';

/** A fixed instant in the future: retention times are then never in the past. */
const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const newTask = (): string => `detection-${randomUUID()}`;

const HALLUCINATION: Detection = {
  type: 'hallucination',
  step: 'Verify',
  stepId: 'r1',
  action: 'flagged',
  agents: ['researcher', 'analyst'],
  details: 'cacheMarketGrowthPercent: claimed 340, the facts say 23',
};

describe('Class: DetectionLog (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  /** A log for one test, with its own clock (starting at T0) and task. */
  function fixture(options: { retentionDays?: number } = {}) {
    const clock = { ms: T0 };
    const log = new DetectionLog({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME, now: () => clock.ms, ...options });
    return { clock, log, taskId: newTask() };
  }

  async function storedItem(taskId: string, detection: Detection): Promise<Record<string, unknown> | undefined> {
    const sortKey = `${DETECTION_SK_PREFIX}${detection.type}#${detection.step}#${detection.stepId}`;
    const { Item } = await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: taskItemKey(TEST_TEAM, taskId, sortKey) }));
    return Item;
  }

  describe('Method: markAnnounced', () => {
    it('marks the detection announced: a later record answers announced, and nothing else changes', async () => {
      // Arrange
      const { log, taskId } = fixture();
      await log.record(taskId, LOOP);

      // Act
      await log.markAnnounced(taskId, LOOP);

      // Assess
      expect(await log.record(taskId, LOOP)).toEqual({ stored: false, announced: true });
      expect(await log.list(taskId)).toEqual([{ ...LOOP, taskId, detectedAt: iso(T0) }]);
    });

    it('refuses to mark a detection that was never recorded (it creates no item)', async () => {
      const { log, taskId } = fixture();

      await expect(log.markAnnounced(taskId, LOOP)).rejects.toThrow();
      expect(await storedItem(taskId, LOOP)).toBeUndefined();
    });
  });

  describe('Method: record', () => {
    it('stores a new detection with its task under DETECTION#<type>#<step>#<stepId>, not yet announced, and answers stored', async () => {
      // Arrange
      const { log, taskId } = fixture();

      // Act
      const stored = await log.record(taskId, LOOP);

      // Assess
      expect(stored).toEqual({ stored: true, announced: false });
      expect(await storedItem(taskId, LOOP)).toEqual({
        [CHECKPOINT_TABLE.partitionKey]: taskPartition(TEST_TEAM, taskId),
        [CHECKPOINT_TABLE.sortKey]: 'DETECTION#loop#CheckLoop#h2',
        ...LOOP,
        taskId,
        detectedAt: iso(T0),
        announced: false,
        [CHECKPOINT_TABLE.ttlAttribute]: Math.floor(T0 / 1000) + CHECKPOINT_TABLE.retentionDays * 86_400,
      });
    });

    it('expires the item after the retention period given', async () => {
      const { clock, log, taskId } = fixture({ retentionDays: 2 });
      clock.ms = T0 + 1_500; // not a whole second: the TTL is in whole seconds

      await log.record(taskId, LOOP);

      expect((await storedItem(taskId, LOOP))?.[CHECKPOINT_TABLE.ttlAttribute]).toBe(Math.floor((T0 + 1_500) / 1000) + 2 * 86_400);
    });

    it('is idempotent: recording the same detection again answers not stored and leaves the first record as it was', async () => {
      // Arrange
      const { clock, log, taskId } = fixture();
      await log.record(taskId, LOOP);
      clock.ms = T0 + 60_000;

      // Act: a replay, with other details and another action, but the same type, step and stepId.
      const again = await log.record(taskId, { ...LOOP, action: 'escalated', agents: ['writer'], details: 'replayed' });

      // Assess
      expect(again).toEqual({ stored: false, announced: false });
      expect(await log.list(taskId)).toEqual([{ ...LOOP, taskId, detectedAt: iso(T0) }]);
    });

    it('is idempotent across log instances (a retried Lambda has a new one)', async () => {
      const { log, taskId } = fixture();
      const other = new DetectionLog({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME });

      expect((await log.record(taskId, LOOP)).stored).toBe(true);
      expect((await other.record(taskId, LOOP)).stored).toBe(false);
    });

    it('tells detections apart by type, step and stepId: each differing one is new', async () => {
      // Arrange
      const { log, taskId } = fixture();
      await log.record(taskId, LOOP);

      // Act
      const answers = [
        (await log.record(taskId, { ...LOOP, stepId: 'h3' })).stored,
        (await log.record(taskId, { ...LOOP, step: 'CheckHandBack' })).stored,
        (await log.record(taskId, { ...LOOP, type: 'deadlock' })).stored,
      ];

      // Assess
      expect(answers).toEqual([true, true, true]);
      expect(await log.list(taskId)).toHaveLength(4);
    });

    it('records the same detection for another task as new', async () => {
      const { log, taskId } = fixture();
      await log.record(taskId, LOOP);

      expect((await log.record(newTask(), LOOP)).stored).toBe(true);
    });

    it('does not take an item of the task with another sort key for a detection', async () => {
      // Arrange: a checkpoint-like item in the same partition.
      const { log, taskId } = fixture();
      await client.send(new PutCommand({ TableName: LOCAL_TABLE_NAME, Item: { ...taskItemKey(TEST_TEAM, taskId, checkpointSortKey(1)), stateName: 'CheckLoop' } }));

      // Act & Assess
      expect((await log.record(taskId, LOOP)).stored).toBe(true);
    });
  });

  describe('Method: list', () => {
    it('lists nothing for a task without detections', async () => {
      const { log, taskId } = fixture();
      expect(await log.list(taskId)).toEqual([]);
    });

    it('lists the detections oldest first, whatever their sort keys, without the table attributes', async () => {
      // Arrange: recorded in an order that is not the order of their sort keys (h1 < h2 < h3, hallucination < loop).
      const { clock, log, taskId } = fixture();
      const h3 = { ...LOOP, stepId: 'h3', action: 'escalated' as const };
      const h1 = { ...LOOP, stepId: 'h1' };
      await log.record(taskId, h3);
      clock.ms = T0 + 1_000;
      await log.record(taskId, LOOP);
      clock.ms = T0 + 2_000;
      await log.record(taskId, h1);
      clock.ms = T0 + 3_000;
      await log.record(taskId, HALLUCINATION);

      // Act
      const listed = await log.list(taskId);

      // Assess
      expect(listed).toEqual([
        { ...h3, taskId, detectedAt: iso(T0) },
        { ...LOOP, taskId, detectedAt: iso(T0 + 1_000) },
        { ...h1, taskId, detectedAt: iso(T0 + 2_000) },
        { ...HALLUCINATION, taskId, detectedAt: iso(T0 + 3_000) },
      ]);
    });

    it("lists only the task's DETECTION items: not its checkpoints or approval, not another task's detections", async () => {
      // Arrange: in the same partition, items with other sort keys (one sorting before DETECTION#, one after).
      const { log, taskId } = fixture();
      const otherTask = newTask();
      await client.send(
        new PutCommand({ TableName: LOCAL_TABLE_NAME, Item: { ...taskItemKey(TEST_TEAM, taskId, checkpointSortKey(1)), type: 'loop', step: 'Fake', stepId: 'x', detectedAt: iso(T0 - 1) } }),
      );
      await client.send(new PutCommand({ TableName: LOCAL_TABLE_NAME, Item: { ...taskItemKey(TEST_TEAM, taskId, APPROVAL_SK), status: 'PENDING' } }));
      await client.send(new PutCommand({ TableName: LOCAL_TABLE_NAME, Item: { ...taskItemKey(TEST_TEAM, taskId, 'DETECTIONS'), type: 'loop', detectedAt: iso(T0 - 1) } }));
      await log.record(otherTask, HALLUCINATION);
      await log.record(taskId, LOOP);

      // Act
      const listed = await log.list(taskId);

      // Assess
      expect([checkpointSortKey(1), APPROVAL_SK].every((sortKey) => !sortKey.startsWith(DETECTION_SK_PREFIX))).toBe(true);
      expect(listed).toEqual([{ ...LOOP, taskId, detectedAt: iso(T0) }]);
      expect(await log.list(otherTask)).toEqual([{ ...HALLUCINATION, taskId: otherTask, detectedAt: iso(T0) }]);
    });

    it("does not list the detections of a task whose id starts with this task's id", async () => {
      const { log, taskId } = fixture();
      await log.record(`${taskId}-2`, LOOP);

      expect(await log.list(taskId)).toEqual([]);
    });
  });
});
