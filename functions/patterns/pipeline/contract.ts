/**
 * The contract of the `pipeline` pattern: its execution input, the events the state machine sends
 * to a stage and to the validation gate, and what each returns. The gate's `verdict` is the only
 * value a Choice state of the pipeline reads (besides the counters the ASL keeps itself).
 *
 * @example
 * ```ts
 * const input = PipelineInputSchema.parse({ brief: 'Serverless agent teams on AWS' });
 * const gate = GateResultSchema.parse(reply); // gate.verdict: 'pass' | 'retry' | 'fail'
 * ```
 */
import { z } from 'zod';
import { TokenUsageSchema } from '../../core/agent-contract.ts';
import { CalibratedConfidenceSchema } from '../../guards/calibrated-confidence.ts';
import { ClaimCheckSchema, FactsSchema } from '../../guards/fact-check.ts';
import { DetectionSchema } from '../../core/contracts/detections.ts';

/** Input of a pipeline run: what the stages are asked to produce. */
export const PipelineInputSchema = z
  .object({
    brief: z.string().trim().min(1, 'must not be empty').max(8000),
    /** Named facts: the source of truth the verifier checks the statistics of the stages against (none: nothing is checked). */
    facts: FactsSchema.optional(),
    /** A high-impact task goes to a human when the stages agree on a statistic the facts do not confirm; otherwise the document is returned flagged. */
    highImpact: z.boolean().default(false),
  })
  .strict();
export type PipelineInput = z.infer<typeof PipelineInputSchema>;

/**
 * What the gate accepts as a stage output. Fixed here rather than per team: one place for the
 * handler, the docs and the tests, and an upper bound that keeps every payload far below 256 KB.
 */
export const STAGE_OUTPUT_LIMITS = {
  minChars: 80,
  maxChars: 6000,
} as const;

/** A stage output the gate passed, as the run's result lists it. */
export const StageRecordSchema = z.object({
  agentId: z.string().min(1),
  /** Attempts the stage needed (1 when its first output passed). */
  attempts: z.number().int().positive(),
  output: z.string().min(1).max(STAGE_OUTPUT_LIMITS.maxChars),
});
export type StageRecord = z.infer<typeof StageRecordSchema>;

/** The conflict rule's decision: binding on `agentId` (see functions/guards/loop-detector.ts). */
export const RulingSchema = z.object({
  agentId: z.string().min(1),
  /** The agent whose position won: the ruling is on this pair. */
  over: z.string().min(1),
  instruction: z.string().min(1).max(2000),
});
export type Ruling = z.infer<typeof RulingSchema>;

/** A hand-back of the run so far (loop-detector.ts's HandBack). */
export const HandBackRecordSchema = z.object({
  from: z.string().min(1),
  to: z.string().min(1),
  instruction: z.string().max(2000),
  work: z.string().max(STAGE_OUTPUT_LIMITS.maxChars),
  afterRuling: z.boolean(),
});

/** The pipeline's loop state, as the ASL carries it from state to state. */
export const PipelineLoopSchema = z.object({
  cursor: z.object({ index: z.number().int().nonnegative(), attempt: z.number().int().positive() }),
  /** The output of the last stage that passed ('' before the first). */
  document: z.string(),
  feedback: z.string().max(2000),
  passed: z.array(StageRecordSchema),
  handBacks: z.number().int().nonnegative(),
  history: z.array(HandBackRecordSchema),
  ruling: RulingSchema.nullable(),
});
export type PipelineLoop = z.infer<typeof PipelineLoopSchema>;

/** Which stage of how many runs now; the agent id comes from the deployed stage list, not from a model. */
export const StagePositionSchema = z.object({
  agentId: z.string().min(1),
  index: z.number().int().nonnegative(),
  count: z.number().int().positive(),
});
export type StagePosition = z.infer<typeof StagePositionSchema>;

const stepBase = {
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  /** `<stage index>-<attempt>-h<hand-backs so far>`: each attempt of each stage, in each pass after a hand-back, is its own checkpointed step. */
  stepId: z.string().min(1).max(200),
  brief: z.string().min(1).max(8000),
  stage: StagePositionSchema,
  attempt: z.number().int().positive(),
};

/** A stage's step: turn the document so far into the next one. */
export const StageEventSchema = z.object({
  ...stepBase,
  step: z.literal('stage'),
  /** The output of the last stage that passed ('' for the first stage). */
  previous: z.string().max(STAGE_OUTPUT_LIMITS.maxChars),
  /** Why the gate rejected this stage's previous attempt, or what a later stage handed back ('' on a first attempt). */
  feedback: z.string().max(2000),
  /** The conflict rule's binding decision, for the agent it names (null: none). */
  ruling: RulingSchema.nullable(),
});
export type StageEvent = z.infer<typeof StageEventSchema>;

/** What a stage that will not work on its input asks of the stage before it. */
export const HandBackRequestSchema = z.object({ instruction: z.string().min(1).max(2000) });

