/**
 * Calibrated confidence: how far a result can be trusted, from the evidence that checked its
 * claims against a source of truth (fact-check.ts), set beside how strongly the agents agreed on
 * it. Agreement is no evidence: agents that repeat one another's false premise agree perfectly
 * (hallucinated consensus). So the rule, for every pattern:
 *
 * - `agreement` (the raw consensus confidence) = supporters / voters;
 * - `calibrated` comes from the checks only, never from agreement:
 *   0 when any claim is contradicted; otherwise the share of claims confirmed (a claim about a fact
 *   the source of truth does not have confirms nothing); UNCHECKED_PRIOR when there was no claim to
 *   check (below the threshold: an unchecked result is never reported as confident);
 * - `verified` = at least one claim, and every claim confirmed;
 * - verification *failed* = at least one claim not confirmed (contradicted or unknown);
 * - `detection` (hallucinated consensus) = agreement ≥ threshold AND verification failed.
 *
 * Pure and deterministic.
 *
 * @example
 * ```ts
 * const confidence = calibrateConfidence({ checks: [{ status: 'contradicted' }], supporters: 3, voters: 3 });
 * // { agreement: 1, calibrated: 0, threshold: 0.7, verified: false, detection: true }
 * ```
 */
import { z } from 'zod';
import type { CheckStatus } from './fact-check.ts';

/** Agreement at or above which a failed verification is a detection. */
export const DEFAULT_CONFIDENCE_THRESHOLD = 0.7;

/** Calibrated confidence of a result none of whose claims could be checked: a coin toss, below the threshold. */
export const UNCHECKED_PRIOR = 0.5;

const share = z.number().min(0).max(1);

export const CalibratedConfidenceSchema = z.object({
  /** Supporters / voters: the raw consensus confidence. */
  agreement: share,
  /** From the claim checks only; agreement never raises it. */
  calibrated: share,
  threshold: share,
  /** Every claim confirmed (and at least one). */
  verified: z.boolean(),
  /** Agreement at or above the threshold while verification failed: hallucinated consensus. */
  detection: z.boolean(),
});
export type CalibratedConfidence = z.infer<typeof CalibratedConfidenceSchema>;

export interface ConfidenceEvidence {
  /** The checks of the claims the result rests on (only `status` is read). */
  checks: readonly { status: CheckStatus }[];
  /** Agents that back the result. */
  supporters: number;
  /** Agents that could have backed it (the denominator of the quorum). */
  voters: number;
  /** @default DEFAULT_CONFIDENCE_THRESHOLD */
  threshold?: number;
}

/**
 * Computes the calibrated confidence of a result and whether it is a hallucinated consensus.
 *
 * @throws {RangeError} when supporters is not an integer in 0..voters, voters not a positive integer, or the threshold not in 0..1
 *
 * @example
 * ```ts
 * calibrateConfidence({ checks: [{ status: 'confirmed' }, { status: 'unknown-fact' }], supporters: 2, voters: 3 });
 * // { agreement: 0.666..., calibrated: 0.5, threshold: 0.7, verified: false, detection: false }
 * ```
 */
export function calibrateConfidence(evidence: ConfidenceEvidence): CalibratedConfidence {
  const { checks, supporters, voters, threshold = DEFAULT_CONFIDENCE_THRESHOLD } = evidence;
  assertEvidence(supporters, voters, threshold);
  const agreement = supporters / voters;
  const confirmed = checks.filter((check) => check.status === 'confirmed').length;
  const verified = checks.length > 0 && confirmed === checks.length;
  const failed = checks.length > 0 && confirmed < checks.length;
  return { agreement, calibrated: evidenceConfidence(checks, confirmed), threshold, verified, detection: failed && agreement >= threshold };
}

/** The evidence alone: what the checks say, whoever agreed. */
function evidenceConfidence(checks: readonly { status: CheckStatus }[], confirmed: number): number {
  if (checks.length === 0) return UNCHECKED_PRIOR;
  if (checks.some((check) => check.status === 'contradicted')) return 0;
  return confirmed / checks.length;
}

function assertEvidence(supporters: number, voters: number, threshold: number): void {
  if (!Number.isInteger(voters) || voters < 1) throw new RangeError(`voters must be a positive integer, got ${String(voters)}`);
  if (!Number.isInteger(supporters) || supporters < 0 || supporters > voters) throw new RangeError(`supporters must be an integer from 0 to ${String(voters)}, got ${String(supporters)}`);
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be from 0 to 1, got ${String(threshold)}`);
}
