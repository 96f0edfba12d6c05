/**
 * The contract of the `hierarchical` pattern: its execution input (which a parent passes to a nested
 * execution), the events the state machine sends to the strategic lead (`decompose`, `review`,
 * `rollup`) and what each returns. Choice states of the pattern read only `plan.route` and
 * `verdict.decision` (schema-validated enums) and the counters the ASL keeps itself.
 *
 * @example
 * ```ts
 * const input = HierarchicalInputSchema.parse({ request: 'Should we build an agent platform?' });
 * input.depth; // 0: the top of the hierarchy
 * const verdict = ReviewVerdictSchema.parse(result); // verdict.decision: 'done' | 'retry' | 'replan' | 'fail'
 * ```
 */
import { z } from 'zod';
import { TokenUsageSchema } from '../../core/agent-contract.ts';
import { CHILD_TASK_ID_MAX } from '../../core/task-id.ts';
import { DegradedPartSchema } from '../../core/contracts/degraded.ts';

/** Step Functions resource of a nested execution that waits for the child and returns its output as JSON. */
export const START_EXECUTION_SYNC_RESOURCE = 'arn:aws:states:::states:startExecution.sync:2';

/** Errors a nested-execution Task retries (throttled StartExecution); a failed child is caught, not retried in place. */
export const NESTED_EXECUTION_RETRY_ERRORS = ['StepFunctions.ExecutionLimitExceededException'] as const;

/** The lead retries the failed teams of a plan at most this often (the ASL holds the same bound). */
export const MAX_TEAM_RETRIES = 1;
/** The lead re-plans at most this often (the ASL holds the same bound). */
export const MAX_REPLANS = 1;

export { CHILD_TASK_ID_MAX };

/** Input of a hierarchical run: the goal, and for a nested execution how deep it is. */
export const HierarchicalInputSchema = z.looseObject({
  request: z.string().trim().min(1, 'must not be empty').max(8000),
  /** Nesting level of this execution: 0 at the top; a parent passes its own depth + 1. */
  depth: z.number().int().min(0).max(20).default(0),
  /** The strictest maxDepth of the executions above, so a deeper team cannot lift its parent's limit. */
  maxDepth: z.number().int().min(1).max(20).optional(),
});
export type HierarchicalInput = z.infer<typeof HierarchicalInputSchema>;

/** The limits Begin reads from the deployment (substitutions), as the lead's steps receive them. */
export const HierarchicalLimitsSchema = z.looseObject({
  maxDepth: z.number().int().min(1),
  maxFanOut: z.number().int().min(1),
  maxTeamRetries: z.number().int().min(0),
  maxReplans: z.number().int().min(0),
});
export type HierarchicalLimits = z.infer<typeof HierarchicalLimitsSchema>;

/** One sub-goal handed to one sub-team; the state machine ARN is the roster's, never model text. */
export const TeamAssignmentSchema = z.object({
  subTeamId: z.string().min(1),
  team: z.string().min(1),
  stateMachineArn: z.string().min(1),
  /** The nested execution's task id: derived from the parent task, the plan round and the index. */
  taskId: z.string().min(1).max(CHILD_TASK_ID_MAX),
  goal: z.string().min(1).max(8000),
});
export type TeamAssignment = z.infer<typeof TeamAssignmentSchema>;

/** A team that failed in an earlier round and where its sub-goal went when the lead re-planned. */
export const ReassignmentSchema = z.object({ from: z.string().min(1), to: z.string().min(1), error: z.string() });

/** What the lead decided to delegate. `depth-limit`: this execution is too deep to delegate at all. */
export const TeamPlanSchema = z.object({
  route: z.enum(['delegate', 'depth-limit']),
  round: z.number().int().min(0),
  depth: z.number().int().min(0),
  /** The effective depth limit: the team's own, or a stricter one from above. */
  maxDepth: z.number().int().min(1),
  childDepth: z.number().int().min(1),
  assignments: z.array(TeamAssignmentSchema),
  reassigned: z.array(ReassignmentSchema),
  usage: TokenUsageSchema,
});
export type TeamPlan = z.infer<typeof TeamPlanSchema>;

/** The error Step Functions records when a nested execution fails (`States.TaskFailed` + describe output). */
export const TeamErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });

/** One nested execution's result, as the Map iteration records it: succeeded with output, or failed with error. */
export const TeamResultSchema = z.object({
  subTeamId: z.string().min(1),
  team: z.string().min(1),
  taskId: z.string().min(1),
  goal: z.string(),
  status: z.enum(['SUCCEEDED', 'FAILED']),
  output: z.unknown().optional(),
  error: TeamErrorSchema.optional(),
});
export type TeamResult = z.infer<typeof TeamResultSchema>;

/** The lead's judgement of a round of results. */
export const ReviewVerdictSchema = z.object({
  decision: z.enum(['done', 'retry', 'replan', 'fail']),
  reason: z.string().min(1),
  failedTeams: z.array(z.string()),
  usage: TokenUsageSchema,
});
export type ReviewVerdict = z.infer<typeof ReviewVerdictSchema>;

/** One sub-team's part of the final answer, failed ones included with their error. */
export const TeamReportSchema = z.object({
  subTeamId: z.string(),
  team: z.string(),
  taskId: z.string(),
  status: z.enum(['SUCCEEDED', 'FAILED']),
  answer: z.string().optional(),
  error: z.string().optional(),
});
export type TeamReport = z.infer<typeof TeamReportSchema>;

/** The run's result: the merged answer, every team's status, and the limits that were hit. */
export const RollupSchema = z.object({
  answer: z.string().min(1),
  teams: z.array(TeamReportSchema),
  failedTeams: z.array(z.string()),
  /** The failed teams again as the run's `degraded` (`agentId`: the sub-team id); optional for roll-ups checkpointed before it existed. */
  degraded: z.array(DegradedPartSchema).optional(),
  reassigned: z.array(ReassignmentSchema),
  retries: z.number().int().min(0),
  replans: z.number().int().min(0),
  /** One line per limit hit here or in a nested execution (e.g. `maxDepth: ...`). */
  limitsHit: z.array(z.string()),
  depth: z.number().int().min(0),
  usage: TokenUsageSchema,
});
export type Rollup = z.infer<typeof RollupSchema>;

const stepBase = {
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  stepId: z.string().min(1).max(200),
  input: HierarchicalInputSchema,
};

export const DecomposeEventSchema = z.object({
  ...stepBase,
  step: z.literal('decompose'),
  limits: HierarchicalLimitsSchema,
  round: z.number().int().min(0),
  /** The results of the round before a re-plan (empty on the first plan). */
  feedback: z.array(TeamResultSchema),
});
export type DecomposeEvent = z.infer<typeof DecomposeEventSchema>;

export const ReviewEventSchema = z.object({
  ...stepBase,
  step: z.literal('review'),
  limits: HierarchicalLimitsSchema,
  plan: TeamPlanSchema,
  results: z.array(TeamResultSchema),
  retries: z.number().int().min(0),
  replans: z.number().int().min(0),
});
export type ReviewEvent = z.infer<typeof ReviewEventSchema>;

export const RollupEventSchema = z.object({
  ...stepBase,
  step: z.literal('rollup'),
  stepId: z.string().min(1).max(200).optional(),
  plan: TeamPlanSchema,
  results: z.array(TeamResultSchema),
  retries: z.number().int().min(0),
  replans: z.number().int().min(0),
});
export type RollupEvent = z.infer<typeof RollupEventSchema>;

/** Child task ids: derived by the one task-id rule (functions/core/task-id.ts). */
export { childTaskId } from '../../core/task-id.ts';
