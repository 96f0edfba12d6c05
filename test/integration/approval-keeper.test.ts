/**
 * The approval keeper (functions/control/approval-keeper.ts): heartbeats of waiting executions and
 * the task deadline. Step Functions cannot run here (no AWS), so its client is a small
 * hand-written fake implementing `send` that records SendTaskHeartbeat / SendTaskFailure and
 * refuses the tokens it is told to with the SDK's own exception classes. The approvals are a real
 * ApprovalStore on DynamoDB Local (started once in test/global-setup.ts), on a checkpoint table of
 * this file's own, made by the same code as the local runtime's (the keeper reads every pending
 * approval of its table, and other test files leave theirs in the shared one). Time is the store's
 * `now`: a clock each test moves by hand.
 *
 * Also LocalTaskTokens' SendTaskHeartbeat (what the keeper sends in the local runtime), and the
 * pending-approvals index of DynamoDB Local's table against the contract.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { type TaskHeartbeatClient, createApprovalKeeperHandler, keepApprovals } from '../../functions/control/approval-keeper.ts';
import { type ApprovalRequest, ApprovalStore, approvalDeadline } from '../../functions/approvals/approval-store.ts';
import { APPROVAL_TIMEOUT_SECONDS, CHECKPOINT_TABLE, METRICS, PENDING_APPROVALS_INDEX } from '../../functions/core/contract.ts';
import { ApprovalKeeperError, EscalationTimedOutError, InvalidEventError } from '../../functions/core/errors.ts';
import { DynamoDbLocal, LOCAL_TABLE_NAME, ensureCheckpointTable } from '../../local/dynamodb-local.ts';
import { LocalTaskTokens } from '../../local/local-task-tokens.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'telecom-support';

const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const DAY_MS = APPROVAL_TIMEOUT_SECONDS * 1000;
const iso = (ms: number): string => new Date(ms).toISOString();
const context = { functionName: 'legion-approval-keeper', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const SCHEDULED_EVENT = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

const requestWith = (taskToken: string): ApprovalRequest => ({
  taskToken,
  escalation: { Error: 'RollbackLimitExceededError', Cause: 'Task escalated: 3 automatic rollbacks reached the limit of 3' },
  team: 'telecom-support',
  pattern: 'supervisor-worker',
});

type Sent = SendTaskHeartbeatCommand | SendTaskFailureCommand;

/** Step Functions' callback API: records what was sent; a token in `refuse` gets that error instead. */
class FakeStepFunctions implements TaskHeartbeatClient {
  public readonly sent: Sent[] = [];
  public readonly refuse = new Map<string, Error>();

  public send(command: Sent): Promise<unknown> {
    const refused = this.refuse.get(command.input.taskToken ?? '');
    if (refused) return Promise.reject(refused);
    this.sent.push(command);
    return Promise.resolve({});
  }

  public heartbeats(): string[] {
    return this.sent.filter((command) => command instanceof SendTaskHeartbeatCommand).map((command) => command.input.taskToken ?? '');
  }

  public failures(): SendTaskFailureCommand['input'][] {
    return this.sent.filter((command) => command instanceof SendTaskFailureCommand).map((command) => command.input);
  }
}

const gone = {
  TaskTimedOut: () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }),
  TaskDoesNotExist: () => new TaskDoesNotExist({ message: 'Task does not exist anymore', $metadata: {} }),
  InvalidToken: () => new InvalidToken({ message: 'Invalid token', $metadata: {} }),
};

