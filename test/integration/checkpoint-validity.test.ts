/**
 * A checkpoint whose `valid` attribute is not a boolean (e.g. the string "true", written by hand
 * or by another tool) is corrupt: the store must not trust it, and must not leave its step marker
 * behind either, or the step's next save collides with the marker and fails. Against DynamoDB
 * Local (test/support/dynamodb-local.ts).
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import { CHECKPOINT_TABLE, stepMarkerSortKey } from '../../functions/core/contract.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

const TEAM = 'validity-team';
const STEP_KEY = 'Work#billing';

describe('Feature: a checkpoint whose validity is not a boolean (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let manager: CheckpointManager;
  onDynamoDbLocal((connected) => {
    client = connected;
  });
  beforeAll(() => {
    // As a variable: the options take a team where the table's keys carry one (team isolation).
    const options = { client, tableName: LOCAL_TABLE_NAME, team: TEAM };
    manager = new CheckpointManager(options);
  });

  /**
   * The task's items whose sort key is `sortKey`, or checkpoint `sequence`, found by their own
   * attributes (a test-only Scan), so that the test does not depend on how keys are built.
   */
  async function itemsOf(taskId: string): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: LOCAL_TABLE_NAME,
          FilterExpression: 'contains(#pk, :taskId)',
          ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey },
          ExpressionAttributeValues: { ':taskId': taskId },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }
  const checkpointItem = async (taskId: string, sequence: number): Promise<Record<string, unknown> | undefined> =>
    (await itemsOf(taskId)).find((item) => item.taskId === taskId && item.sequence === sequence && typeof item.checksum === 'string');
  const markerItem = async (taskId: string): Promise<Record<string, unknown> | undefined> =>
    (await itemsOf(taskId)).find((item) => item[CHECKPOINT_TABLE.sortKey] === stepMarkerSortKey(STEP_KEY));

  /** A task with one saved step (Work#billing), whose checkpoint's `valid` is then set to `value`. */
  async function stepWithValidity(value: unknown): Promise<{ taskId: string; epoch: number; sequence: number }> {
    const taskId = `valid-${randomUUID()}`;
    const epoch = await manager.begin(taskId);
    const saved = await manager.save({ taskId, epoch, stepKey: STEP_KEY, agent: 'billing', stateName: 'Work', state: { answer: 'first' } });
    const stored = await checkpointItem(taskId, saved.sequence);
    if (!stored) throw new Error(`checkpoint ${String(saved.sequence)} of ${taskId} not found`);
    await client.send(
      new UpdateCommand({
        TableName: LOCAL_TABLE_NAME,
        Key: { [CHECKPOINT_TABLE.partitionKey]: stored[CHECKPOINT_TABLE.partitionKey], [CHECKPOINT_TABLE.sortKey]: stored[CHECKPOINT_TABLE.sortKey] },
        UpdateExpression: 'SET #valid = :value',
        ExpressionAttributeNames: { '#valid': 'valid' },
        ExpressionAttributeValues: { ':value': value },
      }),
    );
    return { taskId, epoch, sequence: saved.sequence };
  }

  it.each([['the string "true"', 'true'], ['a number', 1]])('treats %s as corrupt: marked invalid, its step forgotten, and the step saves again', async (_label, value) => {
    const { taskId, epoch, sequence } = await stepWithValidity(value);

    // Not handed on as done: the step runs again...
    expect(await manager.findDoneStep(taskId, STEP_KEY)).toBeUndefined();
    const stored = await checkpointItem(taskId, sequence);
    expect(stored?.valid).toBe(false);
    expect(stored?.invalidReason).toMatch(/not a boolean/);
    expect(await markerItem(taskId)).toBeUndefined();

    // ...and its save does not collide with the old marker: a new checkpoint is the step's result.
    const again = await manager.save({ taskId, epoch, stepKey: STEP_KEY, agent: 'billing', stateName: 'Work', state: { answer: 'second' } });
    expect(again.sequence).toBeGreaterThan(sequence);
    expect(JSON.parse(again.state)).toEqual({ answer: 'second' });
    expect((await manager.findDoneStep(taskId, STEP_KEY))?.sequence).toBe(again.sequence);
    expect((await manager.restore(taskId))?.sequence).toBe(again.sequence);
  });

  it('saves a step again whose marker points at a checkpoint already marked invalid (the marker was left behind)', async () => {
    const { taskId, epoch, sequence } = await stepWithValidity(false);

    expect(await manager.findDoneStep(taskId, STEP_KEY)).toBeUndefined();
    const again = await manager.save({ taskId, epoch, stepKey: STEP_KEY, agent: 'billing', stateName: 'Work', state: { answer: 'second' } });
    expect(again.sequence).toBeGreaterThan(sequence);
  });

  it('restore skips a checkpoint with a string validity and marks it invalid on the way', async () => {
    const { taskId, sequence } = await stepWithValidity('true');

    expect(await manager.restore(taskId)).toBeUndefined();
    expect((await checkpointItem(taskId, sequence))?.valid).toBe(false);
  });
});
