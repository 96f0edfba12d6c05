/**
 * A peer's `critique` step: read every proposal of the round, back one (its own is allowed: the
 * quorum counts all peers of the team, so self-support alone never reaches it), and raise concerns
 * about the others. With no proposal on the table it abstains without calling its model.
 */
import { z } from 'zod';
import type { AgentConfig } from '../../core/config.ts';
import { ConcernSchema, type Critique, CritiqueEventSchema, type CritiqueEvent, CritiqueSchema, type Proposal } from './contract.ts';
import { AgentOutputError, InvalidEventError, describeIssues } from '../../core/errors.ts';
import type { AgentDefinition } from '../../core/team-schema.ts';
import { converseForJson, jsonResponseFormat, parseModelJson } from '../../agents/steps/model-json.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { outside, proposalsMade, renderProposals, renderQuestion } from './negotiation.ts';

const CritiqueReplySchema = z.object({
  supports: z.string().nullable(),
  critiques: z.array(ConcernSchema).default([]),
});
type CritiqueReply = z.infer<typeof CritiqueReplySchema>;
const CRITIQUE_FORMAT = jsonResponseFormat('critique', CritiqueReplySchema);

export async function critique(event: CritiqueEvent, { config, model }: StepContext): Promise<Critique> {
  const { agent } = config;
  if (event.peer.agentId !== agent.id) throw new InvalidEventError(agent.id, [`the event is for peer ${event.peer.agentId}`]);
  const offered = proposalsMade(event.proposals);
  const result = { agentId: agent.id, round: event.round, status: 'CRITIQUED' as const };
  if (offered.length === 0) return { ...result, supports: null, critiques: [] };
  const { value: parsedReply, reply } = await converseForJson(model, {
    modelTier: agent.modelTier,
    system: agent.systemPrompt,
    prompt: [
      renderQuestion(event.input),
      `Round ${event.round}. The proposals, each with the critics whose concerns it says it answers:`,
      renderProposals(offered),
      ...offered.map((proposal) => `- ${proposal.agentId} answers concerns of: ${proposal.addresses.join(', ') || 'nobody yet'}`),
      `You are ${agent.id}. Back the proposal you find best (yours is allowed), and raise concerns about the others from your area.`,
      `Reply with JSON only: {"supports": "<proposer id>", "critiques": [{"target": "<proposer id>", "concern": "<one sentence>"}]}`,
    ].join('\n'),
    maxTokens: maxReplyTokens(config),
    responseFormat: CRITIQUE_FORMAT,
    stateName: event.stateName,
    // Scripted shortcut (offline only): the deterministic reply the scripted model gives; real models ignore it.
    script: { kind: 'fixed', text: JSON.stringify(scriptedCritique(event.round, agent, offered)) },
  }, (text) => parseReply(agent.id, text, offered));
  return { ...result, ...parsedReply, usage: reply.usage };
}

/**
 * The scripted critic (offline only, not model behaviour). Round 1: it backs its own proposal (or
 * the first one, if it has none). Later rounds: it backs the proposal answering the most concerns,
 * ties going to the earliest peer of the team. It raises one concern about every other proposal
 * that has not yet answered it.
 */
export function scriptedCritique(round: number, agent: AgentDefinition, offered: readonly Proposal[]): CritiqueReply {
  const mostAnswering = offered.reduce((best, proposal) => (proposal.addresses.length > best.addresses.length ? proposal : best));
  const own = offered.find((proposal) => proposal.agentId === agent.id);
  const supports = round === 1 ? (own ?? offered[0] ?? mostAnswering).agentId : mostAnswering.agentId;
  const topics = agent.capabilities.slice(0, 2).join(' and ');
  return {
    supports,
    critiques: offered
      .filter((proposal) => proposal.agentId !== agent.id && !proposal.addresses.includes(agent.id))
      .map((proposal) => ({ target: proposal.agentId, concern: `Say how it handles ${topics}.` })),
  };
}

function parseReply(agentId: string, text: string, offered: readonly Proposal[]): CritiqueReply {
  const parsed = CritiqueReplySchema.safeParse(parseModelJson(agentId, text));
  if (!parsed.success) throw new AgentOutputError(agentId, describeIssues(parsed.error.issues).join('; '));
  const problems = replyProblems(agentId, parsed.data, offered.map((proposal) => proposal.agentId));
  if (problems.length > 0) throw new AgentOutputError(agentId, problems.join('; '));
  return parsed.data;
}

/** A critic backs a proposal on the table (or abstains) and criticises only other proposals on it. */
function replyProblems(agentId: string, reply: CritiqueReply, offered: readonly string[]): string[] {
  const problems: string[] = [];
  if (reply.supports !== null && !offered.includes(reply.supports)) problems.push(`supports ${reply.supports}, which made no proposal this round`);
  const targets = reply.critiques.map((concern) => concern.target);
  const unknown = outside(targets, offered);
  if (unknown.length > 0) problems.push(`criticises ${unknown.join(', ')}, which made no proposal this round`);
  if (targets.includes(agentId)) problems.push('criticises its own proposal');
  return problems;
}

/** A critique must be this peer's, of this round, and name only proposals of the round. */
export function critiqueProblems(event: CritiqueEvent, result: Critique, config: AgentConfig): string[] {
  const problems: string[] = [];
  if (result.agentId !== config.agent.id || result.agentId !== event.peer.agentId) problems.push(`critique is from ${result.agentId}, the event is for ${event.peer.agentId}`);
  if (result.round !== event.round) problems.push(`critique is for round ${result.round}, not ${event.round}`);
  return [...problems, ...replyProblems(result.agentId, result, proposalsMade(event.proposals).map((proposal) => proposal.agentId))];
}

export const critiqueStep = defineStep({
  step: 'critique',
  roles: ['peer'],
  eventSchema: CritiqueEventSchema,
  resultSchema: CritiqueSchema,
  run: critique,
  invariants: critiqueProblems,
});
