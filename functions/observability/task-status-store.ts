/**
 * The status of every task, kept as it changes: one item per task in the checkpoint table (sort key
 * `STATUS` of the task's partition, {@link taskStatusKey}), readable at any time, in AWS as locally.
 * begin-task writes it when an execution starts or resumes the task (RUNNING) and records a
 * nested task in its parent's item; each agent step says which state and agent run now, then
 * adds, atomically (`ADD`), the step and the tokens and model calls it used; request-approval sets
 * WAITING; how the execution ended is recorded by publish-outcome in AWS and by the local runtime.
 * {@link TaskStatusStore.totals} sums a task's counters with its child tasks' (at any depth) and
 * counts what the task already stored: checkpoints, rollbacks, detections.
 *
 * Every key carries the store's team (team isolation, as for the other stores): an agent's role
 * reaches its own team's items only, so an agent writes the status of its own team's tasks, and
 * control functions, which serve every team, scope the store per call with `forTeam`.
 *
 * @example
 * ```ts
 * const statuses = new TaskStatusStore({ client, tableName, team: 'telecom-support' });
 * await statuses.begin('t-1', { pattern: 'supervisor-worker', executionName: 't-1' });
 * await statuses.stepStarted('t-1', { state: 'Classify', agent: 'supervisor' });
 * await statuses.stepFinished('t-1', { inputTokens: 120, outputTokens: 40, modelCalls: 1 });
 * await statuses.finish('t-1', 'SUCCEEDED', { executionName: 't-1' });
 * const totals = await statuses.totals('t-1'); // { agentSteps: 1, modelCalls: 1, checkpoints: ..., ... }
 * ```
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { CheckpointManager } from '../recovery/checkpoint-manager.ts';
import { CHECKPOINT_TABLE, TASK_STATUS_SK, taskStatusKey } from '../core/contract.ts';
import { type RunTotals, addTotals, emptyTotals } from '../core/contracts/run-totals.ts';
import { DetectionLog } from '../guards/detection-log.ts';
import { TaskStatusError } from '../core/errors.ts';

/**
 * RUNNING: an execution works on the task. WAITING: it escalated and waits for a human.
 * The others: how its last execution ended (ESCALATED: automatic recovery gave up and the wait for
 * a human ended without a decision, or the run ended with an escalation error).
 */
export const TASK_STATUSES = ['RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'ESCALATED', 'TIMED_OUT', 'ABORTED'] as const;
export type TaskStatusValue = (typeof TASK_STATUSES)[number];

/** A status an execution leaves its task in when it stops: everything but RUNNING. */
export type StoppedTaskStatus = Exclude<TaskStatusValue, 'RUNNING'>;

/** A task named by its team and id (a task id alone does not say which team's partition holds it). */
export interface TaskRef {
  team: string;
  taskId: string;
}

/** The status of a task, as stored. */
export interface TaskStatus {
  taskId: string;
  team: string;
  pattern: string;
  status: TaskStatusValue;
  /** The state the latest agent step started (the last one, once the task stopped). */
  currentState?: string | undefined;
  /** The agent of that step. */
  agent?: string | undefined;
  /** Agent steps of this task that ran to their end (not its child tasks'; see totals). */
  stepsDone: number;
  inputTokens: number;
  outputTokens: number;
  modelCalls: number;
  /** Model calls refused by a token budget. */
  budgetRefusals: number;
  /** When the task first started (ISO 8601); a resume keeps it. */
  startedAt: string;
  updatedAt: string;
  /** When its latest execution stopped; absent while one runs. */
  endedAt?: string | undefined;
  /** The execution working on the task now (or last): only it records how it ended. */
  executionName?: string | undefined;
  /** A nested task (a hierarchical team's sub-team run): the task that started it. */
  parent?: TaskRef | undefined;
  /** The nested tasks this task started, sorted by team and id. */
  children: TaskRef[];
}

/** What one agent step used. */
export interface StepUsage {
  inputTokens: number;
  outputTokens: number;
  modelCalls: number;
}

export interface TaskBegin {
  pattern: string;
  /** The execution starting or resuming the task. */
  executionName: string;
  /** A nested task: its parent. */
  parent?: TaskRef | undefined;
}

export interface TaskStatusStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The team whose tasks this store reaches: every key carries it (team isolation). */
  team: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
}

