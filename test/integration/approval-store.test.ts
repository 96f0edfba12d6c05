/**
 * Conformance suite of the approval store (one approval per escalated task, kept in the checkpoint
 * table) against DynamoDB Local (the real jar, started once in test/global-setup.ts). No DynamoDB
 * client is mocked. Each test uses its own task id. Time is the store's `now` option: a clock each
 * test moves by hand, so requestedAt / decidedAt / the TTL / the deadline can be asserted exactly.
 * The pending-approvals index is the shared table's: other test files list approvals in it too,
 * so the assertions on it look at this file's tasks only.
 *
 * Also begin-task's `approval` (what CheckApproval reads on a resume), with a real CheckpointManager
 * and a real ApprovalStore on the same table.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type BeginTaskEvent, beginTask } from '../../functions/control/begin-task.ts';
import { APPROVAL_SK, type Approval, type ApprovalRequest, ApprovalStore, DEADLINE_DECIDER } from '../../functions/approvals/approval-store.ts';
import { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import { APPROVAL_TIMEOUT_SECONDS, CHECKPOINT_TABLE, PENDING_APPROVALS_INDEX, approvalItemKey, teamPartitionPrefix } from '../../functions/core/contract.ts';
import { ApprovalDeadlinePassedError, ApprovalNotPendingError } from '../../functions/core/errors.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'telecom-support';

/** A fixed instant in the future: retention times are then never in the past. */
const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const newTask = (): string => `approval-${randomUUID()}`;
const DAY_MS = APPROVAL_TIMEOUT_SECONDS * 1000;
/** The index attributes of a stored approval (undefined each: not in the pending-approvals index). */
const indexKeys = (approval: Approval | undefined): unknown[] => {
  const item = approval as (Approval & Record<string, unknown>) | undefined;
  return [item?.[PENDING_APPROVALS_INDEX.partitionKey], item?.[PENDING_APPROVALS_INDEX.sortKey]];
};

const ESCALATION = { Error: 'RollbackLimitExceededError', Cause: 'Task escalated: 3 automatic rollbacks reached the limit of 3' };
const requestWith = (overrides: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  taskToken: `token-${randomUUID()}`,
  escalation: ESCALATION,
  team: 'telecom-support',
  pattern: 'supervisor-worker',
  ...overrides,
});

