/**
 * The tool calls of a task's steps, one DynamoDB item each, written after the tool ran and before
 * the model sees its result. A step that runs again (resumed after a crash, retried) finds the
 * call it already made (same step, same tool, same input) and gets the recorded result instead of
 * running the tool again: a side-effecting tool runs once per step. The window that remains is a
 * crash between the tool's end and the write; a tool can close it with its `idempotencyKey`. A call
 * that failed or timed out is recorded too, and not tried again: it may have had its effect.
 *
 * The records are also the tool-call trace of the task (`list`). They expire with its checkpoints.
 *
 * @example
 * ```ts
 * const journal = new ToolCallJournal({ client, tableName, team: 'telecom-support' });
 * const known = await journal.recall({ taskId, stepKey: 'Work#billing', name: 'lookup_invoice', input });
 * if (!known) await journal.record({ taskId, stepKey, name, input, content, isError: false, durationMs: 12, order: 0 });
 * ```
 */
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_TABLE, TOOL_CALL_SK_PREFIX, taskItemKey, taskPartition } from '../core/contract.ts';
import { CheckpointError } from '../core/errors.ts';
import { queryItems } from '../core/query-items.ts';
import { checksumOf } from '../recovery/checkpoint-manager.ts';

export interface ToolCallJournalOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  team: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
}

/** One call of one step: which tool, with which input. */
export interface ToolCallKey {
  taskId: string;
  /** The step's key, as its checkpoint has it (`Work#billing`, `Stage#writer#2`). */
  stepKey: string;
  name: string;
  input: Record<string, unknown>;
}

/** A tool call as it happened: its result (or error text), how long it took, its place in the step. */
export interface ToolCallRecord extends ToolCallKey {
  content: string;
  isError: boolean;
  durationMs: number;
  /** 0 for the step's first tool call. */
  order: number;
  createdAt?: string | undefined;
  /** false for a record that no longer matches its checksum (listed, never used). @default true */
  intact?: boolean | undefined;
}

export class ToolCallJournal {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly team: string;
  private readonly retentionSeconds: number;

  public constructor(options: ToolCallJournalOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.team = options.team;
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
  }

  /**
   * The recorded call with this step, tool and input, if any.
   *
   * @throws {CheckpointError} when the record no longer matches its checksum (it is kept for inspection)
   */
  public async recall(key: ToolCallKey): Promise<ToolCallRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.itemKey(key), ConsistentRead: true }));
    return Item ? this.decode(key.taskId, Item) : undefined;
  }

  /**
   * Records a call. When a concurrent run of the step recorded the same call first, that record
   * wins and is returned, so both runs hand the model the same result.
   */
  public async record(call: ToolCallRecord): Promise<ToolCallRecord> {
    const body = JSON.stringify({ content: call.content, isError: call.isError });
    const createdAt = new Date().toISOString();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.itemKey(call),
            stepKey: call.stepKey,
            name: call.name,
            input: JSON.stringify(call.input),
            body,
            checksum: checksumOf(body),
            durationMs: Math.round(call.durationMs),
            order: call.order,
            createdAt,
            [CHECKPOINT_TABLE.ttlAttribute]: Math.floor(Date.now() / 1000) + this.retentionSeconds,
          },
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const first = await this.recall(call);
      if (first) return first;
      throw error;
    }
    return { ...call, durationMs: Math.round(call.durationMs), createdAt };
  }

  /** Every recorded call of a task, by step and then in the order the step made them. */
  public async list(taskId: string): Promise<ToolCallRecord[]> {
    const items = await queryItems(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey, '#sk': CHECKPOINT_TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': taskPartition(this.team, taskId), ':prefix': TOOL_CALL_SK_PREFIX },
      ConsistentRead: true,
    });
    // A listing shows what is there: an altered record is listed as such, not an error for the whole task.
    return items.map((item) => this.decode(taskId, item, { lenient: true })).sort((a, b) => a.stepKey.localeCompare(b.stepKey) || a.order - b.order);
  }

  private itemKey(key: ToolCallKey): Record<string, string> {
    return taskItemKey(this.team, key.taskId, `${TOOL_CALL_SK_PREFIX}${key.stepKey}#${callFingerprint(key.name, key.input)}`);
  }

  private decode(taskId: string, item: Record<string, unknown>, { lenient = false } = {}): ToolCallRecord {
    const body = String(item.body);
    const intact = checksumOf(body) === item.checksum;
    if (!intact && !lenient) {
      throw new CheckpointError(taskId, `the recorded result of tool ${String(item.name)} in step ${String(item.stepKey)} does not match its checksum; it was not used and is kept for inspection`);
    }
    const { content, isError } = intact ? (JSON.parse(body) as { content: string; isError: boolean }) : { content: '', isError: true };
    return {
      ...(intact ? {} : { intact: false }),
      taskId,
      stepKey: String(item.stepKey),
      name: String(item.name),
      input: JSON.parse(String(item.input)) as Record<string, unknown>,
      content,
      isError,
      durationMs: Number(item.durationMs),
      order: Number(item.order),
      createdAt: String(item.createdAt),
    };
  }
}

/**
 * Identifies a call by its tool and input, whatever the order of the input's keys: the same
 * question asked again gives the same fingerprint.
 */
export function callFingerprint(name: string, input: unknown): string {
  return createHash('sha256').update(`${name}\u0000${canonicalJson(input)}`).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
