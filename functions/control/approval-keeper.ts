/**
 * The approval keeper, run on a schedule (every APPROVAL_KEEPER_INTERVAL_MINUTES in AWS): looks
 * after every escalated task that waits for a human. It lists the PENDING approvals from the sparse
 * pending-approvals index (a Query, never a Scan) and, for each:
 *
 * - before its deadline (`requestedAt` + APPROVAL_TIMEOUT_SECONDS, the task's, not one execution's):
 *   SendTaskHeartbeat on its stored token, so that `Escalate` (HeartbeatSeconds:
 *   APPROVAL_HEARTBEAT_SECONDS) goes on waiting. Without the keeper, a waiting run fails within the
 *   hour with ApprovalHeartbeatTimeoutError instead of waiting a day for an answer that cannot come.
 * - past its deadline: records it TIMED_OUT (a conditional write: a decision recorded first stands)
 *   and fails the execution with SendTaskFailure `EscalationTimedOutError`; `Escalate` catches it
 *   into `ApprovalTimedOut`, the same end as its own States.Timeout (the run is ESCALATED).
 *
 * An execution that is gone (TaskTimedOut, TaskDoesNotExist, InvalidToken: stopped, timed out, or
 * answered outside Legion) is counted and logged, and does not stop the others. Any other failure
 * (throttling, a missing permission) is counted too, and the keeper fails once it has tried every
 * approval (ApprovalKeeperError), so that the function's errors show it.
 *
 * @example
 * ```ts
 * const handler = createApprovalKeeperHandler({ approvals, callbacks: new SFNClient({}), logger, metrics });
 * await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
 * // { pending: 3, heartbeatsSent: ['t-2', 't-3'], heartbeatsFailed: [], timedOut: ['t-1'] }
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { type SendTaskFailureCommand, SendTaskHeartbeatCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { type ApprovalStore, type PendingApproval, approvalDeadline } from '../approvals/approval-store.ts';
import { METRICS } from '../core/contract.ts';
import { ApprovalKeeperError } from '../core/errors.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';
import { timedOutAnswer } from './request-approval.ts';

/** What the schedule sends (an EventBridge `Scheduled Event`); the keeper needs nothing from it. */
export const ApprovalKeeperEventSchema = z.object({
  source: z.string().optional(),
  'detail-type': z.string().optional(),
});
export type ApprovalKeeperEvent = z.infer<typeof ApprovalKeeperEventSchema>;

/** The errors of SendTaskHeartbeat / SendTaskFailure that mean the waiting execution is gone. */
export const GONE_EXECUTION_ERRORS = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'] as const;

/** The part of the SFN client the keeper uses (the real SFNClient fits it, and so does LocalTaskTokens). */
export interface TaskHeartbeatClient {
  send(command: SendTaskHeartbeatCommand | SendTaskFailureCommand): Promise<unknown>;
}

export interface ApprovalKeeperDependencies {
  approvals: Pick<ApprovalStore, 'listPending' | 'isPastDeadline'> & { forTeam(team: string): Pick<ApprovalStore, 'timeOut'> };
  callbacks: TaskHeartbeatClient;
  logger: Logger;
  metrics: Metrics;
  /** How many approvals are looked after at once. @default 10 */
  concurrency?: number;
  /** The clock the wait of pending approvals is measured with. @default Date.now */
  now?: () => number;
}

/** What one run of the keeper did, by task id. */
export interface ApprovalSweep {
  /** Approvals the index listed as pending. */
  pending: number;
  /** Tasks whose waiting execution got its heartbeat. */
  heartbeatsSent: string[];
  /** Tasks whose heartbeat was refused (mostly: the execution is gone). */
  heartbeatsFailed: string[];
  /** Tasks this run recorded TIMED_OUT (their deadline passed). */
  timedOut: string[];
}

