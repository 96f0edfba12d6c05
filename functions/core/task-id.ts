/**
 * The one rule for task ids, applied wherever a task id enters: the CLI, `RunRequested` events,
 * begin-task and nested executions.
 *
 * - A **root** task id (a run a user or an event starts) is 1-80 letters, digits, `-` or `_`: it
 *   is also the execution name.
 * - A **child** task id (a hierarchical sub-team's nested execution) is derived from its parent's
 *   id and the sub-team that runs it: `<head>.<digest>.<round>.<index>`. The dots are what no root
 *   id may hold, so nobody can start a run on a child id before the parent does (squatting);
 *   begin-task checks the derivation, for its own team, against the parent's record. The digest
 *   (64 bits of SHA-256) makes finding another parent id that derives the same children a search
 *   of about 2^64 ids.
 *
 * @example
 * ```ts
 * assertRootTaskId('run-1'); // ok
 * const child = childTaskId('research-lx2k', 'market-research', 0, 1); // 'research-lx2k.<16 hex>.0.1'
 * isChildOf(child, 'research-lx2k', 'market-research'); // true
 * isChildOf(child, 'research-lx2k', 'telecom-support'); // false
 * reservedInputProblem({ request: 'x', nestedTask: {} }); // '"nestedTask" is set by Legion ...'
 * reservedInputProblem({ resume: { taskId: 'run-1' } }); // '"resume" resumes a task: ...'
 * ```
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidTaskIdError } from './errors.ts';

/** Root task ids: what a user, the CLI or a `RunRequested` event may name. */
export const ROOT_TASK_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** Longest child task id: the execution name adds `-<uuid>` (37 chars) and must stay within 80. */
export const CHILD_TASK_ID_MAX = 43;

const CHILD_DIGEST_LENGTH = 16;

const CHILD_TASK_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,32}\\.[0-9a-f]{${CHILD_DIGEST_LENGTH}}\\.(\\d{1,3})\\.(\\d{1,3})$`);

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

/** The input key through which a parent's state machine names a nested execution's task. */
export const NESTED_TASK_INPUT_KEY = 'nestedTask';

/**
 * Input keys that turn an execution into something other than a new run of its own task: a
 * nested execution of a parent's task, or a resume (which takes the task over, fencing off its
 * live execution). Only Legion's own state machines and commands set them: the entry points for
 * new runs (`legion run`, `RunRequested`) refuse an input that has one.
 */
const RESERVED_INPUT_KEYS: Record<string, string> = {
  [NESTED_TASK_INPUT_KEY]: 'is set by Legion for nested executions only',
  resume: 'resumes a task: use `legion resume <taskId>` (or start the execution yourself), not a new run',
};

/** A problem to report if a caller's input sets a key only Legion may set; undefined if none. */
export function reservedInputProblem(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const key = Object.keys(RESERVED_INPUT_KEYS).find((name) => name in input);
  return key === undefined ? undefined : `"${key}" ${RESERVED_INPUT_KEYS[key] ?? ''}; remove it from the input`;
}

/** Whether `taskId` has the shape of a derived child task id. */
export function isChildTaskId(taskId: string): boolean {
  return taskId.length <= CHILD_TASK_ID_MAX && CHILD_TASK_ID_PATTERN.test(taskId);
}

/**
 * The task id of the nested execution that sub-team `team` runs for sub-goal `index` of plan
 * `round` of task `parentTaskId`. Deterministic, so a resumed or retried parent starts the child on
 * the same task, which then replays its checkpointed steps instead of running them again. A digest
 * of the full parent id and the sub-team keeps it unique within CHILD_TASK_ID_MAX, and ties it to
 * the team that may run it.
 */
export function childTaskId(parentTaskId: string, team: string, round: number, index: number): string {
  const digest = createHash('sha256').update(`${parentTaskId}\n${team}`).digest('hex').slice(0, CHILD_DIGEST_LENGTH);
  const suffix = `.${digest}.${round}.${index}`;
  const head = parentTaskId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, CHILD_TASK_ID_MAX - suffix.length);
  return `${head}${suffix}`;
}

/** Whether `taskId` is a child id that `parentTaskId` derives for sub-team `team` (for some round and index). */
export function isChildOf(taskId: string, parentTaskId: string, team: string): boolean {
  const match = CHILD_TASK_ID_PATTERN.exec(taskId);
  if (!match || taskId.length > CHILD_TASK_ID_MAX) return false;
  return childTaskId(parentTaskId, team, Number(match[1]), Number(match[2])) === taskId;
}
