/**
 * Conformance suite of the checkpoint store, against DynamoDB Local (the real jar, started once in
 * test/global-setup.ts). Each test uses its own task ids.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CheckpointManager, verifyCheckpoint } from '../../functions/recovery/checkpoint-manager.ts';
import { CHECKPOINT_TABLE, checkpointSortKey, taskPartition } from '../../functions/core/contract.ts';
import { CheckpointError, CheckpointTooLargeError, NoValidCheckpointError, RollbackLimitExceededError, StaleWriterError } from '../../functions/core/errors.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'test-team';

const DAY_MS = 86_400_000;
const newTask = (): string => `cp-${randomUUID()}`;

describe('Class: CheckpointManager (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let manager: CheckpointManager;
  /** Requests sent, by command name: to show how much a read costs. */
  const sent = new Map<string, number>();

  beforeAll(() => {
    const raw = new DynamoDBClient({
      endpoint: inject('dynamoEndpoint'),
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.set(context.commandName ?? '?', (sent.get(context.commandName ?? '?') ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    manager = new CheckpointManager({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME });
  });
  afterAll(() => {
    client.destroy();
  });

  const save = (taskId: string, n: number, extra: Partial<Parameters<CheckpointManager['save']>[0]> = {}) =>
    manager.save({ taskId, agent: `agent-${n}`, stateName: `Step${n}`, state: { step: n }, ...extra });

  async function corrupt(taskId: string, sequence: number, field: 'state' | 'checksum'): Promise<void> {
    await client.send(
      new UpdateCommand({
        TableName: LOCAL_TABLE_NAME,
        Key: { [CHECKPOINT_TABLE.partitionKey]: taskPartition(TEST_TEAM, taskId), [CHECKPOINT_TABLE.sortKey]: checkpointSortKey(sequence) },
        UpdateExpression: 'SET #field = :value',
        ExpressionAttributeNames: { '#field': field },
        ExpressionAttributeValues: { ':value': field === 'state' ? '{"step": "tampered"}' : 'f'.repeat(64) },
      }),
    );
  }

  describe('Method: save / restore', () => {
    it('round-trips a state: restore returns exactly what was saved, checksum verified', async () => {
      const taskId = newTask();
      const state = { answer: 'Refund issued', nested: { list: [1, 2, 3], unicode: 'café ✓' } };
      const saved = await manager.save({ taskId, agent: 'billing', stateName: 'Work', state, tokens: 12, durationMs: 3.4 });
      const restored = await manager.restore(taskId);

      expect(restored?.sequence).toBe(saved.sequence);
      expect(JSON.parse(restored?.state ?? 'null')).toEqual(state);
      expect(restored && verifyCheckpoint(restored)).toBe(true);
      expect(restored).toMatchObject({ agent: 'billing', stateName: 'Work', tokens: 12, durationMs: 3, valid: true, encoding: 'json' });
    });

    it('returns undefined for a task without checkpoints', async () => {
      await expect(manager.restore(newTask())).resolves.toBeUndefined();
    });

    it('keeps tasks apart', async () => {
      const [first, second] = [newTask(), newTask()];
      await save(first, 1);
      await save(first, 2);
      await save(second, 1);

      expect((await manager.list(first)).map((c) => c.taskId)).toEqual([first, first]);
      expect((await manager.list(second)).map((c) => c.stateName)).toEqual(['Step1']);
      expect(JSON.parse((await manager.restore(second))?.state ?? 'null')).toEqual({ step: 1 });
    });

    it('numbers checkpoints in order, and parallel saves get distinct numbers', async () => {
      const taskId = newTask();
      await save(taskId, 0);
      await Promise.all(Array.from({ length: 8 }, (_, i) => save(taskId, i + 1)));
      const sequences = (await manager.list(taskId)).map((c) => c.sequence);

      expect(sequences).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await manager.restore(taskId))?.sequence).toBe(9);
    });

    it('re-saving a step with the same step key is idempotent', async () => {
      const taskId = newTask();
      const first = await save(taskId, 1, { stepKey: '1:Work#billing' });
      const again = await save(taskId, 1, { stepKey: '1:Work#billing', state: { step: 'retried' } });

      expect(again.sequence).toBe(first.sequence);
      expect(JSON.parse(again.state)).toEqual({ step: 1 });
      expect(await manager.list(taskId)).toHaveLength(1);
    });

    it('gives two concurrent runs of one step the same saved result: the first save wins, the other gets it', async () => {
      const taskId = newTask();
      const [a, b] = await Promise.all([
        save(taskId, 1, { stepKey: 'Work#billing', state: { run: 'a' } }),
        save(taskId, 1, { stepKey: 'Work#billing', state: { run: 'b' } }),
      ]);

      expect(a.sequence).toBe(b.sequence);
      expect(a.state).toBe(b.state);
      expect((await manager.list(taskId)).filter((checkpoint) => checkpoint.valid)).toHaveLength(1);
    });

    it('ignores checkpoints past expiresAt that TTL has not deleted yet', async () => {
      const taskId = newTask();
      await save(taskId, 1);
      const eightDaysLater = new CheckpointManager({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME, now: () => Date.now() + 8 * DAY_MS });

      expect(await manager.list(taskId)).toHaveLength(1);
      expect(await eightDaysLater.list(taskId)).toEqual([]);
      expect(await eightDaysLater.restore(taskId)).toBeUndefined();
    });

    it('skips a checkpoint whose state no longer matches its checksum, and marks it invalid', async () => {
      const taskId = newTask();
      await save(taskId, 1);
      await save(taskId, 2);
      await save(taskId, 3);
      await corrupt(taskId, 3, 'state');

      const restored = await manager.restore(taskId);
      const third = (await manager.list(taskId))[2];

      expect(restored?.sequence).toBe(2);
      expect(third).toMatchObject({ sequence: 3, valid: false, invalidReason: 'checksum mismatch' });
    });

    it('does not hand on a done step whose checkpoint no longer verifies: it is marked invalid and the step can run again', async () => {
      const taskId = newTask();
      await save(taskId, 1, { stepKey: 'Work#billing' });
      await corrupt(taskId, 1, 'state');

      expect(await manager.findDoneStep(taskId, 'Work#billing')).toBeUndefined();
      expect((await manager.list(taskId))[0]).toMatchObject({ valid: false, invalidReason: 'checksum mismatch' });
      const redone = await save(taskId, 1, { stepKey: 'Work#billing', state: { step: 'redone' } });
      expect(redone.sequence).toBe(2);
      expect(JSON.parse((await manager.findDoneStep(taskId, 'Work#billing'))?.state ?? 'null')).toEqual({ step: 'redone' });
    });

    it('reads a bounded number of items to restore, however long the history', async () => {
      const [short, long] = [newTask(), newTask()];
      await save(short, 1);
      for (let i = 1; i <= 60; i += 1) await save(long, i);

      sent.clear();
      await manager.restore(short);
      const shortQueries = sent.get('QueryCommand');
      sent.clear();
      const restored = await manager.restore(long);

      expect(restored?.sequence).toBe(60);
      expect(shortQueries).toBe(1);
      expect(sent.get('QueryCommand')).toBe(1);
      expect(sent.get('ScanCommand')).toBeUndefined();
    });
  });

  describe('Feature: progress checkpoints', () => {
    it('are listed, but restore and rollback skip them: an unfinished step is not a state to continue from', async () => {
      const taskId = newTask();
      await save(taskId, 1);
      await save(taskId, 2);
      await save(taskId, 3, { kind: 'progress', state: { inProgress: true } });

      expect((await manager.list(taskId)).map((c) => c.kind)).toEqual(['step', 'step', 'progress']);
      expect((await manager.restore(taskId))?.sequence).toBe(2);
      expect((await manager.rollback(taskId, { reason: 'x' })).target.sequence).toBe(1);
    });
  });

  describe('Feature: fencing', () => {
    it('refuses a takeover by an execution that started before the one owning the task (a late Begin)', async () => {
      const taskId = newTask();
      const resumedAt = '2026-11-24T10:00:05.000Z';
      const owner = await manager.begin(taskId, resumedAt);

      await expect(manager.begin(taskId, '2026-11-24T10:00:00.000Z')).rejects.toBeInstanceOf(StaleWriterError);
      await expect(save(taskId, 1, { epoch: owner })).resolves.toMatchObject({ sequence: 1 });
      expect(await manager.begin(taskId, '2026-11-24T10:01:00.000Z')).toBe(owner + 1);
    });

    it('rejects a zombie writer whose epoch was superseded, and writes nothing for it', async () => {
      const taskId = newTask();
      const oldEpoch = await manager.begin(taskId);
      await save(taskId, 1, { epoch: oldEpoch });
      const newEpoch = await manager.begin(taskId);

      await expect(save(taskId, 2, { epoch: oldEpoch })).rejects.toBeInstanceOf(StaleWriterError);
      await save(taskId, 2, { epoch: newEpoch });

      expect(newEpoch).toBe(oldEpoch + 1);
      expect((await manager.list(taskId)).map((c) => [c.sequence, c.epoch])).toEqual([
        [1, oldEpoch],
        [2, newEpoch],
      ]);
    });
  });

  describe('Feature: large state', () => {
    it('gzips a large state and restores it unchanged', async () => {
      const taskId = newTask();
      const state = { transcript: 'The customer asked about roaming charges. '.repeat(5000) };
      const saved = await manager.save({ taskId, agent: 'a', stateName: 'Work', state });
      const restored = await manager.restore(taskId);

      expect(saved.encoding).toBe('gzip');
      expect(saved.storedBytes).toBeLessThan(JSON.stringify(state).length / 10);
      expect(JSON.parse(restored?.state ?? 'null')).toEqual(state);
    });

    it('refuses a state too large even gzipped, with a clear error, and stores nothing', async () => {
      const taskId = newTask();
      await save(taskId, 1);
      const incompressible = { blob: randomBytes(450_000).toString('base64') };
      const failure = await manager.save({ taskId, agent: 'a', stateName: 'Work', state: incompressible }).catch((e: unknown) => e);

      expect(failure).toBeInstanceOf(CheckpointTooLargeError);
      expect((failure as Error).message).toMatch(/over the 380000-byte item limit/);
      expect((await manager.list(taskId)).map((c) => c.sequence)).toEqual([1]);
      expect((await save(taskId, 2)).sequence).toBe(2);
    });
  });

  describe('Method: invalidate / rollback', () => {
    it('rolls back one step by default, then to a chosen sequence, counting each rollback', async () => {
      const taskId = newTask();
      for (let i = 1; i <= 4; i += 1) await save(taskId, i);

      const first = await manager.rollback(taskId, { reason: 'step 4 broke an invariant' });
      const second = await manager.rollback(taskId, { to: 1, reason: 'operator asked' });

      expect([first.target.sequence, first.invalidated]).toEqual([3, [4]]);
      expect([second.target.sequence, second.invalidated]).toEqual([1, [3, 2]]);
      expect((await manager.restore(taskId))?.sequence).toBe(1);
      expect(await manager.rollbackCount(taskId)).toBe(2);
      const reasons = (await manager.list(taskId)).map((c) => c.invalidReason);
      expect(reasons).toEqual([undefined, 'rolled back to 1: operator asked', 'rolled back to 1: operator asked', 'rolled back to 3: step 4 broke an invariant']);
    });

    it('skips a corrupt checkpoint when choosing where to roll back to', async () => {
      const taskId = newTask();
      for (let i = 1; i <= 3; i += 1) await save(taskId, i);
      await corrupt(taskId, 2, 'checksum');

      const { target, invalidated } = await manager.rollback(taskId, { reason: 'bad output' });

      expect(target.sequence).toBe(1);
      expect(invalidated).toEqual([3]);
    });

    it('lets a rolled-back step be saved again', async () => {
      const taskId = newTask();
      await save(taskId, 1, { stepKey: '1:A' });
      await save(taskId, 2, { stepKey: '1:B' });
      await manager.rollback(taskId, { reason: 'redo B' });
      const redone = await save(taskId, 2, { stepKey: '1:B', state: { step: 'redone' } });

      expect(redone.sequence).toBe(3);
      expect(JSON.parse((await manager.restore(taskId))?.state ?? 'null')).toEqual({ step: 'redone' });
    });

    it('refuses to roll back when there is nothing valid to go back to', async () => {
      const taskId = newTask();
      await save(taskId, 1);

      await expect(manager.rollback(taskId, { reason: 'x' })).rejects.toBeInstanceOf(NoValidCheckpointError);
      await expect(manager.rollback(taskId, { to: 7, reason: 'x' })).rejects.toThrow(/checkpoint 7 is not valid/);
      expect((await manager.restore(taskId))?.sequence).toBe(1);
    });

    it('rolls back automatically to the latest valid checkpoint, counting and recording each, up to the limit', async () => {
      const taskId = newTask();
      const epoch = await manager.begin(taskId);
      await save(taskId, 1, { epoch });
      await save(taskId, 2, { epoch });

      const first = await manager.rollbackAutomatically(taskId, { reason: 'Step3: empty answer', epoch, limit: 2 });
      const second = await manager.rollbackAutomatically(taskId, { reason: 'Step3: empty answer', epoch, limit: 2 });
      const third = manager.rollbackAutomatically(taskId, { reason: 'Step3: empty answer', epoch, limit: 2 });

      expect([first.target?.sequence, first.rollbacks, second.rollbacks]).toEqual([2, 1, 2]);
      await expect(third).rejects.toBeInstanceOf(RollbackLimitExceededError);
      await expect(third).rejects.toMatchObject({ rollbacks: 2, limit: 2 });
      const summary = await manager.rollbackSummary(taskId);
      expect(summary).toMatchObject({ total: 2, automatic: 2 });
      expect(summary.log).toEqual([
        expect.objectContaining({ to: 2, automatic: true, reason: 'Step3: empty answer' }),
        expect.objectContaining({ to: 2, automatic: true, reason: 'Step3: empty answer' }),
      ]);
      expect(await manager.list(taskId)).toHaveLength(2); // nothing was invalidated
    });

    it('refuses an automatic rollback at limit 0 and from a stale execution', async () => {
      const taskId = newTask();
      const stale = await manager.begin(taskId);
      await save(taskId, 1);
      const current = await manager.begin(taskId);

      await expect(manager.rollbackAutomatically(taskId, { reason: 'x', epoch: current, limit: 0 })).rejects.toBeInstanceOf(RollbackLimitExceededError);
      await expect(manager.rollbackAutomatically(taskId, { reason: 'x', epoch: stale, limit: 5 })).rejects.toBeInstanceOf(StaleWriterError);
      expect((await manager.rollbackSummary(taskId)).automatic).toBe(0);
    });

    it('refuses to invalidate a checkpoint that does not exist', async () => {
      await expect(manager.invalidate(newTask(), 3, 'x')).rejects.toBeInstanceOf(CheckpointError);
    });
  });
});
