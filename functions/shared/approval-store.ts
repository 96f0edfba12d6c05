/**
 * Human approvals of escalated tasks, kept with the task (item `APPROVAL` of partition
 * `TASK#<taskId>` in the checkpoint table). An escalated execution waits on a callback token
 * (`.waitForTaskToken`); the token is stored here with the escalation, so that whoever decides,
 * from any process, can answer it. One approval per task: the first decision stands (conditional
 * write), and a later execution of the task (a resume) gets the decision instead of asking again.
 *
 * @example
 * ```ts
 * const approvals = new ApprovalStore({ client, tableName });
 * await approvals.request('t-1', { taskToken, error: { Error: 'RollbackLimitExceededError', Cause: '...' }, team, pattern });
 * await approvals.decide('t-1', { decision: 'APPROVED', output: { answer: 'refund issued' }, by: 'ops@example.com' });
 * ```
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_TABLE, taskItemKey } from './contract.ts';
import { ApprovalNotPendingError } from './errors.ts';

export const APPROVAL_SK = 'APPROVAL';

export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED';
export type ApprovalDecision = Exclude<ApprovalStatus, 'PENDING'>;

/** What escalated the task: the error the state machine caught. */
export interface Escalation {
  Error: string;
  Cause?: string | undefined;
}

export interface Approval {
  taskId: string;
  status: ApprovalStatus;
  team: string;
  pattern: string;
  escalation: Escalation;
  /** The callback token of the execution waiting now (the latest to ask). */
  taskToken: string;
  requestedAt: string;
  decidedAt?: string;
  /** Who decided (free text: a name, an address). */
  decidedBy?: string;
  /** APPROVED: the output the human gives the run (null: none). */
  output?: unknown;
  /** REJECTED: why. */
  reason?: string;
}

export interface ApprovalRequest {
  taskToken: string;
  escalation: Escalation;
  team: string;
  pattern: string;
}

export interface DecisionInput {
  decision: ApprovalDecision;
  output?: unknown;
  reason?: string;
  by?: string;
}

export interface ApprovalStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
}

export class ApprovalStore {
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  public constructor(private readonly options: ApprovalStoreOptions) {
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
  }

  /**
   * Asks for a decision: stores the escalation and the waiting execution's token, PENDING. If the
   * task was decided before, the decision stands; only the token is replaced, so that the new
   * execution can be answered with it. Returns the approval as stored.
   */
  public async request(taskId: string, request: ApprovalRequest): Promise<Approval> {
    const answer = await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.key(taskId),
        UpdateExpression:
          'SET #token = :token, #expiresAt = :expiresAt, #status = if_not_exists(#status, :pending), #escalation = if_not_exists(#escalation, :escalation), ' +
          '#requestedAt = if_not_exists(#requestedAt, :now), #team = :team, #pattern = :pattern, #taskId = :taskId',
        ExpressionAttributeNames: {
          '#token': 'taskToken',
          '#expiresAt': CHECKPOINT_TABLE.ttlAttribute,
          '#status': 'status',
          '#escalation': 'escalation',
          '#requestedAt': 'requestedAt',
          '#team': 'team',
          '#pattern': 'pattern',
          '#taskId': 'taskId',
        },
        ExpressionAttributeValues: {
          ':token': request.taskToken,
          ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds,
          ':pending': 'PENDING',
          ':escalation': request.escalation,
          ':now': new Date(this.now()).toISOString(),
          ':team': request.team,
          ':pattern': request.pattern,
          ':taskId': taskId,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return answer.Attributes as Approval;
  }

  /**
   * Records a human's decision on a pending approval.
   *
   * @throws {ApprovalNotPendingError} when the task has no approval, or it was decided already
   */
  public async decide(taskId: string, input: DecisionInput): Promise<Approval> {
    try {
      const answer = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(taskId),
          UpdateExpression: 'SET #status = :decision, #decidedAt = :now, #decidedBy = :by, #output = :output, #reason = :reason',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status', '#decidedAt': 'decidedAt', '#decidedBy': 'decidedBy', '#output': 'output', '#reason': 'reason' },
          ExpressionAttributeValues: {
            ':decision': input.decision,
            ':pending': 'PENDING',
            ':now': new Date(this.now()).toISOString(),
            ':by': input.by ?? 'unknown',
            ':output': input.output ?? null,
            ':reason': input.reason ?? '',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return answer.Attributes as Approval;
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
      const current = await this.get(taskId);
      throw new ApprovalNotPendingError(taskId, current?.status);
    }
  }

  /** The task's approval; undefined when it never escalated. */
  public async get(taskId: string): Promise<Approval | undefined> {
    const stored = await this.options.client.send(new GetCommand({ TableName: this.options.tableName, Key: this.key(taskId), ConsistentRead: true }));
    return stored.Item as Approval | undefined;
  }

  private key(taskId: string): Record<string, string> {
    return taskItemKey(taskId, APPROVAL_SK);
  }
}
