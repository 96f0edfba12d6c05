/**
 * Human approvals of escalated tasks, one item per task in the checkpoint table (partition
 * `APPROVAL#<team>#<taskId>`, sort key `APPROVAL`): outside the team's `TEAM#<team>#` prefix on
 * purpose, since it holds the callback token, which only the control functions may read. An escalated execution waits on a callback token
 * (`.waitForTaskToken`); the token is stored here with the escalation, so that whoever decides,
 * from any process, can answer it. One approval per task: the first decision stands (conditional
 * write), and a later execution of the task (a resume) gets the decision instead of asking again.
 *
 * The task's deadline is `requestedAt` + APPROVAL_TIMEOUT_SECONDS, however many executions wait in
 * turn. Past it, {@link ApprovalStore.timeOut} records the approval TIMED_OUT (decided by
 * `deadline`), and a human decision comes too late. While PENDING, the item carries the keys of the
 * sparse PENDING_APPROVALS_INDEX, where the approval keeper finds it ({@link ApprovalStore.listPending}).
 *
 * @example
 * ```ts
 * const approvals = new ApprovalStore({ client, tableName, team: 'telecom-support' });
 * await approvals.request('t-1', { taskToken, error: { Error: 'RollbackLimitExceededError', Cause: '...' }, team, pattern });
 * await approvals.decide('t-1', { decision: 'APPROVED', output: { answer: 'refund issued' }, by: 'ops@example.com' });
 * ```
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { APPROVAL_TIMEOUT_SECONDS, CHECKPOINT_TABLE, PENDING_APPROVALS_INDEX, approvalItemKey } from '../core/contract.ts';
import { ApprovalDeadlinePassedError, ApprovalNotPendingError } from '../core/errors.ts';

export const APPROVAL_SK = 'APPROVAL';

/**
 * REQUESTED: the run decided to escalate and no execution waits yet ({@link ApprovalStore.recordEscalation});
 * PENDING: an execution waits for the decision; TIMED_OUT: no human decided by the task's deadline
 * (decided by {@link DEADLINE_DECIDER}).
 */
export type ApprovalStatus = 'REQUESTED' | 'PENDING' | 'APPROVED' | 'REJECTED' | 'TIMED_OUT';
/** What a human may decide. */
export type ApprovalDecision = 'APPROVED' | 'REJECTED';

/** `decidedBy` of an approval that reached its deadline. */
export const DEADLINE_DECIDER = 'deadline';

/** The deadline of an approval requested at `requestedAt` (ISO 8601): APPROVAL_TIMEOUT_SECONDS later, as ISO 8601. */
export function approvalDeadline(requestedAt: string): string {
  return new Date(Date.parse(requestedAt) + APPROVAL_TIMEOUT_SECONDS * 1000).toISOString();
}

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
  /** REJECTED: why (TIMED_OUT: that the deadline passed). */
  reason?: string;
}

/** A pending approval as the sparse index lists it: what the approval keeper needs. */
export interface PendingApproval {
  /** The team of the waiting task (its approval's key carries it). */
  team: string;
  taskId: string;
  taskToken: string;
  requestedAt: string;
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
  /** The team whose tasks the store reaches: every key carries it (team isolation). */
  team: string;
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

  /** The same store for another team's tasks (control functions scope themselves per call). */
  public forTeam(team: string): ApprovalStore {
    return team === this.options.team ? this : new ApprovalStore({ ...this.options, team });
  }

