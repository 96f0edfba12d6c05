/**
 * Every agent step of every pattern. The generic agent handler runs the one an event names; a new
 * pattern adds its step definitions here.
 *
 * @example
 * ```ts
 * const definition = stepNamed('classify'); // undefined for an unknown step
 * ```
 */
import { classifyStep } from './classify.ts';
import type { AgentStepDefinition } from './step-definition.ts';
import { synthesizeStep } from './synthesize.ts';
import { workStep } from './work.ts';

export const AGENT_STEPS: readonly AgentStepDefinition[] = [
  // supervisor-worker
  classifyStep,
  workStep,
  synthesizeStep,
];

export function stepNamed(step: string): AgentStepDefinition | undefined {
  return AGENT_STEPS.find((definition) => definition.step === step);
}
