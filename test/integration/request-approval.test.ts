/**
 * request-approval, the `Escalate` state of every pattern (`.waitForTaskToken`). Step Functions and
 * EventBridge cannot run here (no AWS), so their clients are small hand-written fakes implementing
 * `send` (aws-sdk-client-mock is not installed): the callbacks client records SendTaskSuccess /
 * SendTaskFailure commands, PutEvents records the entries (or refuses them). The approvals are a
 * real ApprovalStore on DynamoDB Local (started once in test/global-setup.ts); each test uses its
 * own task id. Time is the store's `now`: a clock each test moves by hand (the task deadline is
 * APPROVAL_TIMEOUT_SECONDS after the first request). The end-to-end path (the real ASL, the local
 * runtime) is covered in test/integration/human-approval.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ApprovalOutput,
  type RequestApprovalEvent,
  RequestApprovalEventSchema,
  type TaskCallbackClient,
  answer,
  createRequestApprovalHandler,
  requestApproval,
} from '../../functions/control/request-approval.ts';
import { type Approval, ApprovalStore } from '../../functions/approvals/approval-store.ts';
import { APPROVAL_TIMEOUT_SECONDS, METRICS } from '../../functions/core/contract.ts';
import { EscalationTimedOutError, EventPublishError, HumanRejectedError, InvalidEventError } from '../../functions/core/errors.ts';
import { ApprovalRequestedDetailSchema, DETAIL_TYPES, LEGION_EVENT_SOURCE } from '../../functions/core/events.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { FakeEventBridge } from '../support/fake-event-bridge.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'telecom-support';

const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const BUS = 'legion-Legion';
const iso = (ms: number): string => new Date(ms).toISOString();
const context = { functionName: 'legion-request-approval', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const newTask = (): string => `request-approval-${randomUUID()}`;
const ERROR = { Error: 'RollbackLimitExceededError', Cause: 'Task escalated: 3 automatic rollbacks reached the limit of 3' };
const DAY_MS = APPROVAL_TIMEOUT_SECONDS * 1000;


/** Step Functions' callback API: records what was sent. */
class FakeCallbacks implements TaskCallbackClient {
  public readonly sent: (SendTaskSuccessCommand | SendTaskFailureCommand)[] = [];

