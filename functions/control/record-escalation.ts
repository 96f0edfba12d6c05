/**
 * Escalations that a control function decides are recorded with the task before the error is
 * thrown, when a resumed walk of the state machine would not decide them again: a step that failed
 * past the rollback limit, or a winner that failed, may succeed when it runs again. The record
 * (an approval REQUESTED) is what begin-task finds on a resume, so that a run stopped between the
 * decision and the Escalate state's request (a crash as Escalate starts) still goes back to the wait
 * for a human, with the same escalation, instead of running its steps again.
 *
 * @example
 * ```ts
 * if (error instanceof RollbackLimitExceededError) await recordEscalation(deps, { taskId, team, pattern }, error);
 * throw error;
 * ```
 */
import type { ApprovalStore } from '../approvals/approval-store.ts';

/** What records an escalation: the approval store, scoped to the task's team per call. */
export interface EscalationRecorder {
  approvals: Pick<ApprovalStore, 'forTeam'>;
}

/** The task that escalates. */
export interface EscalatingTask {
  taskId: string;
  team: string;
  pattern: string;
}

/** Records `error` as the task's escalation, as the state machine's Catch hands it to Escalate (`Error`, `Cause`). */
export async function recordEscalation(deps: EscalationRecorder, task: EscalatingTask, error: Error): Promise<void> {
  await deps.approvals.forTeam(task.team).recordEscalation(task.taskId, { escalation: { Error: error.name, Cause: error.message }, team: task.team, pattern: task.pattern });
}
