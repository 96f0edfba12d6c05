/**
 * The detections of a task (items `DETECTION#<type>#<step>#<stepId>` of partition `TEAM#<team>#TASK#<taskId>`
 * in the checkpoint table). Recording is idempotent: a replayed step (a resume, a retried Lambda)
 * records the same detection again, and only the first write counts, so metrics are not doubled;
 * each detection also remembers whether its event was announced, so a replay after a failed put
 * announces it then, and never twice.
 *
 * @example
 * ```ts
 * const log = new DetectionLog({ client, tableName, team: 'content-pipeline' });
 * const { stored, announced } = await log.record('t-1', { type: 'loop', step: 'CheckLoop', stepId: 'h2', action: 'conflict-rule', agents: ['writer', 'editor'], details: '...' });
 * const detections = await log.list('t-1');
 * ```
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_TABLE, taskItemKey, taskPartition } from '../core/contract.ts';
import type { Detection, DetectionRecord } from '../core/contracts/detections.ts';
import { queryItems } from '../core/query-items.ts';

export const DETECTION_SK_PREFIX = 'DETECTION#';

/** What recording a detection found. */
export interface RecordOutcome {
  /** This call stored it: it had not been recorded before. */
  stored: boolean;
  /** Its FailureDetected event was put before. */
  announced: boolean;
}

export interface DetectionLogOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The team whose tasks the store reaches: every key carries it (team isolation). */
  team: string;
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

  /** The same store for another team's tasks (control functions scope themselves per call). */
  public forTeam(team: string): DetectionLog {
    return team === this.options.team ? this : new DetectionLog({ ...this.options, team });
  }

  /**
   * Stores a detection once. `stored`: this call stored it (count it); `announced`: its
   * FailureDetected event went out before (do not put it again). A replay after a failed put
   * finds it stored but not announced, so the event is not lost.
   */
  public async record(taskId: string, detection: Detection): Promise<RecordOutcome> {
    const now = this.now();
    const values: Record<string, unknown> = {
      ...detection,
      taskId,
      detectedAt: new Date(now).toISOString(),
      announced: false,
      [CHECKPOINT_TABLE.ttlAttribute]: Math.floor(now / 1000) + this.retentionSeconds,
    };
    const names = Object.keys(values);
    const answer = await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: taskItemKey(this.options.team, taskId, detectionSortKey(detection)),
        // if_not_exists on every field: the first write stands, a replay changes nothing.
        UpdateExpression: `SET ${names.map((_name, index) => `#f${String(index)} = if_not_exists(#f${String(index)}, :v${String(index)})`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((name, index) => [`#f${String(index)}`, name])),
        ExpressionAttributeValues: Object.fromEntries(names.map((name, index) => [`:v${String(index)}`, values[name]])),
        ReturnValues: 'ALL_OLD',
      }),
    );
    const before = answer.Attributes;
    return { stored: before === undefined, announced: before?.announced === true };
  }

  /** Marks a recorded detection's FailureDetected event as put. */
  public async markAnnounced(taskId: string, detection: Detection): Promise<void> {
    await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: taskItemKey(this.options.team, taskId, detectionSortKey(detection)),
        UpdateExpression: 'SET #announced = :true',
        ConditionExpression: 'attribute_exists(#sk)',
        ExpressionAttributeNames: { '#announced': 'announced', '#sk': CHECKPOINT_TABLE.sortKey },
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  /** The task's detections, oldest first. */
  public async list(taskId: string): Promise<DetectionRecord[]> {
    const items = await queryItems(this.options.client, {
      TableName: this.options.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey, '#sk': CHECKPOINT_TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': taskPartition(this.options.team, taskId), ':prefix': DETECTION_SK_PREFIX },
    });
    return items.map(toRecord).sort((left, right) => left.detectedAt.localeCompare(right.detectedAt));
  }
}

function detectionSortKey(detection: Detection): string {
  return `${DETECTION_SK_PREFIX}${detection.type}#${detection.step}#${detection.stepId}`;
}

function toRecord(item: Record<string, unknown>): DetectionRecord {
  const { type, step, stepId, action, agents, details, taskId, detectedAt } = item as unknown as DetectionRecord;
  return { type, step, stepId, action, agents, details, taskId, detectedAt };
}
