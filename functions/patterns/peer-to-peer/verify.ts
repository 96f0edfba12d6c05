/**
 * The verifier's `verify` step: before the negotiated answer is returned, check every claim it
 * rests on against the facts the input gives (the source of truth), and calibrate the confidence
 * in it. Deterministic, no model: peers agreeing is no evidence that their premise is true
 * (hallucinated consensus), so agreement never raises `verified` nor the calibrated confidence;
 * only matching facts do. An answer that cites no fact, or a fact the input does not have, is not
 * verified. When a quorum-strength agreement (the share of peers backing the answer, at or above
 * the threshold) meets a failed verification, the result says `hallucination: true`, and the state
 * machine records the detection, then flags the answer or, for a high-impact task, escalates.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { calibrateConfidence } from '../../guards/calibrated-confidence.ts';
import {
  type ClaimCheck,
  type Verification,
  VerificationSchema,
  VerifyEventSchema,
  type VerifyEvent,
} from './contract.ts';
import type { Detection } from '../../core/contracts/detections.ts';
import { ConfigurationError, InfrastructureError, InvalidEventError } from '../../core/errors.ts';
import { type Facts, FactsSchema, checkClaim } from '../../guards/fact-check.ts';
import type { StepContext } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';

/** The reason is for a human and travels in the state; a proposal's 20 long claims must not make it huge. */
export const MAX_REASON_LENGTH = 1500;

/** Where the facts come from, for the reason a human reads: `the input`, or `tool fact_lookup`. */
export type FactSource = 'the input' | `tool ${string}`;

/** Checks the tally's best proposal against the facts (the input's, unless given others), pure and deterministic. */
export function verifyAnswer(event: VerifyEvent, facts: Facts = event.input.facts, source: FactSource = 'the input'): Verification {
  const best = event.tally.best;
  if (!best) throw new InvalidEventError('verify', ['the tally has no proposal to verify']);
  const checks = best.claims.map((claim) => checkClaim(claim, facts));
  const failed = checks.filter((check) => check.status !== 'confirmed');
  const { support } = event.tally;
  const confidence = calibrateConfidence({ checks, supporters: support.count, voters: support.of });
  const reason = truncate(reasonFor(checks, failed, Object.keys(facts).length, source), MAX_REASON_LENGTH);
  return {
    verified: confidence.verified,
    checkedProposal: best.agentId,
    checks,
    reason,
    confidence,
    hallucination: confidence.detection,
    detection: confidence.detection ? detectionFor(event, confidence.calibrated, reason) : null,
  };
}