describe('Function: approval-keeper (DynamoDB Local)', () => {
  const tableName = `keeper-${randomUUID()}`;
  let raw: DynamoDBClient;
  let client: DynamoDBDocumentClient;
  let clock: { ms: number };
  let approvals: ApprovalStore;
  let sfn: FakeStepFunctions;
  let telemetry: TelemetrySink;
  let deps: Parameters<typeof keepApprovals>[0];
  let handler: ReturnType<typeof createApprovalKeeperHandler>;

  beforeAll(async () => {
    raw = new DynamoDBClient({ endpoint: inject('dynamoEndpoint'), region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    await ensureCheckpointTable(raw, tableName);
  });
  afterAll(async () => {
    await raw.send(new DeleteTableCommand({ TableName: tableName }));
    raw.destroy();
  });

  beforeEach(() => {
    clock = { ms: T0 };
    approvals = new ApprovalStore({ team: TEST_TEAM, client, tableName, now: () => clock.ms });
    sfn = new FakeStepFunctions();
    telemetry = new TelemetrySink();
    const logger = new Logger({ serviceName: 'legion-approval-keeper' });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-approval-keeper' });
    telemetry.attach(logger, metrics);
    deps = { approvals, callbacks: sfn, logger, metrics, now: () => clock.ms };
    handler = createApprovalKeeperHandler(deps);
  });
  // Each test starts from an empty index: everything a test leaves pending is decided afterwards.
  afterEach(async () => {
    for (const pending of await approvals.listPending()) await approvals.decide(pending.taskId, { decision: 'REJECTED', reason: 'test over' }).catch(() => undefined);
  });

  /** A task that escalated at `at` with `token` (the clock is left at `at`). */
  async function escalated(token: string, at = clock.ms): Promise<string> {
    const taskId = `keeper-${randomUUID()}`;
    clock.ms = at;
    await approvals.request(taskId, requestWith(token));
    return taskId;
  }

  describe('Feature: the age of the oldest wait (ApprovalWaitAge alarm)', () => {
    it('reports the oldest pending approval\'s wait in seconds on every sweep, and 0 when none waits', async () => {
      await handler(SCHEDULED_EVENT, context);
      await escalated('token-old', T0);
      const decided = await escalated('token-decided', T0 - 7_200_000);
      await approvals.decide(decided, { decision: 'APPROVED', by: 'ops' });
      await escalated('token-new', T0 + 60_000);
      clock.ms = T0 + 3_600_000 + 999;

      await handler(SCHEDULED_EVENT, context);

      expect(telemetry.metricValues(METRICS.oldestPendingApprovalSeconds)).toEqual([0, 3600]);
    });
  });

  describe('Feature: heartbeats', () => {
    it('sends one SendTaskHeartbeat per pending approval, on its stored token, and nothing for decided ones', async () => {
      const [first, second, decided] = [await escalated('token-a'), await escalated('token-b'), await escalated('token-c')];
      await approvals.decide(decided, { decision: 'APPROVED', by: 'ops' });

      const sweep = await handler(SCHEDULED_EVENT, context);

      expect(sfn.heartbeats().sort()).toEqual(['token-a', 'token-b']);
      expect(sfn.failures()).toEqual([]);
      expect(sweep).toEqual({ pending: 2, heartbeatsSent: expect.arrayContaining([first, second]) as unknown, heartbeatsFailed: [], timedOut: [] });
      expect(sweep.heartbeatsSent).toHaveLength(2);
      expect(telemetry.metricValues(METRICS.approvalHeartbeatsSent)).toEqual([2]);
      expect(telemetry.metricValues(METRICS.approvalHeartbeatsFailed)).toEqual([0]);
      expect(telemetry.metricValues(METRICS.approvalsTimedOut)).toEqual([0]);
    });

    it('heartbeats the token of the latest execution to ask (a resume replaced it)', async () => {
      const taskId = await escalated('token-old');
      await approvals.request(taskId, requestWith('token-resumed'));

      await handler(SCHEDULED_EVENT, context);

      expect(sfn.heartbeats()).toEqual(['token-resumed']);
    });

    it('with nothing pending, sends nothing and counts zeros', async () => {
      await expect(handler(SCHEDULED_EVENT, context)).resolves.toEqual({ pending: 0, heartbeatsSent: [], heartbeatsFailed: [], timedOut: [] });
      expect(sfn.sent).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalHeartbeatsSent)).toEqual([0]);
    });

    it.each(Object.keys(gone) as (keyof typeof gone)[])('counts a heartbeat refused with %s (the execution is gone) as failed, and goes on with the others', async (name) => {
      const goneTask = await escalated('token-gone');
      const live = await escalated('token-live');
      sfn.refuse.set('token-gone', gone[name]());

      const sweep = await handler(SCHEDULED_EVENT, context);

      expect(sweep).toMatchObject({ pending: 2, heartbeatsSent: [live], heartbeatsFailed: [goneTask], timedOut: [] });
      expect(sfn.heartbeats()).toEqual(['token-live']);
      expect(telemetry.metricValues(METRICS.approvalHeartbeatsFailed)).toEqual([1]);
      // Still pending: a human may still decide, and the deadline still applies.
      expect((await approvals.get(goneTask))?.status).toBe('PENDING');
    });

    it('goes on with the others after an unexpected failure (throttling), then fails naming the task, with the counts emitted', async () => {
      const throttled = await escalated('token-throttled');
      await escalated('token-live');
      // What the SDK throws for a throttled call: a service error named after its code.
      sfn.refuse.set('token-throttled', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

      const call = handler(SCHEDULED_EVENT, context);

      await expect(call).rejects.toThrow(ApprovalKeeperError);
      await expect(call).rejects.toThrow(new RegExp(`heartbeat of task ${throttled}: ThrottlingException`));
      expect(sfn.heartbeats()).toEqual(['token-live']);
      expect(telemetry.metricValues(METRICS.approvalHeartbeatsSent)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.approvalHeartbeatsFailed)).toEqual([1]);
    });

    it('looks after many approvals at once, at most `concurrency` at a time', async () => {
      const tokens = Array.from({ length: 12 }, (_, index) => `token-${String(index)}`);
      for (const token of tokens) await escalated(token);
      let running = 0;
      let most = 0;
      const slow: TaskHeartbeatClient = {
        send: async (command) => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running -= 1;
          return sfn.send(command);
        },
      };

      const sweep = await keepApprovals({ ...deps, callbacks: slow, concurrency: 4 });

      expect(sweep.heartbeatsSent).toHaveLength(12);
      expect(sfn.heartbeats().sort()).toEqual([...tokens].sort());
      expect(most).toBe(4);
    });
  });

  describe('Feature: task deadline', () => {
    it('records an approval past its deadline TIMED_OUT and fails its execution with EscalationTimedOutError naming the task and since when', async () => {
      const taskId = await escalated('token-late', T0);
      const live = await escalated('token-live', T0 + 60_000);
      clock.ms = T0 + DAY_MS + 1000;

      const sweep = await handler(SCHEDULED_EVENT, context);

      expect(sweep).toEqual({ pending: 2, heartbeatsSent: [live], heartbeatsFailed: [], timedOut: [taskId] });
      expect(sfn.heartbeats()).toEqual(['token-live']);
      const expected = new EscalationTimedOutError(taskId, iso(T0), iso(T0 + DAY_MS));
      expect(sfn.failures()).toEqual([{ taskToken: 'token-late', error: 'EscalationTimedOutError', cause: expected.message }]);
      expect(expected.message).toContain(taskId);
      expect(expected.message).toContain(iso(T0));
      expect(await approvals.get(taskId)).toMatchObject({ status: 'TIMED_OUT', decidedBy: 'deadline', decidedAt: iso(T0 + DAY_MS + 1000), requestedAt: iso(T0) });
      expect((await approvals.listPending()).map((pending) => pending.taskId)).toEqual([live]);
      expect(telemetry.metricValues(METRICS.approvalsTimedOut)).toEqual([1]);
    });

    it('counts the deadline from the first request: a resume a little before it does not move it', async () => {
      const taskId = await escalated('token-first', T0);
      clock.ms = T0 + DAY_MS - 60_000;
      await approvals.request(taskId, requestWith('token-resumed'));

      clock.ms = T0 + DAY_MS - 1;
      await handler(SCHEDULED_EVENT, context);
      clock.ms = T0 + DAY_MS;
      const sweep = await handler(SCHEDULED_EVENT, context);

      expect(sfn.heartbeats()).toEqual(['token-resumed']);
      expect(sweep.timedOut).toEqual([taskId]);
      expect(sfn.failures()).toEqual([expect.objectContaining({ taskToken: 'token-resumed', error: 'EscalationTimedOutError' })]);
    });

    it('records the deadline even when the execution is gone (a later resume of the task then ends timed out at once)', async () => {
      const taskId = await escalated('token-gone', T0);
      sfn.refuse.set('token-gone', gone.TaskDoesNotExist());
      clock.ms = T0 + DAY_MS + 1;

      await expect(handler(SCHEDULED_EVENT, context)).resolves.toMatchObject({ timedOut: [taskId], heartbeatsFailed: [] });

      expect((await approvals.get(taskId))?.status).toBe('TIMED_OUT');
    });

    it('leaves a decision that came after the listing and before the deadline was recorded (the first decision stands)', async () => {
      const taskId = await escalated('token-raced', T0);
      const stale = await approvals.listPending();
      clock.ms = T0 + DAY_MS - 1;
      await approvals.decide(taskId, { decision: 'APPROVED', by: 'ops' });
      clock.ms = T0 + DAY_MS + 1;

      const sweep = await keepApprovals({ ...deps, approvals: { listPending: () => Promise.resolve(stale), forTeam: (team) => approvals.forTeam(team), isPastDeadline: (at) => approvals.isPastDeadline(at) } });

      expect(sweep.timedOut).toEqual([]);
      expect(sfn.sent).toEqual([]);
      expect((await approvals.get(taskId))?.status).toBe('APPROVED');
    });
  });

  describe('Feature: reading the index', () => {
    it('finds pending approvals with a Query of the pending-approvals index, never a Scan', async () => {
      await escalated('token-a');
      const commands: { name: string; input: Record<string, unknown> }[] = [];
      const spying = new Proxy(client, {
        get: (target, property, receiver) => {
          if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
          return (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
            commands.push({ name: command.constructor.name, input: command.input });
            return target.send(command as never);
          };
        },
      });
      const store = new ApprovalStore({ team: TEST_TEAM, client: spying, tableName, now: () => clock.ms });

      await keepApprovals({ ...deps, approvals: store });

      expect(commands.map((command) => command.name)).toEqual(['QueryCommand']);
      expect(commands[0]?.input).toMatchObject({ TableName: tableName, IndexName: PENDING_APPROVALS_INDEX.indexName });
    });

    it('refuses an event that is not an object with InvalidEventError, and sends nothing', async () => {
      await escalated('token-a');
      await expect(handler('not an event', context)).rejects.toThrow(InvalidEventError);
      expect(sfn.sent).toEqual([]);
    });
  });
});

