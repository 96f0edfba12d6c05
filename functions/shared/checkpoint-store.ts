/**
 * Checkpoints in DynamoDB: one item per agent step, numbered per task, each with a checksum over
 * its state, a validity flag and an `expiresAt` TTL.
 *
 * @example
 * ```ts
 * const store = new CheckpointStore({ client: documentClient, tableName });
 * await store.save({ taskId: 't-1', agent: 'billing', stateName: 'Work', state: { answer: '...' } });
 * const history = await store.list('t-1');
 * ```
 */
import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  CHECKPOINT_SK_PREFIX,
  CHECKPOINT_TABLE,
  TASK_HEAD_SK,
  checkpointSortKey,
  taskPartition,
} from './contract.ts';
import { CheckpointError } from './errors.ts';

export interface CheckpointInput {
  taskId: string;
  agent: string;
  stateName: string;
  state: unknown;
  durationMs?: number;
  tokens?: number;
}

export interface Checkpoint {
  taskId: string;
  sequence: number;
  agent: string;
  stateName: string;
  /** The step's state, serialised as stored (the checksum covers exactly this string). */
  state: string;
  checksum: string;
  valid: boolean;
  durationMs: number;
  tokens: number;
  createdAt: string;
  /** Epoch seconds after which the checkpoint is ignored and may be deleted by TTL. */
  expiresAt: number;
}

export interface CheckpointStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
}

/** SHA-256 of a serialised state, hex encoded. */
export function checksumOf(serialisedState: string): string {
  return createHash('sha256').update(serialisedState).digest('hex');
}

/** Whether a checkpoint's state still matches the checksum written with it. */
export function verifyCheckpoint(checkpoint: Pick<Checkpoint, 'state' | 'checksum'>): boolean {
  return checksumOf(checkpoint.state) === checkpoint.checksum;
}

export class CheckpointStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  public constructor(options: CheckpointStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
  }

  /**
   * Writes the next checkpoint of a task. The sequence number comes from an atomic counter and
   * the item is written only if that number is still free, so parallel steps never collide.
   */
  public async save(input: CheckpointInput): Promise<Checkpoint> {
    const state = JSON.stringify(input.state ?? null);
    const nowMs = this.now();
    try {
      const sequence = await this.nextSequence(input.taskId);
      const checkpoint: Checkpoint = {
        taskId: input.taskId,
        sequence,
        agent: input.agent,
        stateName: input.stateName,
        state,
        checksum: checksumOf(state),
        valid: true,
        durationMs: Math.round(input.durationMs ?? 0),
        tokens: input.tokens ?? 0,
        createdAt: new Date(nowMs).toISOString(),
        expiresAt: Math.floor(nowMs / 1000) + this.retentionSeconds,
      };
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.keyOf(input.taskId, sequence), ...checkpoint },
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
        }),
      );
      return checkpoint;
    } catch (error) {
      throw new CheckpointError(input.taskId, `save after ${input.stateName}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The unexpired checkpoints of a task, oldest first. */
  public async list(taskId: string): Promise<Checkpoint[]> {
    const items: Checkpoint[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          // TTL deletion lags by up to days, so expired items are filtered on read.
          FilterExpression: '#expiresAt > :now',
          ExpressionAttributeNames: {
            '#pk': CHECKPOINT_TABLE.partitionKey,
            '#sk': CHECKPOINT_TABLE.sortKey,
            '#expiresAt': CHECKPOINT_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: {
            ':pk': taskPartition(taskId),
            ':prefix': CHECKPOINT_SK_PREFIX,
            ':now': Math.floor(this.now() / 1000),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []).map(toCheckpoint));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private async nextSequence(taskId: string): Promise<number> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(taskId, TASK_HEAD_SK),
        UpdateExpression: 'ADD #sequence :one SET #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#sequence': 'sequence', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute },
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const sequence = result.Attributes?.sequence as unknown;
    if (typeof sequence !== 'number') throw new Error('sequence counter returned no number');
    return sequence;
  }

  private keyOf(taskId: string, sequence: number | string): Record<string, string> {
    return {
      [CHECKPOINT_TABLE.partitionKey]: taskPartition(taskId),
      [CHECKPOINT_TABLE.sortKey]: typeof sequence === 'number' ? checkpointSortKey(sequence) : sequence,
    };
  }
}

function toCheckpoint(item: Record<string, unknown>): Checkpoint {
  return {
    taskId: String(item.taskId),
    sequence: Number(item.sequence),
    agent: String(item.agent),
    stateName: String(item.stateName),
    state: String(item.state),
    checksum: String(item.checksum),
    valid: item.valid === true,
    durationMs: Number(item.durationMs ?? 0),
    tokens: Number(item.tokens ?? 0),
    createdAt: String(item.createdAt),
    expiresAt: Number(item.expiresAt),
  };
}