export const StageResultSchema = z.object({
  agentId: z.string().min(1),
  /** The stage's output; when it hands back, the work it was given, unchanged. */
  output: z.string().min(1),
  /** Set when the stage hands its input back to the previous stage instead of working on it. */
  handBack: HandBackRequestSchema.nullable(),
  usage: TokenUsageSchema.optional(),
});
export type StageResult = z.infer<typeof StageResultSchema>;

/** The gate's step: check one stage output and decide what the pipeline does next. */
export const GateEventSchema = z.object({
  ...stepBase,
  step: z.literal('gate'),
  maxAttempts: z.number().int().positive(),
  output: z.string(),
  /** The stage outputs passed so far, in order. */
  passed: z.array(StageRecordSchema),
});
export type GateEvent = z.infer<typeof GateEventSchema>;

/** pass: next stage; retry: run this stage again with the feedback; fail: the run ends (StageRejected). */
export const GATE_VERDICTS = ['pass', 'retry', 'fail'] as const;
export type GateVerdict = (typeof GATE_VERDICTS)[number];

export const GateResultSchema = z.object({
  verdict: z.enum(GATE_VERDICTS),
  /** Every check the output failed; empty exactly when the verdict is pass. */
  problems: z.array(z.string()),
  /** For the stage's next attempt ('' unless the verdict is retry). */
  feedback: z.string().max(2000),
  /** One line naming the stage, its attempt and the outcome (the cause of StageRejected). */
  summary: z.string().min(1),
  /** `passed` of the event, plus this stage's record when the verdict is pass. */
  passed: z.array(StageRecordSchema),
  usage: TokenUsageSchema.optional(),
});
export type GateResult = z.infer<typeof GateResultSchema>;

/** The verifier's loop check after a stage handed its input back (deterministic, no model). */
export const LoopCheckEventSchema = z.object({
  step: z.literal('loop-check'),
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  stepId: z.string().min(1).max(200),
  /** The stage that handed back. */
  stage: StagePositionSchema,
  instruction: z.string().min(1).max(2000),
  loop: PipelineLoopSchema,
  /** The deployed stage list and each stage's rank, in order. */
  agentIds: z.array(z.string().min(1)).min(1),
  ranks: z.array(z.string().regex(/^\d+$/)).min(1),
  maxHandBacks: z.number().int().positive(),
});
export type LoopCheckEvent = z.infer<typeof LoopCheckEventSchema>;

/** hand-back: the previous stage runs again; conflict-rule: a loop, the rule decided; escalate: a loop the rule did not end, or the limit. */
export const LOOP_CHECK_VERDICTS = ['hand-back', 'conflict-rule', 'escalate'] as const;

export const LoopCheckResultSchema = z.object({
  verdict: z.enum(LOOP_CHECK_VERDICTS),
  /** The loop state the pipeline continues with (unused on escalate). */
  next: PipelineLoopSchema,
  /** What RecordLoop records (null on a plain hand-back). */
  detection: DetectionSchema.nullable(),
  /** One line for the logs and the escalation's cause. */
  summary: z.string().min(1),
  usage: TokenUsageSchema.optional(),
});
export type LoopCheckResult = z.infer<typeof LoopCheckResultSchema>;

/** The verifier's check of the passed stages' statistics against the input's facts (deterministic, no model). */
export const VerifyClaimsEventSchema = z.object({
  step: z.literal('verify-claims'),
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  stepId: z.string().min(1).max(200),
  input: PipelineInputSchema,
  stages: z.array(StageRecordSchema).min(1),
});
export type VerifyClaimsEvent = z.infer<typeof VerifyClaimsEventSchema>;

/** One statistic the stages stated, checked, with the stages that stated it. */
export const StageClaimCheckSchema = ClaimCheckSchema.extend({
  statistic: z.string(),
  /** The stages whose output states it (same fact, same value), in pipeline order. */
  statedBy: z.array(z.string().min(1)).min(1),
});
export type StageClaimCheck = z.infer<typeof StageClaimCheckSchema>;

export const ClaimsVerificationSchema = z.object({
  verified: z.boolean(),
  checks: z.array(StageClaimCheckSchema),
  /** Agreement: the share of stages stating the claim the verdict turns on; calibrated from the checks alone. */
  confidence: CalibratedConfidenceSchema,
  /** The stages agreed on a statistic the facts do not confirm: hallucinated consensus. */
  hallucination: z.boolean(),
  reason: z.string().min(1).max(2000),
  /** What RecordHallucination records: flagged, or escalated for a high-impact task (null without a hallucination). */
  detection: DetectionSchema.nullable(),
  usage: TokenUsageSchema.optional(),
});
export type ClaimsVerification = z.infer<typeof ClaimsVerificationSchema>;

/** What a successful pipeline run returns. */
export const PipelineOutputSchema = z.object({
  brief: z.string(),
  /** The output of the last stage. */
  document: z.string(),
  stages: z.array(StageRecordSchema),
  /** The check of the stages' statistics against the input's facts; null when the input gives no facts. */
  verification: ClaimsVerificationSchema.nullable(),
});
export type PipelineOutput = z.infer<typeof PipelineOutputSchema>;
