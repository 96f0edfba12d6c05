/**
 * The `Escalate` state of every pattern (`lambda:invoke.waitForTaskToken`): automatic recovery gave
 * up, so the run waits for a human. The function stores the escalation and the execution's
 * callback token with the task, and puts an `ApprovalRequested` event on the Legion bus (route it
 * to whoever decides). It returns at once; the execution waits until the token is answered:
 * SendTaskSuccess (approved, with the output the human gives), SendTaskFailure with
 * `HumanRejectedError` (rejected), or the state's timeout.
 *
 * A task decided before (a later execution of it: a resume) is answered at once with that decision,
 * on the new token.
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
import type { Approval, ApprovalStatus, ApprovalStore } from '../shared/approval-store.ts';
import { METRICS } from '../shared/contract.ts';
import { type ApprovalRequestedDetail, DETAIL_TYPES, LEGION_EVENT_SOURCE } from '../shared/events.ts';
import { type PutEventsClient, putEvent } from '../shared/put-event.ts';
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
  approvals: Pick<ApprovalStore, 'request'>;
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
  const approval = await deps.approvals.request(event.taskId, { taskToken: event.taskToken, escalation: event.error, team: event.team, pattern: event.pattern });
  if (approval.status !== 'PENDING') {
    await answer(event.taskToken, approval, deps.callbacks);
    deps.metrics.addMetric(approval.status === 'APPROVED' ? METRICS.approvalsGranted : METRICS.approvalsRejected, MetricUnit.Count, 1);
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
  await putEvent({ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.approvalRequested, Detail: JSON.stringify(detail), EventBusName: deps.eventBusName }, deps);
  deps.metrics.addMetric(METRICS.approvalsRequested, MetricUnit.Count, 1);
  deps.logger.warn('run escalated: waiting for a human decision', { taskId: event.taskId, escalation: event.error.Error });
  return { status: 'PENDING' };
}

/** Answers a callback token with a recorded decision, as `legion approve` / `legion reject` do. */
export async function answer(taskToken: string, approval: Approval, callbacks: TaskCallbackClient): Promise<void> {
  if (approval.status === 'APPROVED') {
    const output: ApprovalOutput = { decision: 'APPROVED', output: approval.output ?? null, decidedBy: approval.decidedBy ?? 'unknown' };
    await callbacks.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  } else if (approval.status === 'REJECTED') {
    await callbacks.send(new SendTaskFailureCommand({ taskToken, error: 'HumanRejectedError', cause: `Task ${approval.taskId} rejected by a human: ${approval.reason ?? ''}` }));
  }
}

export function createRequestApprovalHandler(deps: RequestApprovalDependencies): ControlHandler<{ status: ApprovalStatus }> {
  return createControlHandler('request-approval', RequestApprovalEventSchema, (event) => requestApproval(event, deps), deps);
}