  public send(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<unknown> {
    this.sent.push(command);
    return Promise.resolve({});
  }
}

function eventFor(taskId: string, overrides: Partial<RequestApprovalEvent> = {}): RequestApprovalEvent {
  return RequestApprovalEventSchema.parse({
    step: 'request-approval',
    stateName: 'Escalate',
    taskId,
    team: 'telecom-support',
    pattern: 'supervisor-worker',
    error: ERROR,
    taskToken: `token-${randomUUID()}`,
    ...overrides,
  });
}

describe('Function: request-approval', () => {
  let client: DynamoDBDocumentClient;
  let clock: { ms: number };
  let approvals: ApprovalStore;
  let events: FakeEventBridge;
  let callbacks: FakeCallbacks;
  let telemetry: TelemetrySink;
  let handler: ReturnType<typeof createRequestApprovalHandler>;
  let deps: Parameters<typeof requestApproval>[1];

  onDynamoDbLocal((connected) => {
    client = connected;
  });
  beforeEach(() => {
    clock = { ms: T0 };
    approvals = new ApprovalStore({ team: TEST_TEAM, client, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
    events = new FakeEventBridge();
    callbacks = new FakeCallbacks();
    telemetry = new TelemetrySink();
    const logger = new Logger({ serviceName: 'legion-request-approval' });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-request-approval' });
    telemetry.attach(logger, metrics);
    deps = { approvals, callbacks, events, eventBusName: BUS, logger, metrics };
    handler = createRequestApprovalHandler(deps);
  });

  const details = (): unknown[] => events.entries.map((entry): unknown => JSON.parse(entry.Detail ?? '{}'));

  describe('a task not decided yet', () => {
    it('stores the approval PENDING with the token and escalation, and answers { status: PENDING }', async () => {
      const event = eventFor(newTask());

      await expect(handler(event, context)).resolves.toEqual({ status: 'PENDING' });

      expect(await approvals.get(event.taskId)).toMatchObject({
        taskId: event.taskId,
        status: 'PENDING',
        taskToken: event.taskToken,
        escalation: ERROR,
        team: 'telecom-support',
        pattern: 'supervisor-worker',
        requestedAt: iso(T0),
      });
    });

    it('puts exactly one ApprovalRequested entry on the bus, whose detail carries the token and the escalation', async () => {
      const event = eventFor(newTask());

      await handler(event, context);

      expect(events.entries).toHaveLength(1);
      expect(events.entries[0]).toMatchObject({ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.approvalRequested, EventBusName: BUS });
      const detail = ApprovalRequestedDetailSchema.parse(details()[0]);
      expect(detail).toEqual({
        taskId: event.taskId,
        team: 'telecom-support',
        pattern: 'supervisor-worker',
        escalation: { error: ERROR.Error, cause: ERROR.Cause },
        taskToken: event.taskToken,
        requestedAt: iso(T0),
      });
    });

    it('counts ApprovalsRequested once and sends no callback (the execution keeps waiting)', async () => {
      await handler(eventFor(newTask()), context);

      expect(telemetry.metricValues(METRICS.approvalsRequested)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.approvalsGranted)).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalsRejected)).toEqual([]);
      expect(callbacks.sent).toEqual([]);
    });

    it('gives an escalation without a Cause as cause "" in the detail', async () => {
      const event = eventFor(newTask(), { error: { Error: 'NoValidBidsError' } });

      await handler(event, context);

      expect(ApprovalRequestedDetailSchema.parse(details()[0]).escalation).toEqual({ error: 'NoValidBidsError', cause: '' });
    });

    it('asking again while pending (a resumed wait) notifies again with the new token and the first requestedAt', async () => {
      const taskId = newTask();
      await handler(eventFor(taskId, { taskToken: 'token-first' }), context);
      clock.ms = T0 + 60_000;

      await expect(handler(eventFor(taskId, { taskToken: 'token-second' }), context)).resolves.toEqual({ status: 'PENDING' });

      expect(details().map((detail) => ApprovalRequestedDetailSchema.parse(detail)).map(({ taskToken, requestedAt }) => ({ taskToken, requestedAt }))).toEqual([
        { taskToken: 'token-first', requestedAt: iso(T0) },
        { taskToken: 'token-second', requestedAt: iso(T0) },
      ]);
      expect((await approvals.get(taskId))?.taskToken).toBe('token-second');
      expect(callbacks.sent).toEqual([]);
    });

    it('throws EventPublishError when EventBridge refuses the entry (the approval stays PENDING, nothing counted)', async () => {
      events.failWith = 'InternalException';
      const event = eventFor(newTask());

      const call = handler(event, context);

      await expect(call).rejects.toThrow(EventPublishError);
      await expect(call).rejects.toThrow(/ApprovalRequested/);
      expect((await approvals.get(event.taskId))?.status).toBe('PENDING');
      expect(telemetry.metricValues(METRICS.approvalsRequested)).toEqual([]);
      expect(callbacks.sent).toEqual([]);
    });
  });

  describe('a task decided before (a resume)', () => {
    it('APPROVED: answers the NEW token with SendTaskSuccess {decision, output, decidedBy}, puts no event', async () => {
      const taskId = newTask();
      await approvals.request(taskId, { taskToken: 'token-old', escalation: ERROR, team: 'telecom-support', pattern: 'supervisor-worker' });
      await approvals.decide(taskId, { decision: 'APPROVED', output: { answer: 'refund issued by hand' }, by: 'ops@example.com' });

      const result = await handler(eventFor(taskId, { taskToken: 'token-new' }), context);

      expect(result).toEqual({ status: 'APPROVED' });
      expect(callbacks.sent).toHaveLength(1);
      const command = callbacks.sent[0];
      expect(command).toBeInstanceOf(SendTaskSuccessCommand);
      expect(command?.input.taskToken).toBe('token-new');
      const output: ApprovalOutput = { decision: 'APPROVED', output: { answer: 'refund issued by hand' }, decidedBy: 'ops@example.com' };
      expect(JSON.parse((command as SendTaskSuccessCommand).input.output ?? '')).toEqual(output);
      expect(events.entries).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalsGranted)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.approvalsRequested)).toEqual([]);
      // The decision stands; the stored token is the new execution's.
      expect(await approvals.get(taskId)).toMatchObject({ status: 'APPROVED', taskToken: 'token-new' });
    });

