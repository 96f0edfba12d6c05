/**
 * Legion's events: the source, the detail-types, the schemas of their details, and the event
 * pattern of every rule the stack deploys. CDK (lib/event-triggers.ts), the Lambda handlers
 * (start-run, publish-outcome) and the local event bus all import this module, so a rule routes an
 * event the same way in AWS and offline; the infra tests compare the synthesized rules with it.
 *
 * @example
 * ```ts
 * import { DETAIL_TYPES, LEGION_EVENT_SOURCE, runRequestedPattern } from './events.ts';
 * runRequestedPattern('pipeline');
 * // { source: ['legion'], 'detail-type': ['RunRequested'], detail: { pattern: ['pipeline'] } }
 * const entry = { Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.runRequested, Detail: JSON.stringify({ pattern: 'pipeline', input: { brief: '...' } }) };
 * ```
 */
import { z } from 'zod';
import { ROOT_TASK_ID_PATTERN, ROOT_TASK_ID_RULE, reservedInputProblem } from './task-id.ts';
import { ESCALATION_ERRORS } from './contract.ts';
import { DegradedPartSchema, degradedPartsOf } from './contracts/degraded.ts';
import { DetectionSchema } from './contracts/detections.ts';
import { type RunTotals, RunTotalsSchema } from './contracts/run-totals.ts';
import { executionInputSizeProblem } from './execution-input.ts';

/** The `source` of every event Legion puts on its bus. */
export const LEGION_EVENT_SOURCE = 'legion';

