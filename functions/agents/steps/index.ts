/**
 * Every agent step of every pattern. The generic agent handler runs the one an event names; a new
 * pattern adds its step definitions here.
 *
 * @example
 * ```ts
 * const definition = stepNamed('classify'); // undefined for an unknown step
 * ```
 */
import { executeStep } from './auction/execute.ts';
import { verifyAwardStep } from './auction/verify-award.ts';
import { classifyStep } from './classify.ts';
import { decomposeStep } from './hierarchical/decompose.ts';
import { reviewStep } from './hierarchical/review.ts';
import { rollupStep } from './hierarchical/rollup.ts';
import { critiqueStep } from './peer-to-peer/critique.ts';
import { proposeStep } from './peer-to-peer/propose.ts';
import { tallyStep } from './peer-to-peer/tally.ts';
import { verifyStep } from './peer-to-peer/verify.ts';
import { gateStep } from './pipeline/gate.ts';
import { loopCheckStep } from './pipeline/loop-check.ts';
import { verifyClaimsStep } from './pipeline/verify-claims.ts';
import { stageStep } from './pipeline/stage.ts';
import type { AgentStepDefinition } from './step-definition.ts';
import { synthesizeStep } from './synthesize.ts';
import { workStep } from './work.ts';

export const AGENT_STEPS: readonly AgentStepDefinition[] = [
  // supervisor-worker
  classifyStep,
  workStep,
  synthesizeStep,
  // hierarchical
  decomposeStep,
  reviewStep,
  rollupStep,
  // peer-to-peer
  proposeStep,
  critiqueStep,
  tallyStep,
  verifyStep,
  // pipeline
  stageStep,
  gateStep,
  loopCheckStep,
  verifyClaimsStep,
  // auction
  executeStep,
  verifyAwardStep,
];

export function stepNamed(step: string): AgentStepDefinition | undefined {
  return AGENT_STEPS.find((definition) => definition.step === step);
}
