/**
 * The contract between the state machines and the agent functions: the events each step receives
 * and the results it returns, as zod schemas. The state machines' Choice states only read fields
 * declared here as enums (e.g. `route`), never free model text.
 *
 * @example
 * ```ts
 * const event = AgentEventSchema.parse(payload);
 * if (event.step === 'classify') event.input.request;
 * ```
 */
import { z } from 'zod';
import { DegradedPartSchema } from './contracts/degraded.ts';

export const ConversationTurnSchema = z.object({
  from: z.enum(['customer', 'agent']),
  text: z.string().min(1).max(8000),
});
export type ConversationTurn = z.infer<typeof ConversationTurnSchema>;

/** Input of a supervisor/worker run: the customer's text, plus optional context of earlier turns. */
export const SupervisorWorkerInputSchema = z.looseObject({
  request: z.string().trim().min(1, 'must not be empty').max(8000),
  conversation: z.array(ConversationTurnSchema).max(100).default([]),
});
export type SupervisorWorkerInput = z.infer<typeof SupervisorWorkerInputSchema>;

export const TokenUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});

export const AssignmentSchema = z.object({
  agentId: z.string().min(1),
  functionArn: z.string().min(1),
  instruction: z.string().min(1),
});
export type Assignment = z.infer<typeof AssignmentSchema>;

/** What the supervisor decided: delegate to the listed workers, or answer with the fallback. */
export const PlanSchema = z.object({
  route: z.enum(['delegate', 'fallback']),
  intents: z.array(z.string()),
  assignments: z.array(AssignmentSchema),
  conversation: z.array(ConversationTurnSchema),
  fallback: z.object({ answer: z.string(), conversation: z.array(ConversationTurnSchema) }).optional(),
  usage: TokenUsageSchema,
});
export type Plan = z.infer<typeof PlanSchema>;

export const WorkerResultSchema = z.object({
  agentId: z.string().min(1),
  status: z.enum(['ANSWERED', 'FAILED']),
  answer: z.string(),
  /** A FAILED worker: the error name its step failed with after its retries (WorkerUnavailable passes it on). */
  error: z.string().optional(),
  usage: TokenUsageSchema.optional(),
});
export type WorkerResult = z.infer<typeof WorkerResultSchema>;

export const SynthesisSchema = z.object({
  answer: z.string().min(1),
  intents: z.array(z.string()),
  handledBy: z.array(z.string()),
  conversation: z.array(ConversationTurnSchema),
  /**
   * The workers whose part is missing (they failed after their retries); empty when the answer is
   * whole. The synthesize step always sets it; optional for results checkpointed before it existed.
   */
  degraded: z.array(DegradedPartSchema).optional(),
  usage: TokenUsageSchema,
});
export type Synthesis = z.infer<typeof SynthesisSchema>;

const stepBase = {
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  /** The fencing token of the execution that owns the task (see CheckpointManager.begin). */
  epoch: z.number().int().positive().optional(),
};

export const ClassifyEventSchema = z.object({ ...stepBase, step: z.literal('classify'), input: SupervisorWorkerInputSchema });
export const WorkEventSchema = z.object({
  ...stepBase,
  step: z.literal('work'),
  request: z.string().min(1),
  assignment: AssignmentSchema,
  conversation: z.array(ConversationTurnSchema),
});
export const SynthesizeEventSchema = z.object({
  ...stepBase,
  step: z.literal('synthesize'),
  input: SupervisorWorkerInputSchema,
  plan: PlanSchema,
  results: z.array(WorkerResultSchema),
});

export const AgentEventSchema = z.discriminatedUnion('step', [ClassifyEventSchema, WorkEventSchema, SynthesizeEventSchema]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentStep = AgentEvent['step'];
export type AgentResult = Plan | WorkerResult | Synthesis;
