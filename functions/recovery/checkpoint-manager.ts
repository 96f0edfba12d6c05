/**
 * Over 500 lines on purpose: fencing, validity, restore and rollback are one consistency protocol
 * over the same items and conditions; split, each half would have to restate the other's rules.
 *
 * Checkpoints in DynamoDB, production grade: one item per agent step, numbered per task, each with
 * a checksum over its state, a validity flag and an `expiresAt` TTL.
 *
 * - **Fencing.** `begin()` takes a task over by raising its epoch; saves made with an older epoch
 *   (a "zombie" writer that paused and came back) fail with `StaleWriterError` and write nothing.
 * - **Bounded restore.** The latest valid checkpoint is found by reading the task's items newest
 *   first, a few at a time, stopping at the first that verifies: the cost depends on how many
 *   corrupt checkpoints sit on top, never on the length of the history. No Scan.
 * - **Idempotent re-save.** A save with a `stepKey` already saved (a retried step) returns the
 *   stored checkpoint instead of writing a second one.
 * - **Large state.** State above `compressAboveBytes` is gzipped; an item that would still be over
 *   `maxItemBytes` is refused with `CheckpointTooLargeError`, never truncated.
 * - **Expiry.** Reads ignore items past `expiresAt` (DynamoDB's TTL deletes them only within days).
 *
 * @example
 * ```ts
 * const checkpoints = new CheckpointManager({ client: documentClient, tableName, team: 'telecom-support' });
 * const epoch = await checkpoints.begin('t-1');
 * await checkpoints.save({ taskId: 't-1', epoch, agent: 'billing', stateName: 'Work', state: { answer: '...' } });
 * const latest = await checkpoints.restore('t-1'); // the latest checkpoint whose checksum verifies
 * ```
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  DeleteCommand,
} from '@aws-sdk/lib-dynamodb';
import { queryItems } from '../core/query-items.ts';
import {
  CHECKPOINT_TABLE,
  SEQUENCE_WIDTH,
  TASK_HEAD_SK,
  TASK_INPUT_SK,
  checkpointSortKey,
  stepMarkerSortKey,
  taskItemKey,
  taskOwnerKey,
  taskPartition,
} from '../core/contract.ts';
import {
  CheckpointError,
  CheckpointTooLargeError,
  NoValidCheckpointError,
  RollbackLimitExceededError,
  StaleWriterError,
  TaskConflictError,
  TaskNotFoundError,
  TaskOwnedByAnotherTeamError,
} from '../core/errors.ts';

export interface CheckpointInput {
  taskId: string;
  agent: string;
  stateName: string;
  state: unknown;
  /** The fencing token from `begin()`. Without it the save is not fenced. */
  epoch?: number | undefined;
  /** Identifies the step (e.g. `Work#billing`): a second save with the same key returns the first. */
  stepKey?: string | undefined;
  /**
   * `progress` for the intermediate checkpoints of a long step (restore and rollback skip them: a
   * step without its final checkpoint runs again on resume).
   * @default 'step'
   */
  kind?: CheckpointKind;
  durationMs?: number;
  tokens?: number;
}

export type CheckpointKind = 'step' | 'progress';

export interface Checkpoint {
  taskId: string;
  sequence: number;
  kind: CheckpointKind;
  epoch: number;
  agent: string;
  stateName: string;
  stepKey?: string | undefined;
  /** The step's state, serialised; the checksum covers exactly this string. */
  state: string;
  checksum: string;
  valid: boolean;
  invalidReason?: string | undefined;
  /** How the state is stored: as JSON text, or gzipped. */
  encoding: 'json' | 'gzip';
  /** Size of the stored item in bytes (as DynamoDB counts it, approximately). */
  storedBytes: number;
  durationMs: number;
  tokens: number;
  createdAt: string;
  /** Epoch seconds after which the checkpoint is ignored and may be deleted by TTL. */
  expiresAt: number;
}

export interface CheckpointManagerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The team whose tasks this manager reads and writes: every key carries it (team isolation). */
  team: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
  /** State larger than this (bytes of JSON) is stored gzipped. @default 16 KiB */
  compressAboveBytes?: number;
  /** Largest item written; DynamoDB's limit is 400 KB, this leaves room for the other attributes. @default 380_000 */
  maxItemBytes?: number;
}

