/**
 * What the peer-to-peer steps share: the round's entries that came back, how to show the input and
 * proposals to a model, and the set comparisons their invariants use.
 *
 * @example
 * ```ts
 * const offered = proposalsMade(event.proposals); // the PROPOSED entries, in peer order
 * ```
 */
import type { Critique, PeerToPeerInput, Proposal, RoundCritique, RoundProposal } from './contract.ts';

/** The proposals of a round that came back (failed peers left out), in peer definition order. */
export function proposalsMade(entries: readonly RoundProposal[]): Proposal[] {
  return entries.filter((entry): entry is Proposal => entry.status === 'PROPOSED');
}

/** The critiques of a round that came back (failed peers left out), in peer definition order. */
export function critiquesMade(entries: readonly RoundCritique[]): Critique[] {
  return entries.filter((entry): entry is Critique => entry.status === 'CRITIQUED');
}

/** The critics whose concerns of a round were aimed at `agentId`, with those concerns. */
export function concernsAbout(agentId: string, critiques: readonly RoundCritique[]): { critic: string; concern: string }[] {
  return critiquesMade(critiques).flatMap((critique) =>
    critique.critiques.filter((concern) => concern.target === agentId).map((concern) => ({ critic: critique.agentId, concern: concern.concern })),
  );
}

/** The question, its background and its facts, as prompt text. */
export function renderQuestion(input: PeerToPeerInput): string {
  const facts = Object.entries(input.facts);
  return [
    `Question: ${input.question}`,
    ...(input.context ? [`Context: ${input.context}`] : []),
    facts.length > 0 ? `Facts (cite them as claims):\n${facts.map(([name, value]) => `- ${name} = ${JSON.stringify(value)}`).join('\n')}` : 'Facts: none given',
  ].join('\n');
}

/** Proposals as prompt text, one line each. */
export function renderProposals(proposals: readonly Proposal[]): string {
  if (proposals.length === 0) return '(none)';
  return proposals.map((proposal) => `- ${proposal.agentId}: ${proposal.proposal}`).join('\n');
}

/** Items of `items` that are not in `allowed`, for problem messages. */
export function outside(items: readonly string[], allowed: readonly string[]): string[] {
  return items.filter((item) => !allowed.includes(item));
}