/** How deep totals follow child tasks: far beyond any hierarchy a team definition allows, a guard against a corrupt item. */
const MAX_DEPTH = 16;

type Item = Record<string, unknown>;

export class TaskStatusStore {
  /** The team whose tasks this store reaches. */
  public readonly team: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  public constructor(private readonly options: TaskStatusStoreOptions) {
    this.team = options.team;
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
  }

  /**
   * The same store for another team's tasks (control functions scope themselves per call).
   *
   * @example
   * ```ts
   * const scoped = statuses.forTeam(event.team);
   * ```
   */
  public forTeam(team: string): TaskStatusStore {
    return team === this.team ? this : new TaskStatusStore({ ...this.options, team });
  }

  /**
   * An execution starts or resumes the task: RUNNING, under this execution. Counters and children
   * are kept (a resume adds to them); `startedAt` is the first start's.
   *
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async begin(taskId: string, begin: TaskBegin): Promise<void> {
    const { parent } = begin;
    await this.update(taskId, {
      UpdateExpression: `SET #taskId = :taskId, #team = :team, #pattern = :pattern, #status = :status, #execution = :execution, #startedAt = if_not_exists(#startedAt, :now), #updatedAt = :now, #expiresAt = :expiresAt${parent ? ', #parent = :parent' : ''} REMOVE #endedAt`,
      ExpressionAttributeNames: {
        '#taskId': 'taskId',
        '#team': 'team',
        '#pattern': 'pattern',
        '#status': 'status',
        '#execution': 'executionName',
        '#startedAt': 'startedAt',
        '#updatedAt': 'updatedAt',
        '#endedAt': 'endedAt',
        '#expiresAt': CHECKPOINT_TABLE.ttlAttribute,
        ...(parent ? { '#parent': 'parent' } : {}),
      },
      ExpressionAttributeValues: {
        ':taskId': taskId,
        ':team': this.team,
        ':pattern': begin.pattern,
        ':status': 'RUNNING',
        ':execution': begin.executionName,
        ':now': this.timestamp(),
        ':expiresAt': this.expiresAt(),
        ...(parent ? { ':parent': { team: parent.team, taskId: parent.taskId } } : {}),
      },
    });
  }

  /**
   * Records a nested task in this task's item (a string set: a retried or resumed start adds it
   * once). Nothing when this task has no status item (it started before items were kept).
   *
   * @returns whether the child was recorded
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async addChild(taskId: string, child: TaskRef): Promise<boolean> {
    return this.updateExisting(taskId, {
      UpdateExpression: 'ADD #children :child SET #updatedAt = :now',
      ExpressionAttributeNames: { '#children': 'children', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':child': new Set([childEntry(child)]), ':now': this.timestamp() },
    });
  }

  /**
   * An agent step starts: the task's current state and agent.
   *
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async stepStarted(taskId: string, step: { state: string; agent: string }): Promise<void> {
    await this.update(taskId, {
      UpdateExpression: 'SET #state = :state, #agent = :agent, #updatedAt = :now, #expiresAt = :expiresAt',
      ExpressionAttributeNames: { '#state': 'currentState', '#agent': 'agent', '#updatedAt': 'updatedAt', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute },
      ExpressionAttributeValues: { ':state': step.state, ':agent': step.agent, ':now': this.timestamp(), ':expiresAt': this.expiresAt() },
    });
  }

  /**
   * An agent step ran to its end: one more step done, and what it used, added atomically.
   *
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async stepFinished(taskId: string, usage: StepUsage): Promise<void> {
    await this.addUsage(taskId, usage, 1);
  }

  /**
   * An agent step failed after calling the model: its calls and tokens count (they were spent),
   * the step does not.
   *
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async stepFailed(taskId: string, usage: StepUsage): Promise<void> {
    await this.addUsage(taskId, usage, 0);
  }

  /**
   * A model call of the task was refused by a token budget: counted atomically.
   *
   * @returns whether it was the task's first refusal (count the task over budget once)
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async budgetRefused(taskId: string): Promise<boolean> {
    const updated = await this.update(taskId, {
      UpdateExpression: 'ADD #refusals :one SET #updatedAt = :now, #expiresAt = :expiresAt',
      ExpressionAttributeNames: { '#refusals': 'budgetRefusals', '#updatedAt': 'updatedAt', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute },
      ExpressionAttributeValues: { ':one': 1, ':now': this.timestamp(), ':expiresAt': this.expiresAt() },
      ReturnValues: 'UPDATED_NEW',
    });
    return Number(updated?.budgetRefusals) === 1;
  }

  /**
   * The task escalated and waits for a human (request-approval): WAITING until it resumes or ends.
   * Nothing for a task without a status item.
   *
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async waiting(taskId: string): Promise<boolean> {
    return this.updateExisting(taskId, {
      UpdateExpression: 'SET #status = :status, #updatedAt = :now',
      ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':status': 'WAITING', ':now': this.timestamp() },
    });
  }

  /**
   * Records how an execution left the task. With `executionName`, only if that execution is the
   * one the task runs under: a late report of an execution a resume replaced (its ABORTED, its
   * timeout) leaves the newer execution's status alone. Nothing for a task without a status item
   * (an execution refused at its start stored nothing).
   *
   * @returns whether it was recorded
   * @throws {TaskStatusError} when the item cannot be written
   */
  public async finish(taskId: string, status: StoppedTaskStatus, options: { executionName?: string | undefined } = {}): Promise<boolean> {
    const { executionName } = options;
    const now = this.timestamp();
    return this.updateExisting(
      taskId,
      {
        UpdateExpression: 'SET #status = :status, #updatedAt = :now, #endedAt = :now',
        ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt', '#endedAt': 'endedAt', ...(executionName === undefined ? {} : { '#execution': 'executionName' }) },
        ExpressionAttributeValues: { ':status': status, ':now': now, ...(executionName === undefined ? {} : { ':execution': executionName }) },
      },
      executionName === undefined ? undefined : '#execution = :execution',
    );
  }

