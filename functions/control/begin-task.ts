/**
 * The first state of every pattern: starts a task, or resumes one. A fresh execution stores its
 * input under its task id (the execution name); an execution whose input is
 * `{ "resume": { "taskId": "..." } }` reloads that task's input instead. Either way the task's
 * epoch is raised, so writers of an earlier execution of the task are fenced off, and the steps it
 * already checkpointed are not run again (see the checkpoint middleware). The task's status item
 * says RUNNING under this execution (functions/observability/task-status-store.ts); a nested task is
 * recorded as a child in its parent's item, so that the parent's totals include it.
 *
 * @example
 * ```ts
 * const handler = createBeginTaskHandler({ checkpoints, logger, metrics });
 * await handler({ step: 'begin', stateName: 'Begin', executionName: 'run-2', input: { resume: { taskId: 'run-1' } } }, context);
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import type { CheckpointManager, TaskStart } from '../recovery/checkpoint-manager.ts';
import { METRICS } from '../core/contract.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';
import type { ApprovalStatus, ApprovalStore } from '../approvals/approval-store.ts';
import { InvalidTaskIdError } from '../core/errors.ts';
import type { TaskRef, TaskStatusStore } from '../observability/task-status-store.ts';
import { ROOT_TASK_ID_RULE, TaskIdSchema, assertRootTaskId, isChildOf } from '../core/task-id.ts';

export const BeginTaskEventSchema = z.object({
  step: z.literal('begin'),
  stateName: z.string().min(1),
  /** The team and pattern of the state machine, stored with the task so a resume can find them. */
  team: z.string().min(1),
  pattern: z.string().min(1),
  executionName: z.string().min(1).max(80),
  /** The execution's start time: an execution that started earlier cannot take the task back. */
  startedAt: z.string().min(1).optional(),
  input: z.unknown(),
});
export type BeginTaskEvent = z.infer<typeof BeginTaskEventSchema>;

/** The execution input that resumes a task instead of starting one. */
export const ResumeInputSchema = z.object({ resume: z.object({ taskId: z.string().min(1).max(80) }) }).strict();

/**
 * The input of a nested execution (a hierarchical team's sub-team) names its task: the execution
 * name is unique per start, the task id stays the same, so a parent that is resumed or retries a
 * team starts the child on the same task, which replays its checkpointed steps. The parent's state
 * machine writes it; begin-task trusts none of it: the child id must be the one the parent task
 * derives, and the parent must be a hierarchical task of the named team.
 */
export const NestedTaskInputSchema = z.looseObject({
  nestedTask: z.object({ taskId: z.string().min(1).max(80), parentTaskId: z.string().min(1).max(80), parentTeam: z.string().min(1) }),
});

export interface BeginTaskDependencies {
  checkpoints: CheckpointManager;
  /** Where a resumed task finds the approval it escalated to before. */
  approvals: Pick<ApprovalStore, 'forTeam'>;
  /** The tasks' status items. createControlDependencies always gives them. @default none: no status is kept */
  statuses?: Pick<TaskStatusStore, 'forTeam'> | undefined;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The approval of a task that escalated in an earlier execution (`NONE` if it did not): the
 * state machine's CheckApproval sends a resumed, escalated task back to its approval.
 */
export interface BeginApproval {
  status: 'NONE' | ApprovalStatus;
  escalation: { Error: string; Cause: string };
}

export type BeginTaskResult = TaskStart & { approval: BeginApproval };

const NO_APPROVAL: BeginApproval = { status: 'NONE', escalation: { Error: '', Cause: '' } };

/** Starts or resumes the task (pure; no middlewares). */
export async function beginTask(event: BeginTaskEvent, deps: BeginTaskDependencies): Promise<BeginTaskResult> {
  const checkpoints = deps.checkpoints.forTeam(event.team);
  const resume = ResumeInputSchema.safeParse(event.input);
  const parent = resume.success ? undefined : await parentOf(event, deps);
  const start = resume.success
    ? await checkpoints.resumeTask(checkedTaskId(resume.data.resume.taskId), event.startedAt)
    : await checkpoints.startTask(parent?.child ?? rootTaskId(event), event.input, { team: event.team, pattern: event.pattern }, event.startedAt);
  if (deps.statuses) {
    // After the start, which fenced off older executions: the status says which execution runs now.
    await deps.statuses.forTeam(event.team).begin(start.taskId, { pattern: event.pattern, executionName: event.executionName, parent: parent?.ref });
    if (parent) await deps.statuses.forTeam(parent.ref.team).addChild(parent.ref.taskId, { team: event.team, taskId: start.taskId });
  }
  deps.logger.info(start.resumed ? 'task resumed' : 'task started', { taskId: start.taskId, epoch: start.epoch });
  deps.metrics.addMetric(start.resumed ? METRICS.tasksResumed : METRICS.tasksStarted, MetricUnit.Count, 1);
  const approval = start.resumed ? await deps.approvals.forTeam(event.team).get(start.taskId) : undefined;
  return {
    ...start,
    approval: approval ? { status: approval.status, escalation: { Error: approval.escalation.Error, Cause: approval.escalation.Cause ?? '' } } : NO_APPROVAL,
  };
}

/**
 * The task id of a fresh root execution: its execution name.
 *
 * @throws {InvalidTaskIdError} when the id breaks the rule
 */
function rootTaskId(event: BeginTaskEvent): string {
  assertRootTaskId(event.executionName);
  return event.executionName;
}

/**
 * A fresh nested execution's task: the child id its parent derives, checked against the parent's
 * record, and the parent. Undefined for any other execution.
 *
 * @throws {InvalidTaskIdError} when the nested task is not its parent's
 */
async function parentOf(event: BeginTaskEvent, deps: BeginTaskDependencies): Promise<{ child: string; ref: TaskRef } | undefined> {
  const nested = NestedTaskInputSchema.safeParse(event.input);
  if (!nested.success) return undefined;
  const { taskId, parentTaskId, parentTeam } = nested.data.nestedTask;
  if (!isChildOf(taskId, parentTaskId, event.team)) throw new InvalidTaskIdError(taskId, `not a task id that task ${parentTaskId} derives for team ${event.team}`);
  const parent = await deps.checkpoints.findOwner(parentTaskId);
  if (parent?.team !== parentTeam || parent.pattern !== 'hierarchical') {
    throw new InvalidTaskIdError(taskId, `its parent ${parentTaskId} is not a hierarchical task of team ${parentTeam}`);
  }
  return { child: taskId, ref: { team: parentTeam, taskId: parentTaskId } };
}

/** @throws {InvalidTaskIdError} unless `taskId` is a root or a derived child task id */
function checkedTaskId(taskId: string): string {
  if (!TaskIdSchema.safeParse(taskId).success) throw new InvalidTaskIdError(taskId, `a task id is ${ROOT_TASK_ID_RULE}`);
  return taskId;
}

export function createBeginTaskHandler(deps: BeginTaskDependencies): ControlHandler<BeginTaskResult> {
  return createControlHandler('begin-task', BeginTaskEventSchema, (event) => beginTask(event, deps), deps);
}
