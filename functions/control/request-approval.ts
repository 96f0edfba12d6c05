/**
 * The `Escalate` state of every pattern (`lambda:invoke.waitForTaskToken`): automatic recovery gave
 * up, so the run waits for a human. The function stores the escalation and the execution's
 * callback token with the task, and puts an `ApprovalRequested` event on the Legion bus (route it
 * to whoever decides). It returns at once; the execution waits until the token is answered:
 * SendTaskSuccess (approved, with the output the human gives), SendTaskFailure with
 * `HumanRejectedError` (rejected), or the state's timeout.
 *
 * A task decided before (a later execution of it: a resume) is answered at once with that decision,
 * on the new token. A task still pending past its deadline (`requestedAt` + APPROVAL_TIMEOUT_SECONDS:
 * the task's, however many executions waited) is recorded TIMED_OUT and answered at once with
 * SendTaskFailure `EscalationTimedOutError`, as the approval keeper does to a waiting execution.
 * A task left waiting shows WAITING in its status item until an execution resumes it (RUNNING) or
 * its execution ends (publish-outcome records how).
 *
 * @example
 * ```ts
 * const handler = createRequestApprovalHandler({ approvals, callbacks: new SFNClient({}), events, eventBusName, logger, metrics });
 * await handler({ step: 'request-approval', stateName: 'Escalate', taskId: 't-1', team: 'telecom-support', pattern: 'supervisor-worker',
 *   error: { Error: 'RollbackLimitExceededError', Cause: '...' }, taskToken: 'AQC...' }, context); // { status: 'PENDING' }
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { type Approval, type ApprovalStatus, type ApprovalStore, approvalDeadline } from '../approvals/approval-store.ts';
import { METRICS } from '../core/contract.ts';
import { EscalationTimedOutError, HumanRejectedError } from '../core/errors.ts';
import { type ApprovalRequestedDetail, DETAIL_TYPES, LEGION_EVENT_SOURCE } from '../core/events.ts';
import { type PutEventsClient, putEvent } from '../core/put-event.ts';
import type { TaskStatusStore } from '../observability/task-status-store.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';

export const RequestApprovalEventSchema = z.object({
  step: z.literal('request-approval'),
  stateName: z.string().min(1),
  taskId: z.string().min(1).max(128),
  team: z.string().min(1),
  pattern: z.string().min(1),
  /** What the Catch caught: Step Functions' `{ Error, Cause }`. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
  taskToken: z.string().min(1),
});
export type RequestApprovalEvent = z.infer<typeof RequestApprovalEventSchema>;

/** The part of the SFN client that answers callback tokens (the real SFNClient fits it). */
export interface TaskCallbackClient {
  send(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<unknown>;
}

export interface RequestApprovalDependencies {
  approvals: Pick<ApprovalStore, 'forTeam'>;
  /** The tasks' status items (WAITING). createControlDependencies always gives them. @default none: no status is kept */
  statuses?: Pick<TaskStatusStore, 'forTeam'> | undefined;
  callbacks: TaskCallbackClient;
  events: PutEventsClient;
  eventBusName: string;
  logger: Logger;
  metrics: Metrics;
}

/** What the execution receives when a human approves: the Escalate state's result. */
export interface ApprovalOutput {
  decision: 'APPROVED';
  output: unknown;
  decidedBy: string;
}

/** Stores the request and notifies, or answers the token with an earlier decision (pure; no middlewares). */
export async function requestApproval(event: RequestApprovalEvent, deps: RequestApprovalDependencies): Promise<{ status: ApprovalStatus }> {
  const approvals = deps.approvals.forTeam(event.team);
  let approval = await approvals.request(event.taskId, { taskToken: event.taskToken, escalation: event.error, team: event.team, pattern: event.pattern });
  if (approval.status === 'PENDING' && approvals.isPastDeadline(approval.requestedAt)) {
    // A resumed wait past the task's deadline: the deadline is recorded (unless a decision came first).
    const timedOut = await approvals.timeOut(event.taskId);
    if (timedOut) {
      deps.metrics.addMetric(METRICS.approvalsTimedOut, MetricUnit.Count, 1);
      deps.logger.warn('escalated task past its deadline: timed out', { taskId: event.taskId, requestedAt: timedOut.requestedAt, deadline: approvalDeadline(timedOut.requestedAt) });
    }
    approval = timedOut ?? (await approvals.get(event.taskId)) ?? approval;
  }
  if (approval.status !== 'PENDING') {
    await answer(event.taskToken, approval, deps.callbacks);
    if (approval.status === 'APPROVED') deps.metrics.addMetric(METRICS.approvalsGranted, MetricUnit.Count, 1);
    if (approval.status === 'REJECTED') deps.metrics.addMetric(METRICS.approvalsRejected, MetricUnit.Count, 1);
    deps.logger.info('escalated task decided before: answered at once', { taskId: event.taskId, decision: approval.status });
    return { status: approval.status };
  }
  const detail: ApprovalRequestedDetail = {
    taskId: event.taskId,
    team: event.team,
    pattern: event.pattern,
    escalation: { error: event.error.Error, cause: event.error.Cause ?? '' },
    taskToken: event.taskToken,
    requestedAt: approval.requestedAt,
  };
  await deps.statuses?.forTeam(event.team).waiting(event.taskId);
  await putEvent({ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.approvalRequested, Detail: JSON.stringify(detail), EventBusName: deps.eventBusName }, deps);
  deps.metrics.addMetric(METRICS.approvalsRequested, MetricUnit.Count, 1);
  deps.logger.warn('run escalated: waiting for a human decision', { taskId: event.taskId, escalation: event.error.Error });
  return { status: 'PENDING' };
}

/**
 * Answers a callback token with a recorded decision, as `legion approve` / `legion reject` do:
 * APPROVED with SendTaskSuccess, REJECTED with SendTaskFailure `HumanRejectedError`, TIMED_OUT
 * with SendTaskFailure `EscalationTimedOutError` (naming the task and since when it waited).
 * Nothing for a PENDING approval.
 */
export async function answer(taskToken: string, approval: Approval, callbacks: TaskCallbackClient): Promise<void> {
  if (approval.status === 'APPROVED') {
    const output: ApprovalOutput = { decision: 'APPROVED', output: approval.output ?? null, decidedBy: approval.decidedBy ?? 'unknown' };
    await callbacks.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  } else if (approval.status === 'REJECTED') {
    const rejected = new HumanRejectedError(approval.taskId, approval.reason ?? '');
    await callbacks.send(new SendTaskFailureCommand({ taskToken, error: rejected.name, cause: rejected.message }));
  } else if (approval.status === 'TIMED_OUT') {
    await callbacks.send(timedOutAnswer(taskToken, approval));
  }
}

/** SendTaskFailure `EscalationTimedOutError` for an approval past its deadline (the request-approval and keeper answer). */
export function timedOutAnswer(taskToken: string, approval: Pick<Approval, 'taskId' | 'requestedAt'>): SendTaskFailureCommand {
  const timedOut = new EscalationTimedOutError(approval.taskId, approval.requestedAt, approvalDeadline(approval.requestedAt));
  return new SendTaskFailureCommand({ taskToken, error: timedOut.name, cause: timedOut.message });
}

export function createRequestApprovalHandler(deps: RequestApprovalDependencies): ControlHandler<{ status: ApprovalStatus }> {
  return createControlHandler('request-approval', RequestApprovalEventSchema, (event) => requestApproval(event, deps), deps);
}