/** Which team, on which pattern, a task belongs to. */
export interface TaskOwner {
  team: string;
  pattern: string;
}

/** A task as an execution starts or resumes it. */
export interface TaskStart {
  taskId: string;
  /** The fencing token this execution writes with. */
  epoch: number;
  /** The task's input, as first given. */
  input: unknown;
  resumed: boolean;
}

export interface RollbackOptions {
  /** Roll back to this sequence. @default the last valid checkpoint before the latest valid one */
  to?: number | undefined;
  reason: string;
}

export interface RollbackResult {
  /** The checkpoint the task now continues from. */
  target: Checkpoint;
  /** Sequences that were invalidated by the rollback. */
  invalidated: number[];
}

/** Why and where a task was rolled back, as recorded on the task. */
export interface RollbackRecord {
  /** The checkpoint the task went back to (0: before its first). */
  to: number;
  reason: string;
  automatic: boolean;
  at: string;
}

export interface RollbackSummary {
  total: number;
  automatic: number;
  log: RollbackRecord[];
  /** The task's current epoch (0 if it never started). */
  epoch: number;
}

export interface AutomaticRollbackOptions {
  /** What failed its check, recorded with the rollback. */
  reason: string;
  /** The epoch of the execution asking: a stale execution cannot roll the task back. */
  epoch: number;
  /** Automatic rollbacks the task may have. */
  limit: number;
}

export interface AutomaticRollbackResult {
  /** The checkpoint the task continues from; undefined when it has none yet. */
  target: Checkpoint | undefined;
  /** Automatic rollbacks of the task, this one included. */
  rollbacks: number;
}

/** Counts a rollback (and, if automatic, `#automatic`) and records it on the task head (with `rollbackEntry` values). */
const rollbackUpdate = (automatic: boolean): string =>
  `ADD #rollbacks :one${automatic ? ', #automatic :one' : ''} SET #last = :last, #log = list_append(if_not_exists(#log, :empty), :entry)`;
const ROLLBACK_NAMES = { '#rollbacks': 'rollbacks', '#last': 'lastRollback', '#log': 'rollbackLog' };

const RESTORE_PAGE_SIZE = 4;
const FIRST_CHECKPOINT_SK = checkpointSortKey(0);
const LAST_CHECKPOINT_SK = checkpointSortKey(10 ** SEQUENCE_WIDTH - 1);

/** SHA-256 of a serialised state, hex encoded. */
export function checksumOf(serialisedState: string): string {
  return createHash('sha256').update(serialisedState).digest('hex');
}

/** Whether a checkpoint's state still matches the checksum written with it. */
export function verifyCheckpoint(checkpoint: Pick<Checkpoint, 'state' | 'checksum'>): boolean {
  return checksumOf(checkpoint.state) === checkpoint.checksum;
}

type Item = Record<string, unknown>;

export class CheckpointManager {
  /** The team whose items this manager reaches. */
  public readonly team: string;
  private readonly options: CheckpointManagerOptions;
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;
  private readonly compressAboveBytes: number;
  private readonly maxItemBytes: number;

  public constructor(options: CheckpointManagerOptions) {
    this.options = options;
    this.team = options.team;
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
    this.compressAboveBytes = options.compressAboveBytes ?? 16 * 1024;
    this.maxItemBytes = options.maxItemBytes ?? 380_000;
  }

  /**
   * The same manager for another team's tasks (control functions serve every team of a stack and
   * scope themselves per call to the team of the state machine that invoked them).
   *
   * @example
   * ```ts
   * const scoped = checkpoints.forTeam(event.team);
   * ```
   */
  public forTeam(team: string): CheckpointManager {
    return team === this.team ? this : new CheckpointManager({ ...this.options, team });
  }

