/**
 * The detections of a task (items `DETECTION#<type>#<step>#<stepId>` of partition `TASK#<taskId>`
 * in the checkpoint table). Recording is idempotent: a replayed step (a resume, a retried Lambda)
 * records the same detection again, and only the first write counts, so metrics and events are
 * not doubled.
 *
 * @example
 * ```ts
 * const log = new DetectionLog({ client, tableName });
 * const isNew = await log.record('t-1', { type: 'loop', step: 'CheckLoop', stepId: 'h2', action: 'conflict-rule', agents: ['writer', 'editor'], details: '...' });
 * const detections = await log.list('t-1');
 * ```
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_TABLE, taskItemKey, taskPartition } from './contract.ts';
import type { Detection, DetectionRecord } from './contracts/detections.ts';

export const DETECTION_SK_PREFIX = 'DETECTION#';

export interface DetectionLogOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
}

export class DetectionLog {
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  public constructor(private readonly options: DetectionLogOptions) {
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
  }

  /** Stores a detection once; true when this call stored it, false when it was recorded before. */
  public async record(taskId: string, detection: Detection): Promise<boolean> {
    const now = this.now();
    const item: DetectionRecord & Record<string, unknown> = {
      ...taskItemKey(taskId, detectionSortKey(detection)),
      ...detection,
      taskId,
      detectedAt: new Date(now).toISOString(),
      [CHECKPOINT_TABLE.ttlAttribute]: Math.floor(now / 1000) + this.retentionSeconds,
    };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** The task's detections, oldest first. */
  public async list(taskId: string): Promise<DetectionRecord[]> {
    const { partitionKey, sortKey } = CHECKPOINT_TABLE;
    const records: DetectionRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': partitionKey, '#sk': sortKey },
          ExpressionAttributeValues: { ':pk': taskPartition(taskId), ':prefix': DETECTION_SK_PREFIX },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records.sort((left, right) => left.detectedAt.localeCompare(right.detectedAt));
  }
}

function detectionSortKey(detection: Detection): string {
  return `${DETECTION_SK_PREFIX}${detection.type}#${detection.step}#${detection.stepId}`;
}

function toRecord(item: Record<string, unknown>): DetectionRecord {
  const { type, step, stepId, action, agents, details, taskId, detectedAt } = item as unknown as DetectionRecord;
  return { type, step, stepId, action, agents, details, taskId, detectedAt };
}
