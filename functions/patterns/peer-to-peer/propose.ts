/**
 * A peer's `propose` step: answer the question (round 1), or revise its answer against the
 * critiques the previous round aimed at it. The reply must cite the input's facts it rests on as
 * claims, which the verifier checks before an answer is returned.
 */
import { z } from 'zod';
import type { AgentDefinition } from '../../core/team-schema.ts';
import { ClaimSchema, type Proposal, ProposalSchema, ProposeEventSchema, type ProposeEvent } from './contract.ts';
import { AgentOutputError, InvalidEventError, describeIssues } from '../../core/errors.ts';
import type { AgentConfig } from '../../core/config.ts';
import { converseForJson, jsonResponseFormat, parseModelJson } from '../../agents/steps/model-json.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { concernsAbout, outside, proposalsMade, renderProposals, renderQuestion } from './negotiation.ts';

const ProposalReplySchema = z.object({
  proposal: z.string().trim().min(1).max(4000),
  claims: z.array(ClaimSchema).max(20).default([]),
  addresses: z.array(z.string()).default([]),
});
type ProposalReply = z.infer<typeof ProposalReplySchema>;
const PROPOSAL_FORMAT = jsonResponseFormat('proposal', ProposalReplySchema);

export async function propose(event: ProposeEvent, { config, model }: StepContext): Promise<Proposal> {
  const { agent } = config;
  if (event.peer.agentId !== agent.id) throw new InvalidEventError(agent.id, [`the event is for peer ${event.peer.agentId}`]);
  const received = concernsAbout(agent.id, event.previous.critiques);
  const critics = [...new Set(received.map((entry) => entry.critic))];
  const own = proposalsMade(event.previous.proposals).find((proposal) => proposal.agentId === agent.id);
  const { value: parsedReply, reply } = await converseForJson(model, {
    modelTier: agent.modelTier,
    system: agent.systemPrompt,
    prompt: [
      renderQuestion(event.input),
      `Round ${event.round}.`,
      ...(event.round > 1
        ? [
            `Proposals of the previous round:\n${renderProposals(proposalsMade(event.previous.proposals))}`,
            `Your previous proposal: ${own?.proposal ?? '(none)'}`,
            `Concerns raised about it:\n${received.map((entry) => `- ${entry.critic}: ${entry.concern}`).join('\n') || '(none)'}`,
            'Revise your proposal so that it answers the concerns you accept.',
          ]
        : ['Propose your answer from your own area of expertise.']),
      'Reply with JSON only: {"proposal": "<your answer>", "claims": [{"fact": "<name of a fact above>", "value": <its value>}], "addresses": [<ids of the critics whose concerns you answered>]}',
    ].join('\n'),
    maxTokens: maxReplyTokens(config),
    responseFormat: PROPOSAL_FORMAT,
    stateName: event.stateName,
    // Scripted shortcut (offline only): the deterministic reply the scripted model gives; real models ignore it.
    script: { kind: 'fixed', text: JSON.stringify(scriptedProposal(event, agent, received)) },
  }, (text) => parseReply(agent.id, text, critics));
  const parsed = parsedReply;
  return { agentId: agent.id, round: event.round, status: 'PROPOSED', ...parsed, usage: reply.usage };
}

/**
 * The scripted peer (offline only, not model behaviour): its proposal is its `scriptedReply`
 * template with `{request}` replaced by the question; its claims are the input facts named in its
 * capabilities, with the input's values; from round 2 on it addresses every concern it received.
 */
export function scriptedProposal(event: ProposeEvent, agent: AgentDefinition, received: readonly { critic: string; concern: string }[]): ProposalReply {
  const template = agent.scriptedReply ?? `[${agent.id}] My answer to "{request}".`;
  const base = template.replace(/\{request\}/g, () => event.input.question);
  const critics = [...new Set(received.map((entry) => entry.critic))];
  const topics = agent.capabilities.map((capability) => capability.toLowerCase());
  return {
    proposal: critics.length > 0 ? `${base} (Revised to answer the concerns of ${critics.join(' and ')}.)` : base,
    claims: Object.entries(event.input.facts)
      .filter(([fact]) => topics.includes(fact.toLowerCase()))
      .map(([fact, value]) => ({ fact, value })),
    addresses: critics,
  };
}

function parseReply(agentId: string, text: string, critics: readonly string[]): ProposalReply {
  const parsed = ProposalReplySchema.safeParse(parseModelJson(agentId, text));
  if (!parsed.success) throw new AgentOutputError(agentId, describeIssues(parsed.error.issues).join('; '));
  const unknown = outside(parsed.data.addresses, critics);
  if (unknown.length > 0) throw new AgentOutputError(agentId, `addresses ${unknown.join(', ')}, who raised no concern about this proposal`);
  return { ...parsed.data, addresses: [...new Set(parsed.data.addresses)] };
}

/** A proposal must be this peer's, of this round, and answer only critics who raised a concern about it. */
export function proposalProblems(event: ProposeEvent, proposal: Proposal, config: AgentConfig): string[] {
  const problems: string[] = [];
  if (proposal.agentId !== config.agent.id || proposal.agentId !== event.peer.agentId) problems.push(`proposal is from ${proposal.agentId}, the event is for ${event.peer.agentId}`);
  if (proposal.round !== event.round) problems.push(`proposal is for round ${proposal.round}, not ${event.round}`);
  const critics = concernsAbout(proposal.agentId, event.previous.critiques).map((entry) => entry.critic);
  const unknown = outside(proposal.addresses, critics);
  if (unknown.length > 0) problems.push(`addresses ${unknown.join(', ')}, who raised no concern about it`);
  if (new Set(proposal.addresses).size !== proposal.addresses.length) problems.push('addresses a critic twice');
  return problems;
}

export const proposeStep = defineStep({
  step: 'propose',
  roles: ['peer'],
  eventSchema: ProposeEventSchema,
  resultSchema: ProposalSchema,
  run: propose,
  invariants: proposalProblems,
});