describe('Function: ensureCheckpointTable (DynamoDB Local)', () => {
  let db: DynamoDbLocal;
  let raw: DynamoDBClient;

  // A DynamoDB Local of its own: the test run's one serves CLI children that create their tables
  // meanwhile, and DynamoDB Local can then leave an index added by UpdateTable CREATING for good.
  beforeAll(async () => {
    db = await DynamoDbLocal.start();
    raw = db.client;
  });
  afterAll(async () => {
    await db.stop();
  });

  const indexOf = async (tableName: string) =>
    (await raw.send(new DescribeTableCommand({ TableName: tableName }))).Table?.GlobalSecondaryIndexes?.find((index) => index.IndexName === PENDING_APPROVALS_INDEX.indexName);

  it("gives the runtime's table the pending-approvals index of the contract (as the CheckpointTable construct deploys it)", async () => {
    const index = await indexOf(LOCAL_TABLE_NAME);
    expect(index).toMatchObject({
      IndexStatus: 'ACTIVE',
      KeySchema: [
        { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, KeyType: 'HASH' },
        { AttributeName: PENDING_APPROVALS_INDEX.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...PENDING_APPROVALS_INDEX.projectedAttributes] },
    });
  });

  it('adds the index to a table made before it existed (an older data folder), keeping its items', async () => {
    const tableName = `old-${randomUUID()}`;
    await raw.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: CHECKPOINT_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: CHECKPOINT_TABLE.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: CHECKPOINT_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: CHECKPOINT_TABLE.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
    const store = new ApprovalStore({ team: TEST_TEAM, client: DynamoDBDocumentClient.from(raw), tableName });
    await store.request('t-old', requestWith('token-old'));

    await ensureCheckpointTable(raw, tableName);

    expect((await indexOf(tableName))?.IndexStatus).toBe('ACTIVE');
    expect((await store.get('t-old'))?.taskToken).toBe('token-old');
    await store.request('t-new', requestWith('token-new'));
    expect((await store.listPending()).map((pending) => pending.taskId)).toEqual(['t-old', 't-new']);
  });
});

