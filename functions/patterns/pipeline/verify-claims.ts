/**
 * The pipeline's verification layer, run by the verifier once every stage has passed:
 * deterministic, no model call. Each stage's statistics ("the market grew 340%") are checked
 * against the facts of the input (fact-check.ts) — the source of truth, never another stage's
 * word. Stages that repeat a statistic agree on it, and agreement never raises the calibrated
 * confidence (calibrated-confidence.ts): a statistic most stages state while the facts contradict
 * it, or do not have it, is hallucinated consensus. The step then says what to record: `flagged`
 * (the document is returned marked unverified) or, for a task marked `highImpact`, `escalated`.
 *
 * @example
 * ```ts
 * const result = await verifyClaims(event); // { verified: false, hallucination: true, detection: { type: 'hallucination', action: 'flagged', ... } }
 * ```
 */
import { calibrateConfidence } from '../../guards/calibrated-confidence.ts';
import type { Detection } from '../../core/contracts/detections.ts';
import {
  type ClaimsVerification,
  ClaimsVerificationSchema,
  type StageClaimCheck,
  type VerifyClaimsEvent,
  VerifyClaimsEventSchema,
} from './contract.ts';
import { checkTextClaims } from '../../guards/fact-check.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';

/** The reason travels in the state and in the detection's details; a long list of statistics must not make it huge. */
const MAX_REASON_LENGTH = 1500;

export function verifyClaims(event: VerifyClaimsEvent): Promise<ClaimsVerification> {
  return Promise.resolve(claimsVerificationOf(event));
}

/** The verification of the passed stages (pure and deterministic: the step's result, and what its invariant recomputes). */
export function claimsVerificationOf(event: VerifyClaimsEvent): ClaimsVerification {
  const checks = stageClaimChecks(event);
  const failed = checks.filter((check) => check.status !== 'confirmed');
  // The claim the verdict turns on: the most widely stated failed one, else the most widely stated one.
  const pivotal = [...(failed.length > 0 ? failed : checks)].sort((left, right) => right.statedBy.length - left.statedBy.length)[0];
  const confidence = calibrateConfidence({ checks, supporters: pivotal?.statedBy.length ?? 0, voters: event.stages.length });
  const reason = reasonFor(checks, failed, event).slice(0, MAX_REASON_LENGTH);
  return {
    verified: confidence.verified,
    checks,
    confidence,
    hallucination: confidence.detection,
    reason,
    detection: confidence.detection ? detectionFor(event, pivotal?.statedBy ?? [], reason) : null,
  };
}

/** Every statistic of every passed stage, checked, one entry per fact and value, with the stages stating it. */
function stageClaimChecks(event: VerifyClaimsEvent): StageClaimCheck[] {
  const facts = event.input.facts ?? {};
  // No facts, no source of truth: nothing can be verified, and nothing is a detection.
  if (Object.keys(facts).length === 0) return [];
  const byClaim = new Map<string, StageClaimCheck>();
  for (const stage of event.stages) {
    for (const check of checkTextClaims(stage.output, facts)) {
      const key = `${check.fact}=${String(check.claimed)}`;
      const known = byClaim.get(key);
      if (!known) byClaim.set(key, { fact: check.fact, claimed: check.claimed, expected: check.expected, status: check.status, statistic: check.statistic, statedBy: [stage.agentId] });
      else if (!known.statedBy.includes(stage.agentId)) known.statedBy.push(stage.agentId);
    }
  }
  return [...byClaim.values()];
}

function reasonFor(checks: readonly StageClaimCheck[], failed: readonly StageClaimCheck[], event: VerifyClaimsEvent): string {
  if (Object.keys(event.input.facts ?? {}).length === 0) return 'the input gives no facts to check the stages against';
  if (checks.length === 0) return 'the stages state no statistic to check against the facts of the input';
  if (failed.length === 0) return `all ${String(checks.length)} statistics the stages state match the facts of the input`;
  const details = failed.map((check) => {
    const truth = check.expected === null ? 'no such fact' : `the facts say ${String(check.expected)}`;
    return `${check.statistic} (${check.fact}; ${truth}) stated by ${check.statedBy.join(', ')}`;
  });
  return `${String(failed.length)} of ${String(checks.length)} statistics of the ${String(event.stages.length)} stages are not confirmed by the facts: ${details.join('; ')}`;
}

function detectionFor(event: VerifyClaimsEvent, agents: readonly string[], reason: string): Detection {
  return {
    type: 'hallucination',
    step: event.stateName,
    stepId: event.stepId,
    action: event.input.highImpact ? 'escalated' : 'flagged',
    agents: [...agents],
    details: reason,
  };
}

/**
 * The verification is what this deterministic step computes from the event: the checks, the
 * confidence, the verdict and the detection. A result that differs (a hidden hallucination, a
 * raised confidence) is refused.
 */
export function claimsVerificationProblems(event: VerifyClaimsEvent, result: ClaimsVerification): string[] {
  const expected = claimsVerificationOf(event);
  const fields = ['verified', 'checks', 'confidence', 'hallucination', 'detection'] as const;
  return fields.filter((field) => JSON.stringify(result[field]) !== JSON.stringify(expected[field])).map((field) => `${field} is not what the checks of the stages give`);
}

export const verifyClaimsStep = defineStep({
  step: 'verify-claims',
  roles: ['verifier'],
  eventSchema: VerifyClaimsEventSchema,
  resultSchema: ClaimsVerificationSchema,
  run: verifyClaims,
  invariants: claimsVerificationProblems,
});
