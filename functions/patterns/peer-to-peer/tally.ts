/**
 * The verifier's `tally` step: counts which proposal each peer backs and applies the quorum rule.
 * Arithmetic only, no model: the verifier runs it because it decides no content, and a deterministic
 * count is what keeps the negotiation free of a central supervisor.
 *
 * Quorum: a proposal is agreed when at least ceil(quorum × peers of the team) peers back it. The
 * denominator is every peer of the team, so a failed peer counts as not backing anything and cannot
 * lower the bar. Best proposal: the most backers; ties go to the earliest peer in the team's
 * definition order.
 */
import {
  type NegotiationLoop,
  type Proposal,
  type Tally,
  TallyEventSchema,
  type TallyEvent,
  type TallyOutcome,
  TallySchema,
} from './contract.ts';
import type { DegradedPart } from '../../core/contracts/degraded.ts';
import { highestRanked, recurrence } from '../../guards/loop-detector.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { critiquesMade, proposalsMade } from './negotiation.ts';

/** Backers needed for agreement; the epsilon keeps 2/3 × 3 from rounding up to 3. */
export function requiredBackers(quorum: number, peers: number): number {
  return Math.max(1, Math.ceil(quorum * peers - 1e-9));
}

/** Counts one round (pure and deterministic). */
export function tallyRound(event: TallyEvent): Tally {
  const offered = proposalsMade(event.proposals);
  const critics = critiquesMade(event.critiques);
  const byProposal = Object.fromEntries(offered.map((proposal) => [proposal.agentId, critics.filter((critic) => critic.supports === proposal.agentId).length]));
  const required = requiredBackers(event.quorum, event.peerIds.length);
  const positions = [...event.positions, event.peerIds.map((id) => critics.find((critic) => critic.agentId === id)?.supports ?? '').join(',')];
  const counted = bestProposal(event.peerIds, offered, byProposal);
  const count = counted ? (byProposal[counted.agentId] ?? 0) : 0;
  const outcome = outcomeOf({ hasBest: counted !== undefined, count, required, answering: critics.length, round: event.round, maxRounds: event.maxRounds });
  const loop = outcome === 'continue' ? negotiationLoop(event, offered, positions) : null;
  const best = loop?.ruling ? offered.find((proposal) => proposal.agentId === loop.ruling) : counted;
  const backers = best ? event.peerIds.filter((id) => critics.some((critic) => critic.agentId === id && critic.supports === best.agentId)) : [];
  return {
    round: event.round,
    outcome: loop ? 'looping' : outcome,
    agreed: outcome === 'agreed',
    best: best ? { agentId: best.agentId, proposal: best.proposal, claims: best.claims } : null,
    support: { backers, count: backers.length, of: event.peerIds.length, required, byProposal },
    answering: critics.length,
    positions,
    loop,
    degraded: satOut(event),
  };
}

/** The peers whose proposal or critique failed this round, once each, with the first error name. */
function satOut(event: TallyEvent): DegradedPart[] {
  const parts = new Map<string, string>();
  for (const entry of [...event.proposals, ...event.critiques]) {
    if (entry.status === 'FAILED' && !parts.has(entry.agentId)) parts.set(entry.agentId, entry.error);
  }
  return [...parts].map(([agentId, reason]) => ({ agentId, reason }));
}

/**
 * A round without agreement whose positions repeat the last round's or flip back to the one
 * before: more rounds will not end it. The conflict rule takes the proposal of the peer ranked
 * above all others (among those that proposed); with the top rank shared, a human decides.
 */
