/**
 * Every agent step of every pattern. The generic agent handler runs the one an event names; a new
 * pattern adds its step definitions here.
 *
 * @example
 * ```ts
 * const definition = stepNamed('classify'); // undefined for an unknown step
 * ```
 */
import { executeStep } from '../../patterns/auction/execute.ts';
import { verifyAwardStep } from '../../patterns/auction/verify-award.ts';
import { classifyStep } from '../../patterns/supervisor-worker/classify.ts';
import { decomposeStep } from '../../patterns/hierarchical/decompose.ts';
import { reviewStep } from '../../patterns/hierarchical/review.ts';
import { rollupStep } from '../../patterns/hierarchical/rollup.ts';
import { critiqueStep } from '../../patterns/peer-to-peer/critique.ts';
import { proposeStep } from '../../patterns/peer-to-peer/propose.ts';
import { tallyStep } from '../../patterns/peer-to-peer/tally.ts';
import { verifyStep } from '../../patterns/peer-to-peer/verify.ts';
import { gateStep } from '../../patterns/pipeline/gate.ts';
import { loopCheckStep } from '../../patterns/pipeline/loop-check.ts';
import { verifyClaimsStep } from '../../patterns/pipeline/verify-claims.ts';
import { stageStep } from '../../patterns/pipeline/stage.ts';
import type { AgentStepDefinition } from './step-definition.ts';
import { synthesizeStep } from '../../patterns/supervisor-worker/synthesize.ts';
import { workStep } from '../../patterns/supervisor-worker/work.ts';

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