/** One run of the keeper (pure; no middlewares). */
export async function keepApprovals(deps: ApprovalKeeperDependencies): Promise<ApprovalSweep> {
  const pending = await deps.approvals.listPending();
  const sweep: ApprovalSweep = { pending: pending.length, heartbeatsSent: [], heartbeatsFailed: [], timedOut: [] };
  const problems: string[] = [];
  await forEachAtMost(deps.concurrency ?? 10, pending, async (approval) => {
    const problem = deps.approvals.isPastDeadline(approval.requestedAt) ? await timeOut(approval, sweep, deps) : await heartbeat(approval, sweep, deps);
    if (problem) problems.push(problem);
  });
  deps.metrics.addMetric(METRICS.approvalHeartbeatsSent, MetricUnit.Count, sweep.heartbeatsSent.length);
  deps.metrics.addMetric(METRICS.approvalHeartbeatsFailed, MetricUnit.Count, sweep.heartbeatsFailed.length);
  deps.metrics.addMetric(METRICS.approvalsTimedOut, MetricUnit.Count, sweep.timedOut.length);
  // Every sweep reports it, 0 when nothing waits, so the ApprovalWaitAge alarm sees the wait end.
  deps.metrics.addMetric(METRICS.oldestPendingApprovalSeconds, MetricUnit.Seconds, oldestWaitSeconds(pending, (deps.now ?? Date.now)()));
  deps.logger.info('approvals looked after', { pending: sweep.pending, heartbeatsSent: sweep.heartbeatsSent.length, heartbeatsFailed: sweep.heartbeatsFailed.length, timedOut: sweep.timedOut });
  if (problems.length > 0) throw new ApprovalKeeperError(problems);
  return sweep;
}

/** Keeps a waiting execution's Escalate alive. Returns a problem worth failing the run for, if any. */
async function heartbeat(approval: PendingApproval, sweep: ApprovalSweep, deps: ApprovalKeeperDependencies): Promise<string | undefined> {
  try {
    await deps.callbacks.send(new SendTaskHeartbeatCommand({ taskToken: approval.taskToken }));
    sweep.heartbeatsSent.push(approval.taskId);
    return undefined;
  } catch (error) {
    sweep.heartbeatsFailed.push(approval.taskId);
    const name = errorName(error);
    if (isGone(error)) {
      deps.logger.warn('heartbeat refused: the waiting execution is gone', { taskId: approval.taskId, requestedAt: approval.requestedAt, error: name });
      return undefined;
    }
    deps.logger.error('heartbeat failed', { taskId: approval.taskId, error: name, message: (error as Error).message });
    return `heartbeat of task ${approval.taskId}: ${name}`;
  }
}

/** Records the deadline and fails the waiting execution with EscalationTimedOutError. */
async function timeOut(approval: PendingApproval, sweep: ApprovalSweep, deps: ApprovalKeeperDependencies): Promise<string | undefined> {
  const timedOut = await deps.approvals.forTeam(approval.team).timeOut(approval.taskId);
  if (!timedOut) {
    deps.logger.info('approval decided before its deadline was recorded: left as decided', { taskId: approval.taskId });
    return undefined;
  }
  sweep.timedOut.push(approval.taskId);
  deps.logger.warn('escalated task past its deadline: timed out', { taskId: approval.taskId, requestedAt: timedOut.requestedAt, deadline: approvalDeadline(timedOut.requestedAt) });
  try {
    // The token as stored now (the index may lag a resume that replaced it).
    await deps.callbacks.send(timedOutAnswer(timedOut.taskToken, timedOut));
    return undefined;
  } catch (error) {
    // Recorded TIMED_OUT all the same: a later execution of the task ends timed out at once.
    if (isGone(error)) return undefined;
    deps.logger.error('could not fail the timed-out execution', { taskId: approval.taskId, error: errorName(error), message: (error as Error).message });
    return `timeout of task ${approval.taskId}: ${errorName(error)}`;
  }
}

/** How long the oldest of the pending approvals has waited, in whole seconds (0 when none waits). */
export function oldestWaitSeconds(pending: readonly Pick<PendingApproval, 'requestedAt'>[], now: number): number {
  const oldest = Math.min(...pending.map((approval) => Date.parse(approval.requestedAt)).filter(Number.isFinite));
  return Number.isFinite(oldest) ? Math.max(0, Math.floor((now - oldest) / 1000)) : 0;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

function isGone(error: unknown): boolean {
  return (GONE_EXECUTION_ERRORS as readonly string[]).includes(errorName(error));
}

/** Runs `work` on every item, at most `limit` at a time. */
async function forEachAtMost<T>(limit: number, items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function createApprovalKeeperHandler(deps: ApprovalKeeperDependencies): ControlHandler<ApprovalSweep> {
  return createControlHandler('approval-keeper', ApprovalKeeperEventSchema, () => keepApprovals(deps), deps);
}