  /**
   * Takes a task over: raises its epoch and returns the new one. Saves fenced with an older epoch
   * are refused from now on. With `startedAt` (the execution's start time, ISO 8601), an execution
   * that started before the one owning the task cannot take it back: a late or retried Begin of a
   * dead execution must not fence off the resume that replaced it.
   *
   * @throws {StaleWriterError} when an execution that started later owns the task
   */
  public async begin(taskId: string, startedAt?: string): Promise<number> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId, TASK_HEAD_SK),
          UpdateExpression: `ADD #epoch :one SET #expiresAt = :expiresAt${startedAt ? ', #owner = :startedAt' : ''}`,
          ...(startedAt ? { ConditionExpression: 'attribute_not_exists(#owner) OR #owner <= :startedAt' } : {}),
          ExpressionAttributeNames: { '#epoch': 'epoch', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute, ...(startedAt ? { '#owner': 'ownerStartedAt' } : {}) },
          ExpressionAttributeValues: { ':one': 1, ':expiresAt': this.expiresAt(), ...(startedAt ? { ':startedAt': startedAt } : {}) },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes?.epoch);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') throw new StaleWriterError(taskId, 0);
      throw error;
    }
  }

  /**
   * Starts a task: stores its input (so that a resume can run it again), claims its id for this
   * team, and takes it over. Starting the same task again with the same input is harmless (a
   * retried start); with another input it is refused, because the stored checkpoints belong to the
   * first; a task id another team owns is refused too.
   *
   * @throws {TaskConflictError} when the task exists with a different input
   * @throws {TaskOwnedByAnotherTeamError} when another team's task has this id
   */
  public async startTask(taskId: string, input: unknown, owner: TaskOwner, startedAt?: string): Promise<TaskStart> {
    if (owner.team !== this.team) throw new TaskOwnedByAnotherTeamError(taskId, owner.team, this.team);
    const serialised = JSON.stringify(input ?? null);
    const checksum = checksumOf(serialised);
    const createdAt = new Date(this.now()).toISOString();
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...this.key(taskId, TASK_INPUT_SK), ...owner, input: serialised, checksum, createdAt, expiresAt: this.expiresAt() },
                ConditionExpression: 'attribute_not_exists(#sk) OR #checksum = :checksum',
                ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey, '#checksum': 'checksum' },
                ExpressionAttributeValues: { ':checksum': checksum },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...taskOwnerKey(taskId), taskId, ...owner, createdAt, expiresAt: this.expiresAt() },
                // An expired claim is free again, as the task's own items are.
                ConditionExpression: 'attribute_not_exists(#sk) OR #team = :team OR #expiresAt <= :now',
                ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey, '#team': 'team', '#expiresAt': CHECKPOINT_TABLE.ttlAttribute },
                ExpressionAttributeValues: { ':team': owner.team, ':now': Math.floor(this.now() / 1000) },
              },
            },
          ],
        }),
      );
    } catch (error) {
      throw await this.startRefusal(taskId, error);
    }
    return { taskId, epoch: await this.begin(taskId, startedAt), input, resumed: false };
  }

  /** Why a start was refused: the id is another team's, or this team's task has another input. */
  private async startRefusal(taskId: string, error: unknown): Promise<Error> {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
    if ((error as Error).name !== 'TransactionCanceledException' || !reasons?.some((reason) => reason.Code === 'ConditionalCheckFailed')) return error as Error;
    const owner = await this.findOwner(taskId);
    if (owner && owner.team !== this.team) return new TaskOwnedByAnotherTeamError(taskId, this.team, owner.team);
    return new TaskConflictError(taskId);
  }

  /**
   * Which team (and pattern) owns a task id, whichever team this manager is for: how a command
   * given only a task id (`legion resume`, `status`, `approve`) finds the task. Undefined if no
   * unexpired task has the id.
   */
  public async findOwner(taskId: string): Promise<TaskOwner | undefined> {
    const stored = await this.client.send(new GetCommand({ TableName: this.tableName, Key: taskOwnerKey(taskId), ConsistentRead: true }));
    const item = stored.Item;
    if (!item || this.isExpired(item)) return undefined;
    return { team: String(item.team), pattern: String(item.pattern) };
  }

  /** What was stored when the task started: its team, pattern and input; undefined if unknown. */
  public async describeTask(taskId: string): Promise<(TaskOwner & { input: unknown; createdAt: string }) | undefined> {
    const stored = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.key(taskId, TASK_INPUT_SK), ConsistentRead: true }));
    const item = stored.Item;
    if (!item || this.isExpired(item)) return undefined;
    return { team: String(item.team), pattern: String(item.pattern), input: readStoredInput(taskId, item), createdAt: String(item.createdAt) };
  }

  /**
   * Resumes a task from its stored input and takes it over (raising its epoch).
   *
   * @throws {TaskNotFoundError} when no input is stored for the task (or it expired)
   * @throws {TaskOwnedByAnotherTeamError} when the task is another team's
   */
  public async resumeTask(taskId: string, startedAt?: string): Promise<TaskStart> {
    const stored = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.key(taskId, TASK_INPUT_SK), ConsistentRead: true }));
    const item = stored.Item;
    if (!item || this.isExpired(item)) {
      const owner = await this.findOwner(taskId);
      if (owner && owner.team !== this.team) throw new TaskOwnedByAnotherTeamError(taskId, this.team, owner.team);
      throw new TaskNotFoundError(taskId);
    }
    const input = readStoredInput(taskId, item);
    return { taskId, epoch: await this.begin(taskId, startedAt), input, resumed: true };
  }

  /**
   * Writes the next checkpoint of a task. With a `stepKey`, a step saved before (or by a concurrent
   * run of the same step that saved first) is not saved again: the stored checkpoint is returned,
   * and its state is the step's result.
   *
   * @throws {StaleWriterError} when `epoch` is older than the task's current epoch
   * @throws {CheckpointTooLargeError} when the state does not fit in one item even gzipped
   */
  public async save(input: CheckpointInput): Promise<Checkpoint> {
    const state = JSON.stringify(input.state ?? null);
    const stored = this.encode(input.taskId, state);
    if (input.stepKey) {
      const existing = await this.findDoneStep(input.taskId, input.stepKey);
      if (existing) return existing;
    }
    const sequence = await this.nextSequence(input);
    const nowMs = this.now();
    const checkpoint: Checkpoint = {
      taskId: input.taskId,
      sequence,
      epoch: input.epoch ?? 0,
      agent: input.agent,
      stateName: input.stateName,
      kind: input.kind ?? 'step',
      stepKey: input.stepKey,
      state,
      checksum: checksumOf(state),
      valid: true,
      encoding: stored.encoding,
      storedBytes: stored.bytes,
      durationMs: Math.round(input.durationMs ?? 0),
      tokens: input.tokens ?? 0,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: this.expiresAt(),
    };
    const { state: _text, ...attributes } = checkpoint;
    const item = { ...this.key(input.taskId, checkpointSortKey(sequence)), ...attributes, ...stored.attributes };
    try {
      await this.writeCheckpoint(input, item, sequence);
    } catch (error) {
      // Two runs of one step (a step still running when a rollback or resume started it again)
      // raced, and the other one's save won: its checkpoint is the step's result, for both.
      const winner = input.stepKey ? await this.findDoneStep(input.taskId, input.stepKey) : undefined;
      if (winner) return winner;
      throw error;
    }
    return checkpoint;
  }

  /**
   * The latest valid checkpoint of a task, its checksum verified. Checkpoints above it that fail
   * to verify or to decode are marked invalid on the way.
   *
   * @returns undefined when the task has no valid checkpoint
   */
  public async restore(taskId: string): Promise<Checkpoint | undefined> {
    for await (const item of this.newestFirst(taskId)) {
      const checkpoint = await this.verified(item);
      if (checkpoint) return checkpoint;
    }
    return undefined;
  }

  /** The unexpired checkpoints of a task, oldest first, valid or not. */
  public async list(taskId: string): Promise<Checkpoint[]> {
    const items = await queryItems(this.client, this.checkpointQuery(taskId));
    return items.filter((item) => !this.isExpired(item)).map(decodeLenient);
  }

  /** Marks one checkpoint invalid (restore and rollback skip it), keeping it for inspection. */
  public async invalidate(taskId: string, sequence: number, reason: string): Promise<void> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId, checkpointSortKey(sequence)),
          UpdateExpression: 'SET #valid = :false, #reason = :reason',
          ConditionExpression: 'attribute_exists(#sk)',
          ExpressionAttributeNames: { '#valid': 'valid', '#reason': 'invalidReason', '#sk': CHECKPOINT_TABLE.sortKey },
          ExpressionAttributeValues: { ':false': false, ':reason': reason },
          ReturnValues: 'ALL_OLD',
        }),
      );
      // A step rolled back may run again: forget that it was done.
      const stepKey: unknown = result.Attributes?.stepKey;
      if (typeof stepKey === 'string') await this.forgetStep(taskId, stepKey, sequence);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new CheckpointError(taskId, `no checkpoint ${sequence} to invalidate`);
      }
      throw error;
    }
  }

  /**
   * Rolls a task back: every valid checkpoint after the target is invalidated, and the rollback is
   * counted and recorded on the task. Without `to`, the target is the last valid checkpoint before
   * the latest valid one (the latest step is undone).
   *
   * @throws {NoValidCheckpointError} when there is no valid checkpoint to roll back to
   */
  public async rollback(taskId: string, options: RollbackOptions): Promise<RollbackResult> {
    const valid = await this.validNewestFirst(taskId, options.to);
    const target = options.to === undefined ? valid[1] : valid.find((checkpoint) => checkpoint.sequence === options.to);
    if (!target) {
      throw new NoValidCheckpointError(taskId, options.to === undefined ? 'fewer than two valid checkpoints' : `checkpoint ${options.to} is not valid`);
    }
    const invalidated = valid.filter((checkpoint) => checkpoint.sequence > target.sequence).map((checkpoint) => checkpoint.sequence);
    for (const sequence of invalidated) await this.invalidate(taskId, sequence, `rolled back to ${target.sequence}: ${options.reason}`);
    await this.recordRollback(taskId, target.sequence, options.reason);
    return { target, invalidated };
  }

  /**
   * Rolls a task back after one of its steps produced an inconsistent result. That result was never
   * saved, so the task goes back to its latest valid checkpoint and the step runs again. Each one is
   * counted, atomically, against `limit`: past it the task needs a human, not another try.
   *
   * @throws {RollbackLimitExceededError} when the task already had `limit` automatic rollbacks
   * @throws {StaleWriterError} when `epoch` is not the task's: another execution owns it now
   */
  public async rollbackAutomatically(taskId: string, options: AutomaticRollbackOptions): Promise<AutomaticRollbackResult> {
    const target = await this.restore(taskId);
    const entry = this.rollbackEntry(target?.sequence ?? 0, options.reason, true);
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId, TASK_HEAD_SK),
          UpdateExpression: rollbackUpdate(true),
          // `:none < :limit` makes a limit of 0 refuse the first rollback too.
          ConditionExpression: '#epoch = :epoch AND ((attribute_not_exists(#automatic) AND :none < :limit) OR #automatic < :limit)',
          ExpressionAttributeNames: { ...ROLLBACK_NAMES, '#automatic': 'automaticRollbacks', '#epoch': 'epoch' },
          ExpressionAttributeValues: { ...entry, ':limit': options.limit, ':epoch': options.epoch, ':none': 0 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { target, rollbacks: Number(result.Attributes?.automaticRollbacks) };
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const summary = await this.rollbackSummary(taskId);
      if (summary.epoch !== options.epoch) throw new StaleWriterError(taskId, options.epoch);
      throw new RollbackLimitExceededError(taskId, summary.automatic, options.limit);
    }
  }

  /** How many rollbacks the task has had. */
  public async rollbackCount(taskId: string): Promise<number> {
    return (await this.rollbackSummary(taskId)).total;
  }

  /** The rollbacks of a task (how many, how many automatic, each one oldest first) and its epoch. */
  public async rollbackSummary(taskId: string): Promise<RollbackSummary> {
    const head = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.key(taskId, TASK_HEAD_SK), ConsistentRead: true }));
    const item = head.Item ?? {};
    const log = Array.isArray(item.rollbackLog) ? (item.rollbackLog as RollbackRecord[]) : [];
    return { total: Number(item.rollbacks ?? 0), automatic: Number(item.automaticRollbacks ?? 0), log, epoch: Number(item.epoch ?? 0) };
  }

  /** Valid checkpoints from the newest down to `floor` (or the two newest), verified. */
  private async validNewestFirst(taskId: string, floor: number | undefined): Promise<Checkpoint[]> {
    const found: Checkpoint[] = [];
    for await (const item of this.newestFirst(taskId)) {
      const checkpoint = await this.verified(item);
      if (!checkpoint) continue;
      found.push(checkpoint);
      if (floor === undefined ? found.length >= 2 : checkpoint.sequence <= floor) break;
    }
    return found;
  }

  private async *newestFirst(taskId: string): AsyncGenerator<Item> {
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...this.checkpointQuery(taskId), ScanIndexForward: false, Limit: RESTORE_PAGE_SIZE, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) yield item;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** The checkpoint if it is valid, unexpired and verifies; marks it invalid if it does not verify. */
  private async verified(item: Item): Promise<Checkpoint | undefined> {
    if (item.valid === false || item.kind === 'progress' || this.isExpired(item)) return undefined;
    const taskId = String(item.taskId);
    const sequence = Number(item.sequence);
    if (item.valid !== true) {
      // Only a boolean says a checkpoint is valid ("true" as a string is not): anything else is a
      // corrupt item. Marked invalid (and its step forgotten), so that the step runs again instead
      // of its re-save colliding with the step marker that still points here.
      await this.invalidate(taskId, sequence, item.valid === undefined ? 'valid is missing' : `valid is ${JSON.stringify(item.valid)}, not a boolean`);
      return undefined;
    }
    let checkpoint: Checkpoint;
    try {
      checkpoint = decode(item);
    } catch (error) {
      await this.invalidate(taskId, sequence, `cannot decode: ${(error as Error).message}`);
      return undefined;
    }
    if (!verifyCheckpoint(checkpoint)) {
      await this.invalidate(taskId, sequence, 'checksum mismatch');
      return undefined;
    }
    try {
      JSON.parse(checkpoint.state);
    } catch {
      await this.invalidate(taskId, sequence, 'state is not JSON');
      return undefined;
    }
    return checkpoint;
  }

  private async nextSequence(input: CheckpointInput): Promise<number> {
    const fenced = input.epoch !== undefined;
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(input.taskId, TASK_HEAD_SK),
          UpdateExpression: 'ADD #sequence :one SET #expiresAt = :expiresAt',
          ...(fenced ? { ConditionExpression: '#epoch = :epoch' } : {}),
          ExpressionAttributeNames: {
            '#sequence': 'sequence',
            '#expiresAt': CHECKPOINT_TABLE.ttlAttribute,
            ...(fenced ? { '#epoch': 'epoch' } : {}),
          },
          ExpressionAttributeValues: { ':one': 1, ':expiresAt': this.expiresAt(), ...(fenced ? { ':epoch': input.epoch } : {}) },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes?.sequence);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') throw new StaleWriterError(input.taskId, input.epoch ?? 0);
      throw new CheckpointError(input.taskId, `allocating a sequence: ${(error as Error).message}`, { cause: error });
    }
  }

  private async writeCheckpoint(input: CheckpointInput, item: Item, sequence: number): Promise<void> {
    const putCheckpoint = {
      TableName: this.tableName,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#sk)',
      ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
    };
    try {
      if (!input.stepKey) {
        await this.client.send(new PutCommand(putCheckpoint));
        return;
      }
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: putCheckpoint },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...this.key(input.taskId, stepMarkerSortKey(input.stepKey)), sequence, expiresAt: item.expiresAt },
                ConditionExpression: 'attribute_not_exists(#sk)',
                ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
              },
            },
          ],
        }),
      );
    } catch (error) {
      throw new CheckpointError(input.taskId, `writing checkpoint ${sequence} after ${input.stateName}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The valid checkpoint of a step already done, or undefined. A checkpoint that no longer verifies
   * is marked invalid on the way (and its step forgotten), so the step runs again instead of
   * handing on a corrupt result.
   */
  public async findDoneStep(taskId: string, stepKey: string): Promise<Checkpoint | undefined> {
    const marker = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(taskId, stepMarkerSortKey(stepKey)), ConsistentRead: true }),
    );
    if (!marker.Item) return undefined;
    const sequence = Number(marker.Item.sequence);
    const stored = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(taskId, checkpointSortKey(sequence)), ConsistentRead: true }),
    );
    const done = stored.Item ? await this.verified(stored.Item) : undefined;
    // A marker pointing at no usable checkpoint (gone, expired, invalid) would make the step's
    // next save collide with it: forget it (conditionally: a newer save's marker stays).
    if (!done) await this.forgetStep(taskId, stepKey, sequence);
    return done;
  }

  private async forgetStep(taskId: string, stepKey: string, sequence: number): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.key(taskId, stepMarkerSortKey(stepKey)),
        ConditionExpression: 'attribute_not_exists(#sk) OR #sequence = :sequence',
        ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey, '#sequence': 'sequence' },
        ExpressionAttributeValues: { ':sequence': sequence },
      }),
    ).catch((error: unknown) => {
      // A newer save of the same step owns the marker now: leave it.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    });
  }

  private async recordRollback(taskId: string, to: number, reason: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(taskId, TASK_HEAD_SK),
        UpdateExpression: rollbackUpdate(false),
        ExpressionAttributeNames: ROLLBACK_NAMES,
        ExpressionAttributeValues: this.rollbackEntry(to, reason, false),
      }),
    );
  }

  private rollbackEntry(to: number, reason: string, automatic: boolean): Record<string, unknown> {
    const record: RollbackRecord = { to, reason, automatic, at: new Date(this.now()).toISOString() };
    return { ':one': 1, ':last': record, ':entry': [record], ':empty': [] };
  }

  private encode(taskId: string, state: string): { encoding: 'json' | 'gzip'; attributes: Item; bytes: number } {
    const overhead = 1024; // keys, checksum, timestamps and the other small attributes
    const jsonBytes = Buffer.byteLength(state);
    if (jsonBytes <= this.compressAboveBytes) return { encoding: 'json', attributes: { state }, bytes: jsonBytes + overhead };
    const compressed = gzipSync(state);
    const bytes = compressed.byteLength + overhead;
    if (bytes > this.maxItemBytes) throw new CheckpointTooLargeError(taskId, jsonBytes, compressed.byteLength, this.maxItemBytes);
    return { encoding: 'gzip', attributes: { stateGzip: compressed }, bytes };
  }

  private checkpointQuery(taskId: string) {
    return {
      TableName: this.tableName,
      // A range on the sort key, not begins_with: on DynamoDB Local a descending begins_with query
      // slows down as the partition grows (3x from 1 to 10,000 checkpoints); BETWEEN stays flat.
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
      ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey, '#sk': CHECKPOINT_TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': taskPartition(this.team, taskId), ':first': FIRST_CHECKPOINT_SK, ':last': LAST_CHECKPOINT_SK },
      ConsistentRead: true,
    };
  }

  private isExpired(item: Item): boolean {
    return Number(item[CHECKPOINT_TABLE.ttlAttribute]) <= Math.floor(this.now() / 1000);
  }

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }

  private key(taskId: string, sortKey: string): Record<string, string> {
    return taskItemKey(this.team, taskId, sortKey);
  }
}

/**
 * The input stored with a task, its checksum verified: a corrupt input is a CheckpointError (a
 * raw SyntaxError would reach `legion resume` as a stack trace).
 */
function readStoredInput(taskId: string, item: Item): unknown {
  const serialised = String(item.input);
  if (checksumOf(serialised) !== item.checksum) throw new CheckpointError(taskId, 'the stored input does not match its checksum');
  try {
    return JSON.parse(serialised) as unknown;
  } catch {
    throw new CheckpointError(taskId, 'the stored input is not JSON');
  }
}

/** Decodes a stored item; throws if its state cannot be read. */
function decode(item: Item, state: string = readState(item)): Checkpoint {
  return {
    taskId: String(item.taskId),
    sequence: Number(item.sequence),
    kind: item.kind === 'progress' ? 'progress' : 'step',
    epoch: Number(item.epoch ?? 0),
    agent: String(item.agent),
    stateName: String(item.stateName),
    stepKey: typeof item.stepKey === 'string' ? item.stepKey : undefined,
    state,
    checksum: String(item.checksum),
    valid: item.valid === true,
    invalidReason: typeof item.invalidReason === 'string' ? item.invalidReason : undefined,
    encoding: item.encoding === 'gzip' ? 'gzip' : 'json',
    storedBytes: Number(item.storedBytes ?? 0),
    durationMs: Number(item.durationMs ?? 0),
    tokens: Number(item.tokens ?? 0),
    createdAt: String(item.createdAt),
    expiresAt: Number(item.expiresAt),
  };
}

function readState(item: Item): string {
  return item.encoding === 'gzip' ? gunzipSync(toBytes(item.stateGzip)).toString('utf8') : String(item.state);
}

/** Like `decode`, for listings: an undecodable state is shown empty (its checksum will not verify). */
function decodeLenient(item: Item): Checkpoint {
  let state = '';
  try {
    state = readState(item);
  } catch {
    // left empty: verifyCheckpoint() reports the mismatch
  }
  return decode(item, state);
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new Error('gzipped state is missing or not binary');
}