  /** The task's status; undefined if it has none (never started, expired, or another team's). */
  public async get(taskId: string): Promise<TaskStatus | undefined> {
    let stored: Item | undefined;
    try {
      stored = (await this.options.client.send(new GetCommand({ TableName: this.options.tableName, Key: taskStatusKey(this.team, taskId), ConsistentRead: true }))).Item;
    } catch (error) {
      throw new TaskStatusError(taskId, `reading: ${(error as Error).message}`, { cause: error });
    }
    return stored && !this.isExpired(stored) ? decode(stored) : undefined;
  }

  /**
   * Every team's tasks, the most recently updated first. It reads the whole table with a Scan:
   * for the local CLI (`legion status`) on a data folder. No deployed role is granted Scan; in AWS,
   * read one task's item with {@link TaskStatusStore.get}.
   */
  public async list(): Promise<TaskStatus[]> {
    const found: TaskStatus[] = [];
    const pages = paginateScan(
      { client: this.options.client },
      {
        TableName: this.options.tableName,
        FilterExpression: '#sk = :sk',
        ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
        ExpressionAttributeValues: { ':sk': TASK_STATUS_SK },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) if (!this.isExpired(item)) found.push(decode(item));
    }
    return found.sort((left, right) => right.updatedAt.localeCompare(left.updatedAt));
  }

  /**
   * The totals of a task and of its child tasks, at any depth: the counters of their status items
   * added up, with the checkpoints, rollbacks and detections each of them stored.
   *
   * @example
   * ```ts
   * const totals = await statuses.forTeam('research-hierarchy').totals('research-1');
   * totals.agentSteps; // the lead's steps and every sub-team's
   * ```
   */
  public async totals(taskId: string): Promise<RunTotals> {
    return this.totalsOf({ team: this.team, taskId }, new Set(), 0);
  }

  private async totalsOf(task: TaskRef, seen: Set<string>, depth: number): Promise<RunTotals> {
    const id = childEntry(task);
    if (seen.has(id) || depth > MAX_DEPTH) return emptyTotals();
    seen.add(id);
    const table = { client: this.options.client, tableName: this.options.tableName, team: task.team, now: this.now };
    const checkpoints = new CheckpointManager(table);
    const [status, stored, rollbacks, detections] = await Promise.all([
      this.forTeam(task.team).get(task.taskId),
      checkpoints.list(task.taskId),
      checkpoints.rollbackSummary(task.taskId),
      new DetectionLog(table).list(task.taskId),
    ]);
    const own: RunTotals = {
      inputTokens: status?.inputTokens ?? 0,
      outputTokens: status?.outputTokens ?? 0,
      modelCalls: status?.modelCalls ?? 0,
      agentSteps: status?.stepsDone ?? 0,
      budgetRefusals: status?.budgetRefusals ?? 0,
      checkpoints: stored.length,
      rollbacks: rollbacks.total,
      detections: detections.length,
    };
    const children = await Promise.all((status?.children ?? []).map((child) => this.totalsOf(child, seen, depth + 1)));
    return addTotals(own, ...children);
  }