/** The detection of a hallucinated consensus: flagged, or escalated when the input marks the task high impact. */
function detectionFor(event: VerifyEvent, calibrated: number, reason: string): Detection {
  const { support, best, round } = event.tally;
  return {
    type: 'hallucination',
    step: event.stateName,
    stepId: `round-${String(round)}`,
    action: event.input.highImpact ? 'escalated' : 'flagged',
    agents: [...support.backers],
    details: `${String(support.count)} of ${String(support.of)} peers backed the proposal of ${best?.agentId ?? 'none'}, whose claims failed verification (calibrated confidence ${String(calibrated)}): ${reason}`.slice(0, 2000),
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function reasonFor(checks: readonly ClaimCheck[], failed: readonly ClaimCheck[], factCount: number, source: FactSource): string {
  const where = source === 'the input' ? 'input' : source;
  if (factCount === 0) return `${source} gives no facts to check the answer against`;
  if (checks.length === 0) return `the answer cites no fact of ${source}, so nothing it rests on could be checked`;
  if (failed.length === 0) return `all ${checks.length} claims match the facts of ${source}`;
  const details = failed.map((check) => `${check.fact}=${JSON.stringify(check.claimed)} (${where}: ${check.expected === null ? 'no such fact' : JSON.stringify(check.expected)})`);
  return `${failed.length} of ${checks.length} claims do not match ${source}: ${details.join('; ')}`;
}

async function verify(event: VerifyEvent, { config, logger, callTool }: StepContext): Promise<Verification> {
  const { factsTool } = config.agent;
  const verification = factsTool ? verifyAnswer(event, await factsFromTool(event, factsTool, callTool), `tool ${factsTool}`) : verifyAnswer(event);
  warnIfUnverified(logger, verification);
  return verification;
}

/**
 * The facts the verifier's tool gives for the claims of the answer. A tool that fails or answers
 * something else than a facts object is the source of truth missing: the step fails as an
 * infrastructure error, never a verdict reached without it.
 */
async function factsFromTool(event: VerifyEvent, factsTool: string, callTool: StepContext['callTool']): Promise<Facts> {
  if (!callTool) throw new ConfigurationError([`the verifier's factsTool ${factsTool} is not one of its tools (it has none)`]);
  const names = [...new Set((event.tally.best?.claims ?? []).map((claim) => claim.fact))];
  const outcome = await callTool(factsTool, { facts: names });
  if (outcome.isError) throw new InfrastructureError('FactSourceUnavailable', `the facts tool ${factsTool} failed: ${outcome.content}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(outcome.content) as unknown;
  } catch {
    parsed = undefined;
  }
  const facts = FactsSchema.safeParse(parsed);
  if (!facts.success) throw new InfrastructureError('FactSourceInvalid', `the facts tool ${factsTool} did not answer with a JSON object of facts: ${outcome.content.slice(0, 200)}`);
  return facts.data;
}

function warnIfUnverified(logger: Logger, verification: Verification): void {
  if (verification.verified) return;
  const { checkedProposal, reason, confidence } = verification;
  const message = verification.hallucination ? 'hallucinated consensus: agreed answer failed verification' : 'negotiated answer not verified';
  logger.warn(message, { checkedProposal, reason, agreement: confidence.agreement, calibrated: confidence.calibrated });
}

/** A verdict must fit its checks, check exactly the claims of the proposal the tally chose, and calibrate from that tally's support. */
export function verificationProblems(event: VerifyEvent, verification: Verification): string[] {
  const problems: string[] = [];
  const best = event.tally.best;
  if (verification.checkedProposal !== best?.agentId) problems.push(`checked ${verification.checkedProposal}'s proposal, the tally chose ${best?.agentId ?? 'none'}`);
  const allConfirmed = verification.checks.length > 0 && verification.checks.every((check) => check.status === 'confirmed');
  if (verification.verified !== allConfirmed) problems.push(`verified is ${verification.verified} but ${allConfirmed ? 'every' : 'not every'} claim is confirmed`);
  const claimed = best?.claims.map((claim) => claim.fact).join(',');
  if (verification.checks.map((check) => check.fact).join(',') !== claimed) problems.push('the checks are not the claims of the proposal');
  return [...problems, ...confidenceProblems(event, verification)];
}

function confidenceProblems(event: VerifyEvent, verification: Verification): string[] {
  const problems: string[] = [];
  const { confidence } = verification;
  const { count, of } = event.tally.support;
  if (Math.abs(confidence.agreement - count / of) > 1e-9) problems.push(`agreement is ${confidence.agreement}, the tally's support is ${count} of ${of}`);
  if (confidence.verified !== verification.verified) problems.push('the confidence and the verdict disagree on verified');
  if (confidence.calibrated > 0 && verification.checks.some((check) => check.status === 'contradicted')) problems.push('calibrated confidence above 0 with a contradicted claim');
  if (verification.hallucination !== confidence.detection) problems.push(`hallucination is ${verification.hallucination}, the confidence's detection ${confidence.detection}`);
  if ((verification.detection === null) === verification.hallucination) problems.push('a detection comes with a hallucination, and only then');
  if (verification.detection && (verification.detection.action === 'escalated') !== event.input.highImpact) problems.push('only a high-impact task escalates');
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