    it('APPROVED without an output: the output is null', async () => {
      const taskId = newTask();
      await approvals.request(taskId, { taskToken: 'token-old', escalation: ERROR, team: 'telecom-support', pattern: 'supervisor-worker' });
      await approvals.decide(taskId, { decision: 'APPROVED', by: 'ops' });

      await handler(eventFor(taskId, { taskToken: 'token-new' }), context);

      expect(JSON.parse((callbacks.sent[0] as SendTaskSuccessCommand).input.output ?? '')).toEqual({ decision: 'APPROVED', output: null, decidedBy: 'ops' });
    });

    it('REJECTED: answers the NEW token with SendTaskFailure HumanRejectedError, the reason in the cause', async () => {
      const taskId = newTask();
      await approvals.request(taskId, { taskToken: 'token-old', escalation: ERROR, team: 'telecom-support', pattern: 'supervisor-worker' });
      await approvals.decide(taskId, { decision: 'REJECTED', reason: 'customer withdrew the request', by: 'lead' });

      const result = await handler(eventFor(taskId, { taskToken: 'token-new' }), context);

      expect(result).toEqual({ status: 'REJECTED' });
      expect(callbacks.sent).toHaveLength(1);
      const command = callbacks.sent[0];
      expect(command).toBeInstanceOf(SendTaskFailureCommand);
      const input = (command as SendTaskFailureCommand).input;
      expect(input.taskToken).toBe('token-new');
      expect(input.error).toBe('HumanRejectedError');
      expect(input.error).toBe(new HumanRejectedError(taskId, '').name);
      expect(input.cause).toContain('customer withdrew the request');
      expect(input.cause).toBe(new HumanRejectedError(taskId, 'customer withdrew the request').message);
      expect(events.entries).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalsRejected)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.approvalsRequested)).toEqual([]);
    });
  });

  describe('a task past its deadline (a day after its first request, however many executions waited)', () => {
    it('a resumed wait past the deadline: records TIMED_OUT and answers the NEW token with SendTaskFailure EscalationTimedOutError naming the task and since when', async () => {
      const taskId = newTask();
      await handler(eventFor(taskId, { taskToken: 'token-first' }), context);
      clock.ms = T0 + DAY_MS + 1000;

      const result = await handler(eventFor(taskId, { taskToken: 'token-resumed' }), context);

      expect(result).toEqual({ status: 'TIMED_OUT' });
      expect(callbacks.sent).toHaveLength(1);
      const command = callbacks.sent[0];
      expect(command).toBeInstanceOf(SendTaskFailureCommand);
      expect(command?.input).toEqual({
        taskToken: 'token-resumed',
        error: 'EscalationTimedOutError',
        cause: new EscalationTimedOutError(taskId, iso(T0), iso(T0 + DAY_MS)).message,
      });
      expect((command as SendTaskFailureCommand).input.cause).toContain(taskId);
      expect((command as SendTaskFailureCommand).input.cause).toContain(iso(T0));
      expect(await approvals.get(taskId)).toMatchObject({ status: 'TIMED_OUT', decidedBy: 'deadline', decidedAt: iso(T0 + DAY_MS + 1000), taskToken: 'token-resumed' });
      // Only the first request notified: the late one asks nobody.
      expect(events.entries).toHaveLength(1);
      expect(telemetry.metricValues(METRICS.approvalsTimedOut)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.approvalsRequested)).toEqual([1]);
    });

    it('a resumed wait just before the deadline still waits (the deadline is the first request\'s, not renewed)', async () => {
      const taskId = newTask();
      await handler(eventFor(taskId, { taskToken: 'token-first' }), context);
      clock.ms = T0 + DAY_MS - 1000;

      await expect(handler(eventFor(taskId, { taskToken: 'token-resumed' }), context)).resolves.toEqual({ status: 'PENDING' });
      clock.ms = T0 + DAY_MS;
      await expect(handler(eventFor(taskId, { taskToken: 'token-again' }), context)).resolves.toEqual({ status: 'TIMED_OUT' });

      expect(callbacks.sent.map((command) => [command.input.taskToken, (command as SendTaskFailureCommand).input.error])).toEqual([['token-again', 'EscalationTimedOutError']]);
    });

    it('a task timed out before (by the keeper) is answered at once with EscalationTimedOutError, and not counted again', async () => {
      const taskId = newTask();
      await approvals.request(taskId, { taskToken: 'token-old', escalation: ERROR, team: 'telecom-support', pattern: 'supervisor-worker' });
      clock.ms = T0 + DAY_MS;
      await approvals.timeOut(taskId);
      clock.ms = T0 + 3 * DAY_MS;

      const result = await handler(eventFor(taskId, { taskToken: 'token-new' }), context);

      expect(result).toEqual({ status: 'TIMED_OUT' });
      expect(callbacks.sent.map((command) => command.input)).toEqual([
        { taskToken: 'token-new', error: 'EscalationTimedOutError', cause: new EscalationTimedOutError(taskId, iso(T0), iso(T0 + DAY_MS)).message },
      ]);
      expect(events.entries).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalsTimedOut)).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalsGranted)).toEqual([]);
      expect(telemetry.metricValues(METRICS.approvalsRejected)).toEqual([]);
    });

    it('a human decision recorded before the deadline stands, however late the resume', async () => {
      const taskId = newTask();
      await approvals.request(taskId, { taskToken: 'token-old', escalation: ERROR, team: 'telecom-support', pattern: 'supervisor-worker' });
      clock.ms = T0 + DAY_MS - 1;
      await approvals.decide(taskId, { decision: 'APPROVED', output: 'in time', by: 'ops' });
      clock.ms = T0 + 2 * DAY_MS;

      await expect(handler(eventFor(taskId, { taskToken: 'token-new' }), context)).resolves.toEqual({ status: 'APPROVED' });
      expect(callbacks.sent[0]).toBeInstanceOf(SendTaskSuccessCommand);
    });
  });

  describe('an invalid event', () => {
    it('without taskToken: InvalidEventError naming taskToken; nothing stored, put or sent', async () => {
      const taskId = newTask();
      const { taskToken: _omitted, ...withoutToken } = eventFor(taskId);

      const call = handler(withoutToken, context);

      await expect(call).rejects.toThrow(InvalidEventError);
      await expect(call).rejects.toThrow(/taskToken/);
      expect(await approvals.get(taskId)).toBeUndefined();
      expect(events.entries).toEqual([]);
      expect(callbacks.sent).toEqual([]);
    });

    it.each([
      ['an empty taskToken', { taskToken: '' }, /taskToken/],
      ['no error', { error: undefined }, /error/],
      ['another step', { step: 'begin' }, /step/],
    ])('with %s: InvalidEventError', async (_name, overrides, message) => {
      const event = { ...eventFor(newTask()), ...overrides };
      const call = handler(event, context);
      await expect(call).rejects.toThrow(InvalidEventError);
      await expect(call).rejects.toThrow(message);
    });
  });

  describe('Function: answer', () => {
    const approval = (overrides: Partial<Approval>): Approval => ({
      taskId: 't-1',
      status: 'PENDING',
      team: 'telecom-support',
      pattern: 'supervisor-worker',
      escalation: ERROR,
      taskToken: 'token-stored',
      requestedAt: iso(T0),
      ...overrides,
    });

    it('sends nothing for a PENDING approval', async () => {
      await answer('token-x', approval({}), callbacks);
      expect(callbacks.sent).toEqual([]);
    });

    it('answers the token given, not the stored one', async () => {
      await answer('token-given', approval({ status: 'APPROVED', output: 42, decidedBy: 'ops' }), callbacks);
      expect(callbacks.sent.map((command) => command.input.taskToken)).toEqual(['token-given']);
      expect(JSON.parse((callbacks.sent[0] as SendTaskSuccessCommand).input.output ?? '')).toEqual({ decision: 'APPROVED', output: 42, decidedBy: 'ops' });
    });

    it('a TIMED_OUT approval answers SendTaskFailure EscalationTimedOutError, naming the task, since when it waited and its deadline', async () => {
      await answer('token-given', approval({ status: 'TIMED_OUT', decidedBy: 'deadline' }), callbacks);
      expect(callbacks.sent).toHaveLength(1);
      expect(callbacks.sent[0]).toBeInstanceOf(SendTaskFailureCommand);
      expect(callbacks.sent[0]?.input).toEqual({
        taskToken: 'token-given',
        error: 'EscalationTimedOutError',
        cause: `Task t-1 waited for a human decision since ${iso(T0)} and had none by its deadline ${iso(T0 + DAY_MS)}`,
      });
    });

    it('an APPROVED approval without output or decidedBy answers output null, decidedBy "unknown"', async () => {
      await answer('token-given', approval({ status: 'APPROVED' }), callbacks);
      expect(JSON.parse((callbacks.sent[0] as SendTaskSuccessCommand).input.output ?? '')).toEqual({ decision: 'APPROVED', output: null, decidedBy: 'unknown' });
    });
  });
});
