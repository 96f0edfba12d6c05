/**
 * The one rule for task ids, applied wherever a task id enters: the CLI, `RunRequested` events,
 * begin-task and nested executions.
 *
 * - A **root** task id (a run a user or an event starts) is 1-80 letters, digits, `-` or `_`: it
 *   is also the execution name.
 * - A **child** task id (a hierarchical sub-team's nested execution) is derived from its parent's:
 *   `<head>.<digest>.<round>.<index>`. The dots are what no root id may hold, so nobody can start a
 *   run on a child id before the parent does (squatting); begin-task checks the derivation against
 *   the parent's record.
 *
 * @example
 * ```ts
 * assertRootTaskId('run-1'); // ok
 * childTaskId('research-lx2k', 0, 1); // 'research-lx2k.3f9a1c2e.0.1'
 * isChildOf('research-lx2k.3f9a1c2e.0.1', 'research-lx2k'); // true
 * reservedInputProblem({ request: 'x', nestedTask: {} }); // '"nestedTask" is set by Legion ...'
 * ```
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidTaskIdError } from './errors.ts';

/** Root task ids: what a user, the CLI or a `RunRequested` event may name. */
export const ROOT_TASK_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** Longest child task id: the execution name adds `-<uuid>` (37 chars) and must stay within 80. */
export const CHILD_TASK_ID_MAX = 43;

const CHILD_TASK_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}\.[0-9a-f]{8}\.(\d{1,3})\.(\d{1,3})$/;

/** What the root rule says, for error messages. */
export const ROOT_TASK_ID_RULE = '1-80 letters, digits, - or _';

/** A root task id (zod), for the schemas of the entry points. */
export const RootTaskIdSchema = z.string().regex(ROOT_TASK_ID_PATTERN, `a task id is ${ROOT_TASK_ID_RULE}`);

/** Any task id Legion stores: a root id or a derived child id. */
export const TaskIdSchema = z.string().refine((id) => ROOT_TASK_ID_PATTERN.test(id) || isChildTaskId(id), `a task id is ${ROOT_TASK_ID_RULE}`);

/** @throws {InvalidTaskIdError} unless `taskId` is a root task id */
export function assertRootTaskId(taskId: string): void {
  if (!ROOT_TASK_ID_PATTERN.test(taskId)) throw new InvalidTaskIdError(taskId, `a task id is ${ROOT_TASK_ID_RULE}`);
}

/**
 * The input key through which a parent's state machine names a nested execution's task. Only
 * Legion's own state machines may set it: the entry points (CLI, `RunRequested`) refuse an input
 * that has it, so nobody can start a run on another task's id through it.
 */
export const NESTED_TASK_INPUT_KEY = 'nestedTask';

/** A problem to report if a caller's input sets a key only Legion's state machines may set; undefined if none. */
export function reservedInputProblem(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  return NESTED_TASK_INPUT_KEY in input ? `"${NESTED_TASK_INPUT_KEY}" is set by Legion for nested executions only; remove it from the input` : undefined;
}

/** Whether `taskId` has the shape of a derived child task id. */
export function isChildTaskId(taskId: string): boolean {
  return taskId.length <= CHILD_TASK_ID_MAX && CHILD_TASK_ID_PATTERN.test(taskId);
}

/**
 * The task id of the nested execution for sub-goal `index` of plan `round` of task `parentTaskId`.
 * Deterministic, so a resumed or retried parent starts the child on the same task, which then
 * replays its checkpointed steps instead of running them again. A digest of the full parent id
 * keeps it unique within CHILD_TASK_ID_MAX.
 */
export function childTaskId(parentTaskId: string, round: number, index: number): string {
  const digest = createHash('sha256').update(parentTaskId).digest('hex').slice(0, 8);
  const suffix = `.${digest}.${round}.${index}`;
  const head = parentTaskId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, CHILD_TASK_ID_MAX - suffix.length);
  return `${head}${suffix}`;
}

/** Whether `taskId` is a child id that `parentTaskId` derives (for some round and index). */
export function isChildOf(taskId: string, parentTaskId: string): boolean {
  const match = CHILD_TASK_ID_PATTERN.exec(taskId);
  if (!match || taskId.length > CHILD_TASK_ID_MAX) return false;
  return childTaskId(parentTaskId, Number(match[1]), Number(match[2])) === taskId;
}