  private async addUsage(taskId: string, usage: StepUsage, steps: number): Promise<void> {
    await this.update(taskId, {
      UpdateExpression: 'ADD #steps :steps, #input :input, #output :output, #calls :calls SET #updatedAt = :now, #expiresAt = :expiresAt',
      ExpressionAttributeNames: {
        '#steps': 'stepsDone',
        '#input': 'inputTokens',
        '#output': 'outputTokens',
        '#calls': 'modelCalls',
        '#updatedAt': 'updatedAt',
        '#expiresAt': CHECKPOINT_TABLE.ttlAttribute,
      },
      ExpressionAttributeValues: {
        ':steps': steps,
        ':input': usage.inputTokens,
        ':output': usage.outputTokens,
        ':calls': usage.modelCalls,
        ':now': this.timestamp(),
        ':expiresAt': this.expiresAt(),
      },
    });
  }

  /** An UpdateItem of the task's item; any failure is a TaskStatusError (infrastructure). */
  private async update(
    taskId: string,
    input: { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Item; ConditionExpression?: string; ReturnValues?: 'UPDATED_NEW' },
  ): Promise<Item | undefined> {
    try {
      const result = await this.options.client.send(new UpdateCommand({ TableName: this.options.tableName, Key: taskStatusKey(this.team, taskId), ...input }));
      return result.Attributes;
    } catch (error) {
      throw new TaskStatusError(taskId, (error as Error).message, { cause: error });
    }
  }

  /** An update of an item that must exist already (and meet `condition`): false, writing nothing, when it does not. */
  private async updateExisting(
    taskId: string,
    input: { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Item },
    condition?: string,
  ): Promise<boolean> {
    try {
      await this.update(taskId, {
        ...input,
        ConditionExpression: `attribute_exists(#pk)${condition ? ` AND ${condition}` : ''}`,
        ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#pk': CHECKPOINT_TABLE.partitionKey },
      });
      return true;
    } catch (error) {
      if (error instanceof TaskStatusError && (error.cause as Error | undefined)?.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }

  private isExpired(item: Item): boolean {
    return Number(item[CHECKPOINT_TABLE.ttlAttribute]) <= Math.floor(this.now() / 1000);
  }

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }
}

/** A child as its parent's string set holds it: `<team>/<taskId>` (neither may contain a `/`). */
function childEntry(task: TaskRef): string {
  return `${task.team}/${task.taskId}`;
}

function childOf(entry: string): TaskRef {
  const slash = entry.indexOf('/');
  return { team: entry.slice(0, slash), taskId: entry.slice(slash + 1) };
}

const optionalString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function decode(item: Item): TaskStatus {
  const parent = item.parent as Partial<TaskRef> | undefined;
  const children = item.children instanceof Set ? [...(item.children as Set<string>)].map(childOf) : [];
  const status = String(item.status);
  return {
    taskId: String(item.taskId),
    team: String(item.team),
    pattern: String(item.pattern),
    status: (TASK_STATUSES as readonly string[]).includes(status) ? (status as TaskStatusValue) : 'RUNNING',
    currentState: optionalString(item.currentState),
    agent: optionalString(item.agent),
    stepsDone: Number(item.stepsDone ?? 0),
    inputTokens: Number(item.inputTokens ?? 0),
    outputTokens: Number(item.outputTokens ?? 0),
    modelCalls: Number(item.modelCalls ?? 0),
    budgetRefusals: Number(item.budgetRefusals ?? 0),
    startedAt: optionalString(item.startedAt) ?? optionalString(item.updatedAt) ?? '',
    updatedAt: optionalString(item.updatedAt) ?? '',
    endedAt: optionalString(item.endedAt),
    executionName: optionalString(item.executionName),
    parent: typeof parent?.team === 'string' && typeof parent.taskId === 'string' ? { team: parent.team, taskId: parent.taskId } : undefined,
    children: children.sort((left, right) => childEntry(left).localeCompare(childEntry(right))),
  };
}