describe('Class: ApprovalStore (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  /** A store for one test, with its own clock (starting at T0) and task. */
  function fixture() {
    const clock = { ms: T0 };
    const store = new ApprovalStore({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
    return { clock, store, taskId: newTask() };
  }

  describe('Method: request', () => {
    it('stores a PENDING approval with the escalation, team, pattern, token and requestedAt, and returns it', async () => {
      const { store, taskId } = fixture();
      const request = requestWith();

      const returned = await store.request(taskId, request);
      const stored = await store.get(taskId);

      const expected = {
        taskId,
        status: 'PENDING',
        escalation: ESCALATION,
        team: 'telecom-support',
        pattern: 'supervisor-worker',
        taskToken: request.taskToken,
        requestedAt: iso(T0),
      };
      expect(returned).toMatchObject(expected);
      expect(stored).toMatchObject(expected);
      // Nothing of a decision yet.
      expect(stored).not.toHaveProperty('decidedAt');
      expect(stored).not.toHaveProperty('decidedBy');
    });

    it('keeps the approval outside the team\'s prefix (its callback token is for control functions only), expiring after the retention period', async () => {
      const { store, taskId } = fixture();
      const stored = (await store.request(taskId, requestWith())) as Approval & Record<string, unknown>;

      expect(stored[CHECKPOINT_TABLE.partitionKey]).toBe(approvalItemKey(TEST_TEAM, taskId)[CHECKPOINT_TABLE.partitionKey]);
      expect(String(stored[CHECKPOINT_TABLE.partitionKey]).startsWith(teamPartitionPrefix(TEST_TEAM))).toBe(false);
      expect(stored[CHECKPOINT_TABLE.sortKey]).toBe(APPROVAL_SK);
      expect(stored[CHECKPOINT_TABLE.ttlAttribute]).toBe(Math.floor(T0 / 1000) + CHECKPOINT_TABLE.retentionDays * 86_400);
    });

    it('stores an escalation without a Cause', async () => {
      const { store, taskId } = fixture();
      await store.request(taskId, requestWith({ escalation: { Error: 'NoValidBidsError' } }));
      expect((await store.get(taskId))?.escalation).toEqual({ Error: 'NoValidBidsError' });
    });

    it('a second request keeps the status, escalation and requestedAt, but replaces the token', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith({ taskToken: 'token-first' }));

      clock.ms = T0 + 60_000;
      const second = await store.request(taskId, requestWith({ taskToken: 'token-second', escalation: { Error: 'AwardsExhaustedError', Cause: 'another reason' } }));

      expect(second).toMatchObject({ status: 'PENDING', escalation: ESCALATION, requestedAt: iso(T0), taskToken: 'token-second' });
      expect(await store.get(taskId)).toMatchObject({ status: 'PENDING', escalation: ESCALATION, requestedAt: iso(T0), taskToken: 'token-second' });
    });

    it('a request after a decision keeps the decision and replaces the token', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith({ taskToken: 'token-first' }));
      clock.ms = T0 + 1000;
      await store.decide(taskId, { decision: 'APPROVED', output: { answer: 'refund issued' }, by: 'ops@example.com' });

      clock.ms = T0 + 2000;
      const again = await store.request(taskId, requestWith({ taskToken: 'token-resume' }));

      const expected = {
        status: 'APPROVED',
        output: { answer: 'refund issued' },
        decidedBy: 'ops@example.com',
        decidedAt: iso(T0 + 1000),
        requestedAt: iso(T0),
        escalation: ESCALATION,
        taskToken: 'token-resume',
      };
      expect(again).toMatchObject(expected);
      expect(await store.get(taskId)).toMatchObject(expected);
    });
  });

  describe('Method: decide', () => {
    it('APPROVED records the output, who decided and when', async () => {
      const { clock, store, taskId } = fixture();
      const request = requestWith();
      await store.request(taskId, request);

      clock.ms = T0 + 5000;
      const decided = await store.decide(taskId, { decision: 'APPROVED', output: { answer: 'refund issued', amount: 12.5 }, by: 'ops@example.com' });

      const expected = {
        taskId,
        status: 'APPROVED',
        output: { answer: 'refund issued', amount: 12.5 },
        decidedBy: 'ops@example.com',
        decidedAt: iso(T0 + 5000),
        requestedAt: iso(T0),
        escalation: ESCALATION,
        taskToken: request.taskToken,
      };
      expect(decided).toMatchObject(expected);
      expect(await store.get(taskId)).toMatchObject(expected);
    });

    it('APPROVED without an output records output null (and decidedBy "unknown" without a name)', async () => {
      const { store, taskId } = fixture();
      await store.request(taskId, requestWith());

      const decided = await store.decide(taskId, { decision: 'APPROVED' });

      expect(decided.output).toBeNull();
      expect(decided.decidedBy).toBe('unknown');
      expect((await store.get(taskId))?.output).toBeNull();
    });

    it('REJECTED records the reason, who decided and when', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());

      clock.ms = T0 + 7000;
      const decided = await store.decide(taskId, { decision: 'REJECTED', reason: 'customer withdrew the request', by: 'lead@example.com' });

      const expected = { status: 'REJECTED', reason: 'customer withdrew the request', decidedBy: 'lead@example.com', decidedAt: iso(T0 + 7000) };
      expect(decided).toMatchObject(expected);
      expect(await store.get(taskId)).toMatchObject(expected);
    });

    it.each([
      ['APPROVED', 'approved'],
      ['REJECTED', 'rejected'],
    ] as const)('deciding a task %s already throws ApprovalNotPendingError naming the status, and the first decision stands', async (first, word) => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      clock.ms = T0 + 1000;
      await store.decide(taskId, { decision: first, output: 'first', reason: 'first', by: 'first' });

      clock.ms = T0 + 2000;
      const second = store.decide(taskId, { decision: first === 'APPROVED' ? 'REJECTED' : 'APPROVED', output: 'second', reason: 'second', by: 'second' });

      await expect(second).rejects.toThrow(ApprovalNotPendingError);
      await expect(second).rejects.toMatchObject({ taskId, status: first, message: `Task ${taskId} was ${word} already` });
      expect(await store.get(taskId)).toMatchObject({ status: first, decidedBy: 'first', decidedAt: iso(T0 + 1000) });
    });

    it('a decision just before the deadline is recorded, and leaves the index', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      clock.ms = T0 + DAY_MS - 1;

      const decided = await store.decide(taskId, { decision: 'APPROVED', by: 'ops' });

      expect(decided.status).toBe('APPROVED');
      expect(indexKeys(decided)).toEqual([undefined, undefined]);
    });

    it('a decision past the deadline comes too late: the deadline is recorded (TIMED_OUT) and ApprovalDeadlinePassedError says so', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      clock.ms = T0 + DAY_MS + 5000;

      const late = store.decide(taskId, { decision: 'APPROVED', output: 'too late', by: 'ops' });

      await expect(late).rejects.toThrow(ApprovalDeadlinePassedError);
      await expect(late).rejects.toBeInstanceOf(ApprovalNotPendingError);
      await expect(late).rejects.toMatchObject({
        taskId,
        status: 'TIMED_OUT',
        message: `Task ${taskId} timed out waiting for a decision: it waited since ${iso(T0)}, and its deadline was ${iso(T0 + DAY_MS)}`,
      });
      expect(await store.get(taskId)).toMatchObject({ status: 'TIMED_OUT', decidedBy: DEADLINE_DECIDER, decidedAt: iso(T0 + DAY_MS + 5000) });
      // A second attempt is refused the same way, and changes nothing.
      await expect(store.decide(taskId, { decision: 'REJECTED', reason: 'no' })).rejects.toThrow(ApprovalDeadlinePassedError);
      expect((await store.get(taskId))?.decidedAt).toBe(iso(T0 + DAY_MS + 5000));
    });

    it('deciding a task that never escalated throws ApprovalNotPendingError (status undefined, "never escalated") and stores nothing', async () => {
      const { store, taskId } = fixture();

      const decision = store.decide(taskId, { decision: 'APPROVED', output: 'x', by: 'ops' });

      await expect(decision).rejects.toThrow(ApprovalNotPendingError);
      await expect(decision).rejects.toThrow(/never escalated/);
      await expect(decision).rejects.toMatchObject({ taskId, status: undefined });
      expect(await store.get(taskId)).toBeUndefined();
    });

    it('concurrent APPROVED and REJECTED: exactly one wins, the other throws ApprovalNotPendingError naming the winner', async () => {
      for (let round = 0; round < 5; round += 1) {
        const { store, taskId } = fixture();
        await store.request(taskId, requestWith());

        const results = await Promise.allSettled([
          store.decide(taskId, { decision: 'APPROVED', output: 'ok', by: 'approver' }),
          store.decide(taskId, { decision: 'REJECTED', reason: 'no', by: 'rejecter' }),
        ]);

        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result) => result.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        const winner = won[0]?.value.status;
        expect(lost[0]?.reason).toBeInstanceOf(ApprovalNotPendingError);
        expect(lost[0]?.reason).toMatchObject({ status: winner });
        const stored = await store.get(taskId);
        expect(stored?.status).toBe(winner);
        expect(stored?.decidedBy).toBe(winner === 'APPROVED' ? 'approver' : 'rejecter');
      }
    });
  });

  describe('Method: listPending (the sparse pending-approvals index)', () => {
    const pendingOf = async (store: ApprovalStore, taskIds: string[]) => (await store.listPending()).filter((pending) => taskIds.includes(pending.taskId));

    it('lists a PENDING approval with its current token and first requestedAt (its item carries the index keys)', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith({ taskToken: 'token-first' }));
      clock.ms = T0 + 60_000;
      const again = await store.request(taskId, requestWith({ taskToken: 'token-second' }));

      expect(await pendingOf(store, [taskId])).toEqual([{ team: TEST_TEAM, taskId, taskToken: 'token-second', requestedAt: iso(T0) }]);
      expect(indexKeys(again)).toEqual([PENDING_APPROVALS_INDEX.partitionValue, iso(T0)]);
    });

    it.each(['APPROVED', 'REJECTED'] as const)('drops an approval once %s, and a later request (a resume) does not list it again', async (decision) => {
      const { store, taskId } = fixture();
      await store.request(taskId, requestWith());

      const decided = await store.decide(taskId, { decision, by: 'ops' });
      const resumed = await store.request(taskId, requestWith({ taskToken: 'token-resumed' }));

      expect(indexKeys(decided)).toEqual([undefined, undefined]);
      expect(indexKeys(resumed)).toEqual([undefined, undefined]);
      expect(resumed).toMatchObject({ status: decision, taskToken: 'token-resumed' });
      expect(await pendingOf(store, [taskId])).toEqual([]);
    });

    it('skips a pending approval stored before keys carried the team (no team: its key cannot be built)', async () => {
      const { store } = fixture();
      const legacy = newTask();
      await client.send(
        new PutCommand({
          TableName: LOCAL_TABLE_NAME,
          Item: { pk: `TASK#${legacy}`, sk: APPROVAL_SK, taskId: legacy, taskToken: 'old', status: 'PENDING', [PENDING_APPROVALS_INDEX.partitionKey]: PENDING_APPROVALS_INDEX.partitionValue, [PENDING_APPROVALS_INDEX.sortKey]: iso(T0) },
        }),
      );

      expect(await pendingOf(store, [legacy])).toEqual([]);
    });

    it('lists the oldest first', async () => {
      const { clock, store } = fixture();
      const [older, newer] = [newTask(), newTask()];
      clock.ms = T0 - 2000;
      await store.request(newer, requestWith());
      clock.ms = T0 - 3000;
      await store.request(older, requestWith());

      expect((await pendingOf(store, [older, newer])).map((pending) => pending.taskId)).toEqual([older, newer]);
    });
  });

  describe('Method: timeOut (the task deadline)', () => {
    it('before the deadline: records nothing, returns undefined, the approval stays PENDING and listed', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      clock.ms = T0 + DAY_MS - 1;

      await expect(store.timeOut(taskId)).resolves.toBeUndefined();

      expect(store.isPastDeadline(iso(T0))).toBe(false);
      expect(await store.get(taskId)).toMatchObject({ status: 'PENDING', [PENDING_APPROVALS_INDEX.partitionKey]: PENDING_APPROVALS_INDEX.partitionValue });
    });

    it('at the deadline: records TIMED_OUT, decided by the deadline, and drops it from the index', async () => {
      const { clock, store, taskId } = fixture();
      const request = requestWith();
      await store.request(taskId, request);
      clock.ms = T0 + DAY_MS;

      const timedOut = await store.timeOut(taskId);

      expect(store.isPastDeadline(iso(T0))).toBe(true);
      const expected = { taskId, status: 'TIMED_OUT', decidedBy: DEADLINE_DECIDER, decidedAt: iso(T0 + DAY_MS), requestedAt: iso(T0), taskToken: request.taskToken, escalation: ESCALATION };
      expect(timedOut).toMatchObject(expected);
      expect(timedOut?.reason).toMatch(/no human decision/);
      expect(await store.get(taskId)).toMatchObject(expected);
      expect(indexKeys(await store.get(taskId))).toEqual([undefined, undefined]);
    });

    it('a request renewed by a resume does not move the deadline', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      clock.ms = T0 + DAY_MS - 1000;
      await store.request(taskId, requestWith({ taskToken: 'token-resumed' }));
      clock.ms = T0 + DAY_MS;

      expect(await store.timeOut(taskId)).toMatchObject({ status: 'TIMED_OUT', taskToken: 'token-resumed', requestedAt: iso(T0) });
    });

    it('leaves a decision recorded first, and returns undefined (also for a task that never escalated)', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      await store.decide(taskId, { decision: 'REJECTED', reason: 'in time', by: 'lead' });
      clock.ms = T0 + 2 * DAY_MS;

      await expect(store.timeOut(taskId)).resolves.toBeUndefined();
      await expect(store.timeOut(newTask())).resolves.toBeUndefined();
      expect(await store.get(taskId)).toMatchObject({ status: 'REJECTED', decidedBy: 'lead' });
    });

    it('a request after the deadline was recorded keeps TIMED_OUT and replaces the token', async () => {
      const { clock, store, taskId } = fixture();
      await store.request(taskId, requestWith());
      clock.ms = T0 + DAY_MS;
      await store.timeOut(taskId);

      expect(await store.request(taskId, requestWith({ taskToken: 'token-resumed' }))).toMatchObject({ status: 'TIMED_OUT', taskToken: 'token-resumed', requestedAt: iso(T0) });
    });

    it('concurrent timeOut and a human decision just past the deadline: the deadline wins, once', async () => {
      for (let round = 0; round < 5; round += 1) {
        const { clock, store, taskId } = fixture();
        await store.request(taskId, requestWith());
        clock.ms = T0 + DAY_MS;

        const [timedOut, decision] = await Promise.allSettled([store.timeOut(taskId), store.decide(taskId, { decision: 'APPROVED', by: 'late' })]);

        expect(decision.status).toBe('rejected');
        expect(decision.status === 'rejected' ? decision.reason : undefined).toBeInstanceOf(ApprovalDeadlinePassedError);
        expect(timedOut.status).toBe('fulfilled');
        expect((await store.get(taskId))?.status).toBe('TIMED_OUT');
      }
    });
  });

  describe('Method: get', () => {
    it('returns undefined for a task that never escalated', async () => {
      const { store } = fixture();
      await expect(store.get(newTask())).resolves.toBeUndefined();
    });

    it('keeps tasks apart', async () => {
      const { store } = fixture();
      const [first, second] = [newTask(), newTask()];
      await store.request(first, requestWith({ taskToken: 'token-a' }));
      await store.request(second, requestWith({ taskToken: 'token-b' }));
      await store.decide(first, { decision: 'REJECTED', reason: 'no' });

      expect(await store.get(first)).toMatchObject({ taskId: first, status: 'REJECTED', taskToken: 'token-a' });
      expect(await store.get(second)).toMatchObject({ taskId: second, status: 'PENDING', taskToken: 'token-b' });
    });
  });
});