  /**
   * Records that the task escalates, before any execution waits (REQUESTED, not in the
   * pending-approvals index: no token to look after yet): a control function deciding an escalation
   * that a resumed walk would not decide again (a step that failed past the rollback limit may
   * succeed when run again) records it before throwing, so that a crash before the Escalate state's
   * request still leaves the task escalated, and its resume goes back to the wait (begin-task).
   * The first escalation stands: a task that asked before keeps its approval as it is.
   */
  public async recordEscalation(taskId: string, escalation: Omit<ApprovalRequest, 'taskToken'>): Promise<void> {
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(taskId),
          UpdateExpression: 'SET #status = :requested, #escalation = :escalation, #requestedAt = :now, #team = :team, #pattern = :pattern, #taskId = :taskId, #token = :none, #expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#status)',
          ExpressionAttributeNames: { '#status': 'status', '#escalation': 'escalation', '#requestedAt': 'requestedAt', '#team': 'team', '#pattern': 'pattern', '#taskId': 'taskId', '#token': 'taskToken', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ':requested': 'REQUESTED',
            ':escalation': escalation.escalation,
            ':now': new Date(this.now()).toISOString(),
            ':team': escalation.team,
            ':pattern': escalation.pattern,
            ':taskId': taskId,
            ':none': '',
            ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Asks for a decision: stores the escalation and the waiting execution's token, PENDING, listed
   * in the pending-approvals index. If the task asked before, its status, escalation and
   * requestedAt (so its deadline) stay; only the token is replaced, so that the new execution can be
   * answered with it (a decision, or the deadline, stands). Returns the approval as stored.
   */
  public async request(taskId: string, request: ApprovalRequest): Promise<Approval> {
    const now = new Date(this.now()).toISOString();
    const common = {
      names: { '#token': 'taskToken', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute, '#team': 'team', '#pattern': 'pattern', '#taskId': 'taskId' },
      values: {
        ':token': request.taskToken,
        ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds,
        ':team': request.team,
        ':pattern': request.pattern,
        ':taskId': taskId,
      },
      set: '#token = :token, #expiresAt = :expiresAt, #team = :team, #pattern = :pattern, #taskId = :taskId',
    };
    try {
      // New, recorded (REQUESTED) or still pending: (still) in the index, sorted by the first requestedAt.
      const answer = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(taskId),
          UpdateExpression:
            `SET ${common.set}, #status = :pending, #escalation = if_not_exists(#escalation, :escalation), #requestedAt = if_not_exists(#requestedAt, :now), ` +
            '#indexPk = :indexPk, #indexSk = if_not_exists(#requestedAt, :now)',
          ConditionExpression: 'attribute_not_exists(#status) OR #status IN (:pending, :requested)',
          ExpressionAttributeNames: { ...common.names, ...INDEX_NAMES, '#status': 'status', '#escalation': 'escalation', '#requestedAt': 'requestedAt' },
          ExpressionAttributeValues: { ...common.values, ':pending': 'PENDING', ':requested': 'REQUESTED', ':escalation': request.escalation, ':now': now, ':indexPk': PENDING_APPROVALS_INDEX.partitionValue },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return answer.Attributes as Approval;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Decided before (by a human or the deadline): the decision stands, the token is the new execution's.
    const answer = await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.key(taskId),
        UpdateExpression: `SET ${common.set}`,
        ExpressionAttributeNames: common.names,
        ExpressionAttributeValues: common.values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return answer.Attributes as Approval;
  }

  /**
   * Records a human's decision on a pending approval, if its deadline has not passed (past it, the
   * deadline is recorded instead: it came first). The approval leaves the pending-approvals index.
   *
   * @throws {ApprovalDeadlinePassedError} when the approval's deadline passed (TIMED_OUT)
   * @throws {ApprovalNotPendingError} when the task has no approval, or it was decided already
   */
  public async decide(taskId: string, input: DecisionInput): Promise<Approval> {
    try {
      const answer = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(taskId),
          UpdateExpression: 'SET #status = :decision, #decidedAt = :now, #decidedBy = :by, #output = :output, #reason = :reason REMOVE #indexPk, #indexSk',
          // REQUESTED too: a task whose run stopped before its wait began can be decided, and its resume ends so.
          ConditionExpression: '#status IN (:pending, :requested) AND #requestedAt > :cutoff',
          ExpressionAttributeNames: {
            ...INDEX_NAMES,
            '#status': 'status',
            '#requestedAt': 'requestedAt',
            '#decidedAt': 'decidedAt',
            '#decidedBy': 'decidedBy',
            '#output': 'output',
            '#reason': 'reason',
          },
          ExpressionAttributeValues: {
            ':decision': input.decision,
            ':pending': 'PENDING',
            ':requested': 'REQUESTED',
            ':cutoff': this.cutoff(),
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
      if (!isConditionFailure(error)) throw error;
    }
    let current = await this.get(taskId);
    // Still pending: its deadline passed, which comes first.
    if (current?.status === 'PENDING') current = (await this.timeOut(taskId)) ?? (await this.get(taskId));
    if (current?.status === 'TIMED_OUT') throw new ApprovalDeadlinePassedError(taskId, current.requestedAt, approvalDeadline(current.requestedAt));
    throw new ApprovalNotPendingError(taskId, current?.status);
  }

  /**
   * Records that a pending approval reached its deadline without a decision: TIMED_OUT, decided by
   * {@link DEADLINE_DECIDER}; it leaves the pending-approvals index. A conditional write: a
   * decision recorded first stands.
   *
   * @returns the approval, TIMED_OUT; undefined when it was not pending past its deadline (decided
   * already, not due yet, or no approval at all)
   */
  public async timeOut(taskId: string): Promise<Approval | undefined> {
    try {
      const answer = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(taskId),
          UpdateExpression: 'SET #status = :timedOut, #decidedAt = :now, #decidedBy = :by, #reason = :reason REMOVE #indexPk, #indexSk',
          ConditionExpression: '#status = :pending AND #requestedAt <= :cutoff',
          ExpressionAttributeNames: { ...INDEX_NAMES, '#status': 'status', '#requestedAt': 'requestedAt', '#decidedAt': 'decidedAt', '#decidedBy': 'decidedBy', '#reason': 'reason' },
          ExpressionAttributeValues: {
            ':timedOut': 'TIMED_OUT',
            ':pending': 'PENDING',
            ':cutoff': this.cutoff(),
            ':now': new Date(this.now()).toISOString(),
            ':by': DEADLINE_DECIDER,
            ':reason': `no human decision within ${String(APPROVAL_TIMEOUT_SECONDS)} s of the request`,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return answer.Attributes as Approval;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Whether an approval requested at `requestedAt` is past its deadline now (by this store's clock). */
  public isPastDeadline(requestedAt: string): boolean {
    return requestedAt <= this.cutoff();
  }

  /**
   * Every approval waiting for a decision, oldest first: a Query of the sparse pending-approvals
   * index (eventually consistent, as every global secondary index), never a Scan of the table.
   */
  public async listPending(): Promise<PendingApproval[]> {
    const pending: PendingApproval[] = [];
    const pages = paginateQuery(
      { client: this.options.client },
      {
        TableName: this.options.tableName,
        IndexName: PENDING_APPROVALS_INDEX.indexName,
        KeyConditionExpression: '#indexPk = :indexPk',
        ExpressionAttributeNames: { '#indexPk': PENDING_APPROVALS_INDEX.partitionKey },
        ExpressionAttributeValues: { ':indexPk': PENDING_APPROVALS_INDEX.partitionValue },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        // An approval stored before keys carried the team has no team: its key cannot be built any more.
        if (typeof item.team !== 'string') continue;
        pending.push({ team: item.team, taskId: String(item.taskId), taskToken: String(item.taskToken), requestedAt: String(item[PENDING_APPROVALS_INDEX.sortKey]) });
      }
    }
    return pending;
  }

  /** ISO 8601 instant at or before which a request is past its deadline. */
  private cutoff(): string {
    return new Date(this.now() - APPROVAL_TIMEOUT_SECONDS * 1000).toISOString();
  }

  /** The task's approval; undefined when it never escalated. */
  public async get(taskId: string): Promise<Approval | undefined> {
    const stored = await this.options.client.send(new GetCommand({ TableName: this.options.tableName, Key: this.key(taskId), ConsistentRead: true }));
    return stored.Item as Approval | undefined;
  }

  private key(taskId: string): Record<string, string> {
    return approvalItemKey(this.options.team, taskId);
  }
}

/** The attributes that list an approval in the sparse pending-approvals index. */
const INDEX_NAMES = { '#indexPk': PENDING_APPROVALS_INDEX.partitionKey, '#indexSk': PENDING_APPROVALS_INDEX.sortKey };

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown }).name === 'ConditionalCheckFailedException';
}