describe('Function: keepApprovals (with LocalTaskTokens)', () => {
  describe('a heartbeat to the local runtime\'s tokens', () => {
    let tokens: LocalTaskTokens;

    beforeEach(() => {
      vi.useFakeTimers();
      tokens = new LocalTaskTokens();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('is what the keeper finds a gone execution by: counted as failed, not thrown', async () => {
      const logger = new Logger({ serviceName: 'legion-approval-keeper' });
      const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-approval-keeper' });
      new TelemetrySink().attach(logger, metrics);
      const waiting = tokens.wait('live', 60_000);
      const pending = [
        { team: TEST_TEAM, taskId: 'waiting-here', taskToken: 'live', requestedAt: iso(Date.now()) },
        { team: TEST_TEAM, taskId: 'stopped', taskToken: 'gone', requestedAt: iso(Date.now()) },
      ];
      const approvals = { listPending: () => Promise.resolve(pending), forTeam: () => ({ timeOut: () => Promise.resolve(undefined) }), isPastDeadline: () => false };

      const sweep = await keepApprovals({ approvals, callbacks: tokens, logger, metrics });

      expect(sweep).toEqual({ pending: 2, heartbeatsSent: ['waiting-here'], heartbeatsFailed: ['stopped'], timedOut: [] });
      await tokens.send(new SendTaskSuccessCommand({ taskToken: 'live', output: 'null' }));
      await waiting;
    });
  });
});

describe('Function: approvalDeadline', () => {
  it('is APPROVAL_TIMEOUT_SECONDS after the request', () => {
    expect(approvalDeadline(iso(T0))).toBe(iso(T0 + DAY_MS));
  });
});