function negotiationLoop(event: TallyEvent, offered: readonly Proposal[], positions: readonly string[]): NegotiationLoop | null {
  const seen = recurrence(positions.slice(0, -1), positions.at(-1) ?? '');
  if (!seen) return null;
  const ranks = Object.fromEntries(event.peerIds.map((id, index) => [id, Number(event.ranks[index] ?? '1')]));
  const ruling = highestRanked(offered.map((proposal) => proposal.agentId), ranks) ?? null;
  const what = seen.kind === 'repetition' ? 'the same positions as the round before' : 'positions flipped back to those of two rounds before';
  const decided = ruling ? `conflict rule: ${ruling} ranks above the other peers, its proposal is taken` : 'the top rank is shared, no rule decides: escalated to a human';
  return {
    kind: seen.kind,
    ruling,
    detection: {
      type: 'loop',
      step: event.stateName,
      stepId: `round-${String(event.round)}`,
      action: ruling ? 'conflict-rule' : 'escalated',
      agents: [...event.peerIds],
      details: `Round ${String(event.round)} of ${String(event.maxRounds)} without agreement, ${what}: ${decided}`,
    },
  };
}

/** Most backers, then the earliest peer in definition order. */
function bestProposal(peerIds: readonly string[], offered: readonly Proposal[], byProposal: Record<string, number>): Proposal | undefined {
  const rank = (proposal: Proposal): number => peerIds.indexOf(proposal.agentId);
  const ordered = [...offered].sort((a, b) => (byProposal[b.agentId] ?? 0) - (byProposal[a.agentId] ?? 0) || rank(a) - rank(b));
  return ordered[0];
}

interface RoundCount {
  hasBest: boolean;
  count: number;
  required: number;
  answering: number;
  round: number;
  maxRounds: number;
}

/** Agreement first; then whether agreement is still possible; then whether rounds are left. */
function outcomeOf({ hasBest, count, required, answering, round, maxRounds }: RoundCount): TallyOutcome {
  if (hasBest && count >= required) return 'agreed';
  if (!hasBest || answering < required) return 'unreachable';
  return round >= maxRounds ? 'exhausted' : 'continue';
}

/** What the next state relies on: an outcome that fits the numbers and the round limit, and a real best proposal. */
export function tallyProblems(event: TallyEvent, tally: Tally): string[] {
  const problems: string[] = [];
  const offered = proposalsMade(event.proposals);
  const source = offered.find((proposal) => proposal.agentId === tally.best?.agentId);
  if (tally.round !== event.round) problems.push(`tally is for round ${tally.round}, not ${event.round}`);
  if (tally.best && (!source || source.proposal !== tally.best.proposal)) problems.push(`best proposal is not ${tally.best.agentId}'s proposal of this round`);
  if ((tally.best === null) !== (offered.length === 0)) problems.push('best is missing although proposals were made, or present without any');
  if (tally.agreed !== (tally.outcome === 'agreed')) problems.push(`agreed is ${tally.agreed} with outcome ${tally.outcome}`);
  if (tally.agreed !== (tally.best !== null && tally.support.count >= tally.support.required)) problems.push('agreed does not follow from the count and the quorum');
  if (tally.outcome === 'continue' && event.round >= event.maxRounds) problems.push(`continue at round ${event.round} of ${event.maxRounds}`);
  if (tally.outcome === 'exhausted' && event.round < event.maxRounds) problems.push(`exhausted at round ${event.round} of ${event.maxRounds}`);
  if (tally.support.backers.length !== tally.support.count) problems.push('backers and count differ');
  if (tally.support.of !== event.peerIds.length) problems.push(`quorum counted over ${tally.support.of} peers, the team has ${event.peerIds.length}`);
  if ((tally.outcome === 'looping') !== (tally.loop !== null)) problems.push(`outcome ${tally.outcome} with${tally.loop ? '' : 'out'} a loop`);
  if (tally.loop?.ruling && tally.best?.agentId !== tally.loop.ruling) problems.push(`the conflict rule took ${tally.loop.ruling}'s proposal, best is ${tally.best?.agentId ?? 'none'}`);
  if (tally.positions.length !== event.positions.length + 1) problems.push('positions must grow by this round');
  return problems;
}

export const tallyStep = defineStep({
  step: 'tally',
  roles: ['verifier'],
  eventSchema: TallyEventSchema,
  resultSchema: TallySchema,
  run: (event: TallyEvent) => Promise.resolve(tallyRound(event)),
  invariants: tallyProblems,
});
