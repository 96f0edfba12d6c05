/**
 * The first state of every pattern: starts a task, or resumes one. A fresh execution stores its
 * input under its task id (the execution name); an execution whose input is
 * `{ "resume": { "taskId": "..." } }` reloads that task's input instead. Either way the task's
 * epoch is raised, so writers of an earlier execution of the task are fenced off, and the steps it
 * already checkpointed are not run again (see the checkpoint middleware).
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
import type { CheckpointManager, TaskStart } from '../shared/checkpoint-manager.ts';
import { METRICS } from '../shared/contract.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';
import type { ApprovalStatus, ApprovalStore } from '../shared/approval-store.ts';

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
 * team starts the child on the same task, which replays its checkpointed steps.
 */
export const NestedTaskInputSchema = z.looseObject({
  nestedTask: z.object({ taskId: z.string().min(1).max(80), parentTaskId: z.string().min(1) }),
});

export interface BeginTaskDependencies {
  checkpoints: CheckpointManager;
  /** Where a resumed task finds the approval it escalated to before. */
  approvals: Pick<ApprovalStore, 'get'>;
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
  const resume = ResumeInputSchema.safeParse(event.input);
  const nested = NestedTaskInputSchema.safeParse(event.input);
  const taskId = nested.success ? nested.data.nestedTask.taskId : event.executionName;
  const start = resume.success
    ? await deps.checkpoints.resumeTask(resume.data.resume.taskId, event.startedAt)
    : await deps.checkpoints.startTask(taskId, event.input, { team: event.team, pattern: event.pattern }, event.startedAt);
  deps.logger.info(start.resumed ? 'task resumed' : 'task started', { taskId: start.taskId, epoch: start.epoch });
  deps.metrics.addMetric(start.resumed ? METRICS.tasksResumed : METRICS.tasksStarted, MetricUnit.Count, 1);
  const approval = start.resumed ? await deps.approvals.get(start.taskId) : undefined;
  return {
    ...start,
    approval: approval ? { status: approval.status, escalation: { Error: approval.escalation.Error, Cause: approval.escalation.Cause ?? '' } } : NO_APPROVAL,
  };
}

export function createBeginTaskHandler(deps: BeginTaskDependencies): ControlHandler<BeginTaskResult> {
  return createControlHandler('begin-task', BeginTaskEventSchema, (event) => beginTask(event, deps), deps);
}