/** The detail-type of each Legion event. */
export const DETAIL_TYPES = {
  /** Asks for a run of a pattern (its rule starts the pattern's state machine). */
  runRequested: 'RunRequested',
  runSucceeded: 'RunSucceeded',
  runFailed: 'RunFailed',
  /** The run ended with an error that hands it to a human (ESCALATION_ERRORS). */
  runEscalated: 'RunEscalated',
  /** auction: a round of an auction is open; the team's bidders answer it with a bid. */
  auctionAnnounced: 'AuctionAnnounced',
  /** auction: a bidder's bid; the team's collector stores it. */
  bidSubmitted: 'BidSubmitted',
  /** A run escalated and waits for a human: approve or reject it with its task token. */
  approvalRequested: 'ApprovalRequested',
  /** A loop, a hallucinated consensus or a deadlock was detected, and what was done about it. */
  failureDetected: 'FailureDetected',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** The detail-types that report how a run ended. */
export const OUTCOME_DETAIL_TYPES = [DETAIL_TYPES.runSucceeded, DETAIL_TYPES.runFailed, DETAIL_TYPES.runEscalated] as const;
export type OutcomeDetailType = (typeof OUTCOME_DETAIL_TYPES)[number];

/** The most characters an outcome's summary has (it is a preview, not the result). */
export const SUMMARY_MAX_LENGTH = 280;

/**
 * The detail of a `RunRequested` event. `pattern` is a plain string here (not the enum) so that a
 * request for a pattern Legion does not have fails validation with a message naming it; in AWS such
 * a request never reaches a target, since no rule matches it.
 */
export const RunRequestedDetailSchema = z.object({
  pattern: z.string().min(1),
  /** The team to run; default: the pattern's deployed example team (or its only deployed team). */
  team: z.string().min(1).optional(),
  input: z
    .unknown()
    .refine((value) => value !== undefined, 'required: the execution input of the pattern')
    // Step Functions refuses a larger input: refused here, where the request enters, with the reason.
    .superRefine((value, context) => {
      const tooLarge = executionInputSizeProblem(value);
      if (tooLarge) context.addIssue({ code: 'custom', message: tooLarge });
      const reserved = reservedInputProblem(value);
      if (reserved) context.addIssue({ code: 'custom', message: reserved });
    }),
  /** Becomes the task id (execution name): a second request with the same key starts no second run. */
  idempotencyKey: z.string().regex(ROOT_TASK_ID_PATTERN, `must be ${ROOT_TASK_ID_RULE}`).optional(),
});
export type RunRequestedDetail = z.infer<typeof RunRequestedDetailSchema>;

/**
 * The schema of a Legion event as a rule delivers it to a target: source `legion`, the given
 * detail-type, and the detail's own schema (the other envelope fields pass through).
 *
 * @example
 * ```ts
 * const BidSubmittedEventSchema = legionEventSchema(DETAIL_TYPES.bidSubmitted, BidSubmittedDetailSchema);
 * ```
 */
export function legionEventSchema<T extends DetailType, D extends z.ZodType>(detailType: T, detail: D) {
  return z.looseObject({
    id: z.string().min(1),
    source: z.literal(LEGION_EVENT_SOURCE),
    'detail-type': z.literal(detailType),
    time: z.string().optional(),
    detail,
  });
}

/** The statuses a finished Step Functions execution can have, as its status-change events name them. */
export const FINAL_EXECUTION_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type FinalExecutionStatus = (typeof FINAL_EXECUTION_STATUSES)[number];

/** How a run ended: an execution status, or ESCALATED when its error hands it to a human. */
export const RUN_OUTCOME_STATUSES = [...FINAL_EXECUTION_STATUSES, 'ESCALATED'] as const;
export type RunOutcomeStatus = (typeof RUN_OUTCOME_STATUSES)[number];

const RunErrorSchema = z.object({ error: z.string(), cause: z.string() });

/** The detail of `RunSucceeded`, `RunFailed` and `RunEscalated`. */
export const RunOutcomeDetailSchema = z.object({
  /** The task id: the execution name (for a resume execution, the task it resumed). */
  taskId: z.string().min(1),
  pattern: z.string().min(1),
  team: z.string().min(1),
  status: z.enum(RUN_OUTCOME_STATUSES),
  /** A short preview of the answer, or of the error. */
  summary: z.string().max(SUMMARY_MAX_LENGTH),
  error: RunErrorSchema.optional(),
  /** RunSucceeded with a part missing: the agents that failed after their retries (the output's `degraded`). Absent when the answer is whole. */
  degraded: z.array(DegradedPartSchema).optional(),
  /**
   * What the whole run did, sub-teams included: tokens, model calls, agent steps, checkpoints,
   * rollbacks, detections, budget refusals (contracts/run-totals.ts). Legion's publish-outcome
   * always sets it; optional for events of deployments older than the field.
   */
  totals: RunTotalsSchema.optional(),
});
export type RunOutcomeDetail = z.infer<typeof RunOutcomeDetailSchema>;

/** The detail of an `ApprovalRequested` event. */
export const ApprovalRequestedDetailSchema = z.object({
  taskId: z.string().min(1),
  team: z.string().min(1),
  pattern: z.string().min(1),
  /** What escalated the run. */
  escalation: z.object({ error: z.string(), cause: z.string() }),
  /** The waiting execution's callback token: answer it with SendTaskSuccess / SendTaskFailure. */
  taskToken: z.string().min(1),
  requestedAt: z.string(),
});
export type ApprovalRequestedDetail = z.infer<typeof ApprovalRequestedDetailSchema>;

/** The detail of a `FailureDetected` event. */
export const FailureDetectedDetailSchema = DetectionSchema.extend({
  taskId: z.string().min(1),
  team: z.string().min(1),
  pattern: z.string().min(1),
  detectedAt: z.string(),
});
export type FailureDetectedDetail = z.infer<typeof FailureDetectedDetailSchema>;

/** The pattern of a rule for approval requests (e.g. to an SNS topic that pages a human). */
export function approvalRequestedPattern(): RulePattern {
  return { source: [LEGION_EVENT_SOURCE], 'detail-type': [DETAIL_TYPES.approvalRequested] };
}

/** What Step Functions puts on the default bus when an execution changes status. */
export const EXECUTION_STATUS_CHANGE = {
  source: 'aws.states',
  detailType: 'Step Functions Execution Status Change',
} as const;

/** The detail of a Step Functions status-change event (the fields Legion reads). */
export const ExecutionStatusChangeDetailSchema = z.looseObject({
  executionArn: z.string().min(1),
  stateMachineArn: z.string().min(1),
  name: z.string().min(1),
  status: z.string().min(1),
  /** JSON text; null when it was too large for the event (then `inputDetails.included` is false). */
  input: z.string().nullish(),
  output: z.string().nullish(),
  error: z.string().nullish(),
  cause: z.string().nullish(),
});
export type ExecutionStatusChangeDetail = z.infer<typeof ExecutionStatusChangeDetailSchema>;

/** An event pattern as the rules here use it (a subset of local/event-pattern.ts's EventPattern). */
export interface RulePattern {
  readonly source: readonly string[];
  readonly 'detail-type': readonly string[];
  readonly detail?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The pattern of the rule that starts a pattern's state machine: `RunRequested` events whose
 * `detail.pattern` names it.
 */
export function runRequestedPattern(pattern: string): RulePattern {
  return { source: [LEGION_EVENT_SOURCE], 'detail-type': [DETAIL_TYPES.runRequested], detail: { pattern: [pattern] } };
}

/** The pattern of the rule that delivers a team's auction announcements to each of its bidders. */
export function auctionAnnouncedPattern(team: string): RulePattern {
  return { source: [LEGION_EVENT_SOURCE], 'detail-type': [DETAIL_TYPES.auctionAnnounced], detail: { team: [team] } };
}

/** The pattern of the rule that routes the bids for a team's auctions to its bid collector. */
export function bidSubmittedPattern(team: string): RulePattern {
  return { source: [LEGION_EVENT_SOURCE], 'detail-type': [DETAIL_TYPES.bidSubmitted], detail: { team: [team] } };
}

/**
 * The pattern of the rule (on the default bus) that sees Legion's executions end: status changes
 * of exactly these state machines to a final status.
 */
export function executionStatusChangePattern(stateMachineArns: readonly string[]): RulePattern {
  return {
    source: [EXECUTION_STATUS_CHANGE.source],
    'detail-type': [EXECUTION_STATUS_CHANGE.detailType],
    detail: { status: [...FINAL_EXECUTION_STATUSES], stateMachineArn: [...stateMachineArns] },
  };
}

/** A pattern for subscribers to every run outcome (e.g. a notification rule of your own). */
export function runOutcomePattern(): RulePattern {
  return { source: [LEGION_EVENT_SOURCE], 'detail-type': [...OUTCOME_DETAIL_TYPES] };
}

/** An entry of a PutEvents request (the SDK's shape, without depending on the SDK). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  /** JSON text of an object. */
  Detail: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: Date;
}

/** What a finished execution reports, whoever ran it (Step Functions or the local runtime). */
export interface FinishedRun {
  taskId: string;
  pattern: string;
  team: string;
  status: FinalExecutionStatus;
  /** The execution's output (SUCCEEDED). */
  output?: unknown;
  error?: { error: string; cause: string } | undefined;
  /** The run's totals over all its steps, sub-teams included (carried in the outcome's detail). */
  totals?: RunTotals | undefined;
}

/**
 * The outcome event of a finished run: `RunEscalated` when it failed with an escalation error,
 * `RunSucceeded` when it succeeded, `RunFailed` otherwise (failed, timed out, aborted).
 *
 * @example
 * ```ts
 * outcomeOf({ taskId: 't-1', pattern: 'pipeline', team: 'content-pipeline', status: 'FAILED', error: { error: 'RollbackLimitExceededError', cause: '...' } });
 * // { detailType: 'RunEscalated', detail: { ..., status: 'ESCALATED', summary: 'RollbackLimitExceededError: ...' } }
 * ```
 */
export function outcomeOf(run: FinishedRun): { detailType: OutcomeDetailType; detail: RunOutcomeDetail } {
  const escalated = run.status === 'FAILED' && run.error !== undefined && (ESCALATION_ERRORS as readonly string[]).includes(run.error.error);
  const status: RunOutcomeStatus = escalated ? 'ESCALATED' : run.status;
  const detailType = status === 'SUCCEEDED' ? DETAIL_TYPES.runSucceeded : escalated ? DETAIL_TYPES.runEscalated : DETAIL_TYPES.runFailed;
  const error = run.error ?? (status === 'TIMED_OUT' || status === 'ABORTED' ? { error: `States.${status === 'TIMED_OUT' ? 'Timeout' : 'Aborted'}`, cause: `the execution was ${status === 'TIMED_OUT' ? 'timed out' : 'aborted'}` } : undefined);
  const summary = status === 'SUCCEEDED' ? summarizeOutput(run.output) : error ? `${error.error}: ${error.cause}` : status;
  const degraded = status === 'SUCCEEDED' ? degradedPartsOf(run.output) : [];
  return {
    detailType,
    detail: {
      taskId: run.taskId,
      pattern: run.pattern,
      team: run.team,
      status,
      summary: truncate(summary, SUMMARY_MAX_LENGTH),
      ...(status === 'SUCCEEDED' || !error ? {} : { error }),
      ...(degraded.length > 0 ? { degraded } : {}),
      ...(run.totals ? { totals: run.totals } : {}),
    },
  };
}

/** The PutEvents entry of a run's outcome on the given bus. */
export function outcomeEntry(run: FinishedRun, eventBusName: string): PutEventsEntry {
  const { detailType, detail } = outcomeOf(run);
  return { Source: LEGION_EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: eventBusName };
}

/** The answer of each pattern's output (`answer`, `document`, `summary`), else the output as JSON. */
function summarizeOutput(output: unknown): string {
  if (output !== null && typeof output === 'object') {
    const record = output as Record<string, unknown>;
    for (const key of ['answer', 'document', 'summary']) {
      const value = record[key];
      if (typeof value === 'string' && value.trim() !== '') return value;
    }
  }
  return output === undefined ? '' : JSON.stringify(output);
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
