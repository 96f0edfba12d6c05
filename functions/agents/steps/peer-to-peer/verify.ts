/**
 * The verifier's `verify` step: before the negotiated answer is returned, check every claim it
 * rests on against the facts the input gives (the source of truth). Deterministic, no model: peers
 * agreeing is no evidence that their premise is true (hallucinated consensus), so agreement never
 * raises `verified`; only matching facts do. An answer that cites no fact, or a fact the input does
 * not have, is not verified.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type ClaimCheck,
  type FactValue,
  type Verification,
  VerificationSchema,
  VerifyEventSchema,
  type VerifyEvent,
} from '../../../shared/contracts/peer-to-peer.ts';
import { InvalidEventError } from '../../../shared/errors.ts';
import type { StepContext } from '../step-context.ts';
import { defineStep } from '../step-definition.ts';

/** Facts match when their text matches, ignoring case and surrounding blanks (1200 matches "1200"). */
function sameValue(left: FactValue, right: FactValue): boolean {
  return String(left).trim().toLowerCase() === String(right).trim().toLowerCase();
}

/** Checks the tally's best proposal against the input's facts (pure and deterministic). */
export function verifyAnswer(event: VerifyEvent): Verification {
  const best = event.tally.best;
  if (!best) throw new InvalidEventError('verify', ['the tally has no proposal to verify']);
  const { facts } = event.input;
  const checks = best.claims.map((claim): ClaimCheck => {
    const expected = Object.hasOwn(facts, claim.fact) ? (facts[claim.fact] ?? null) : null;
    const status = expected === null ? 'unknown-fact' : sameValue(expected, claim.value) ? 'confirmed' : 'contradicted';
    return { fact: claim.fact, claimed: claim.value, expected, status };
  });
  const failed = checks.filter((check) => check.status !== 'confirmed');
  const verified = checks.length > 0 && failed.length === 0;
  return { verified, checkedProposal: best.agentId, checks, reason: reasonFor(checks, failed, Object.keys(facts).length) };
}

function reasonFor(checks: readonly ClaimCheck[], failed: readonly ClaimCheck[], factCount: number): string {
  if (factCount === 0) return 'the input gives no facts to check the answer against';
  if (checks.length === 0) return 'the answer cites no fact of the input, so nothing it rests on could be checked';
  if (failed.length === 0) return `all ${checks.length} claims match the facts of the input`;
  const details = failed.map((check) => `${check.fact}=${JSON.stringify(check.claimed)} (input: ${check.expected === null ? 'no such fact' : JSON.stringify(check.expected)})`);
  return `${failed.length} of ${checks.length} claims do not match the input: ${details.join('; ')}`;
}

function verify(event: VerifyEvent, { logger }: StepContext): Promise<Verification> {
  const verification = verifyAnswer(event);
  warnIfUnverified(logger, verification);
  return Promise.resolve(verification);
}

function warnIfUnverified(logger: Logger, verification: Verification): void {
  if (!verification.verified) logger.warn('negotiated answer not verified', { checkedProposal: verification.checkedProposal, reason: verification.reason });
}

/** A verdict must fit its checks, and check exactly the claims of the proposal the tally chose. */
export function verificationProblems(event: VerifyEvent, verification: Verification): string[] {
  const problems: string[] = [];
  const best = event.tally.best;
  if (verification.checkedProposal !== best?.agentId) problems.push(`checked ${verification.checkedProposal}'s proposal, the tally chose ${best?.agentId ?? 'none'}`);
  const allConfirmed = verification.checks.length > 0 && verification.checks.every((check) => check.status === 'confirmed');
  if (verification.verified !== allConfirmed) problems.push(`verified is ${verification.verified} but ${allConfirmed ? 'every' : 'not every'} claim is confirmed`);
  const claimed = best?.claims.map((claim) => claim.fact).join(',');
  if (verification.checks.map((check) => check.fact).join(',') !== claimed) problems.push('the checks are not the claims of the proposal');
  return problems;
}

export const verifyStep = defineStep({
  step: 'verify',
  roles: ['verifier'],
  eventSchema: VerifyEventSchema,
  resultSchema: VerificationSchema,
  run: verify,
  invariants: verificationProblems,
});