describe('Function: beginTask (approval of a resumed task; DynamoDB Local)', () => {
  let checkpoints: CheckpointManager;
  let approvals: ApprovalStore;
  let storeClient: DynamoDBDocumentClient;

  onDynamoDbLocal((client) => {
    storeClient = client;
    checkpoints = new CheckpointManager({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME });
    approvals = new ApprovalStore({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME });
  });

  function deps() {
    const logger = new Logger({ serviceName: 'legion-begin-task' });
    const metrics = new Metrics({ namespace: 'Legion', serviceName: 'legion-begin-task' });
    new TelemetrySink().attach(logger, metrics);
    return { checkpoints, approvals, logger, metrics };
  }

  const beginEvent = (executionName: string, input: unknown): BeginTaskEvent => ({
    step: 'begin',
    stateName: 'Begin',
    team: 'telecom-support',
    pattern: 'supervisor-worker',
    executionName,
    input,
  });
  const start = (taskId: string) => beginTask(beginEvent(taskId, { request: 'My bill is wrong' }), deps());
  const resume = (taskId: string) => beginTask(beginEvent(`${taskId}-resume`, { resume: { taskId } }), deps());

  it('a new task has approval NONE', async () => {
    const result = await start(newTask());
    expect(result.resumed).toBe(false);
    expect(result.approval).toEqual({ status: 'NONE', escalation: { Error: '', Cause: '' } });
  });

  it('a resumed task that never escalated has approval NONE', async () => {
    const taskId = newTask();
    await start(taskId);

    const result = await resume(taskId);

    expect(result).toMatchObject({ taskId, resumed: true, input: { request: 'My bill is wrong' } });
    expect(result.approval).toEqual({ status: 'NONE', escalation: { Error: '', Cause: '' } });
  });

  it('a resumed task with a PENDING approval gets PENDING and its escalation', async () => {
    const taskId = newTask();
    await start(taskId);
    await approvals.request(taskId, requestWith());

    const result = await resume(taskId);

    expect(result.resumed).toBe(true);
    expect(result.approval).toEqual({ status: 'PENDING', escalation: ESCALATION });
  });

  it('a resumed task with an APPROVED approval gets APPROVED and its escalation', async () => {
    const taskId = newTask();
    await start(taskId);
    await approvals.request(taskId, requestWith());
    await approvals.decide(taskId, { decision: 'APPROVED', output: { answer: 'done by hand' }, by: 'ops' });

    const result = await resume(taskId);

    expect(result.approval).toEqual({ status: 'APPROVED', escalation: ESCALATION });
  });

  it('a resumed task with a REJECTED approval gets REJECTED', async () => {
    const taskId = newTask();
    await start(taskId);
    await approvals.request(taskId, requestWith());
    await approvals.decide(taskId, { decision: 'REJECTED', reason: 'no' });

    expect((await resume(taskId)).approval.status).toBe('REJECTED');
  });

  it('a resumed task whose approval timed out gets TIMED_OUT (CheckApproval sends it back to Escalate, which ends it timed out)', async () => {
    const taskId = newTask();
    await start(taskId);
    const clock = { ms: Date.now() - 2 * DAY_MS };
    const store = new ApprovalStore({ team: TEST_TEAM, client: storeClient, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
    await store.request(taskId, requestWith());
    clock.ms = Date.now();
    await store.timeOut(taskId);

    expect((await resume(taskId)).approval).toEqual({ status: 'TIMED_OUT', escalation: ESCALATION });
  });

  it('an escalation without a Cause is given as Cause ""', async () => {
    const taskId = newTask();
    await start(taskId);
    await approvals.request(taskId, requestWith({ escalation: { Error: 'NoValidBidsError' } }));

    expect((await resume(taskId)).approval).toEqual({ status: 'PENDING', escalation: { Error: 'NoValidBidsError', Cause: '' } });
  });
});
