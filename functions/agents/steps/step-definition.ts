/**
 * What one agent step is, for the generic agent handler: the `step` name the state machine sends,
 * the roles that may run it, the schemas of its event and result, the step itself, and the
 * invariants its result must keep. Each pattern defines its steps with `defineStep` and lists them
 * in `steps/index.ts`; the handler, the output check and the local runtime need nothing else.
 *
 * @example
 * ```ts
 * export const workStep = defineStep({
 *   step: 'work', roles: ['worker'], eventSchema: WorkEventSchema, resultSchema: WorkerResultSchema,
 *   run: work, invariants: workProblems,
 * });
 * ```
 */
import { z } from 'zod';
import type { AgentConfig } from '../../core/config.ts';
import type { AgentRole } from '../../core/contract.ts';
import type { TokenUsage } from '../../models/model-provider.ts';
import type { StepContext } from './step-context.ts';

/** The fields every agent step event has (the state machine sets them). */
export interface StepEventBase {
  step: string;
  taskId: string;
  stateName: string;
  /** The fencing token of the execution that owns the task. */
  epoch?: number | undefined;
  /** Tells apart runs of one state by one agent (a pipeline stage's attempt, a peer round). */
  stepId?: string | undefined;
}

/** What every agent step result may carry: the tokens it used. */
export interface StepResultBase {
  usage?: TokenUsage | undefined;
}

export interface AgentStepDefinition<E extends StepEventBase = StepEventBase, R extends StepResultBase = StepResultBase> {
  /** The `step` of the events this definition handles; unique across patterns. */
  step: string;
  /** Roles whose agents may run it. */
  roles: readonly AgentRole[];
  eventSchema: z.ZodType<E>;
  resultSchema: z.ZodType<R>;
  run(event: E, context: StepContext): Promise<R>;
  /** What is wrong with a schema-valid result beyond its schema; an empty list means consistent. */
  invariants?(event: E, result: R, config: AgentConfig): string[];
}

/**
 * Checks a step definition against its own event and result types, and widens it for the registry.
 * (Method parameters are bivariant in TypeScript; what makes the widening safe is that the handler
 * parses every event with the definition's own `eventSchema` before `run` or `invariants` see it.)
 */
export function defineStep<E extends StepEventBase, R extends StepResultBase>(definition: AgentStepDefinition<E, R>): AgentStepDefinition {
  return definition;
}

/** What every step event has; the step's own schema checks the rest once the step is known. */
export const StepEnvelopeSchema = z.looseObject({
  step: z.string().min(1),
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  stepId: z.string().min(1).max(200).optional(),
});
export type StepEnvelope = z.infer<typeof StepEnvelopeSchema>;
