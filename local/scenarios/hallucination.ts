/**
 * `legion run peer-to-peer --inject hallucination`: hallucinated consensus, played on purpose by
 * the scripted model. A SCRIPTED SHORTCUT (offline only): it stands for agents that misbehave, not
 * for anything a model does by itself.
 *
 * pipeline: the first stage (content-pipeline.yaml: `researcher`) adds the statistic to its notes
 * as a finding, and every later stage builds on it (repeats it); the verifier's check of the
 * stages' statistics against the input's facts catches it after the last stage.
 *
 * peer-to-peer: the first peer of the team (the "researcher") fabricates a market statistic: every proposal it
 * makes states, and cites as a claim, a value for the market fact of the team's example input that
 * contradicts it (peer-review: `cacheMarketGrowthPercent` is 23, the researcher says 340). The
 * other peers build on it: their proposals repeat the same claim, and their critiques back the
 * researcher's proposal without a concern about it. So a quorum agrees in round 1 on an answer
 * whose premise is false, and the verifier's check against the facts is what catches it.
 *
 * @example
 * ```ts
 * const model = new ScriptedModel({ scenarios: [hallucinationScenario(team)] });
 * const result = await runtime.run({ team, input: team.example, taskId });
 * result.detections; // [{ type: 'hallucination', step: 'Verify', action: 'flagged', ... }]
 * ```
 */
import { factKeywordsOf } from '../../functions/guards/fact-check.ts';
import type { ModelRequest } from '../../functions/models/model-provider.ts';
import type { ScriptedScenario } from '../../functions/models/scripted-model.ts';
import { TeamDefinitionError } from '../../functions/core/errors.ts';
import { type TeamDefinition, agentsWithRole } from '../../functions/core/team-schema.ts';

/** The market statistic the researcher makes up. */
export interface FabricatedStatistic {
  /** The fact it claims a value for. */
  fact: string;
  value: number;
  /** How the researcher states it in its proposal. */
  sentence: string;
}

/** The value the researcher claims (the brief's "340% growth"), unless that happens to be the truth. */
export const FABRICATED_VALUE = 340;

/** The fact claimed when the team's example input has no market fact: then the claim cites a fact the input does not have. */
export const FALLBACK_MARKET_FACT = 'marketGrowthPercent';

/**
 * The statistic the researcher of a team fabricates: a value for the first fact of the team's
 * example input whose name mentions a market, different from the example's value.
 *
 * @example
 * ```ts
 * fabricatedStatistic(peerReview);
 * // { fact: 'cacheMarketGrowthPercent', value: 340, sentence: 'Market research: the cache market grew 340% last year.' }
 * ```
 */
export function fabricatedStatistic(team: TeamDefinition): FabricatedStatistic {
  const facts = isRecord(team.example?.facts) ? team.example.facts : {};
  const fact = Object.keys(facts).find((name) => /market/i.test(name)) ?? FALLBACK_MARKET_FACT;
  const value = facts[fact] === FABRICATED_VALUE ? FABRICATED_VALUE * 10 : FABRICATED_VALUE;
  const subject = factKeywordsOf(fact).filter((word) => word !== 'growth').join(' ');
  return { fact, value, sentence: `Market research: the ${subject} grew ${String(value)}% last year.` };
}

/**
 * The scenario for a peer-to-peer team: rewrites the scripted replies of its peers' `Propose` and
 * `Critique` steps as described above. Replies it cannot read as JSON (an injected off-contract
 * reply) pass through unchanged.
 *
 * @throws {TeamDefinitionError} when the team is not a peer-to-peer team with peers
 *
 * @example
 * ```ts
 * new ScriptedModel({ scenarios: [hallucinationScenario(await loadTeamFile('teams/peer-review.yaml'))] });
 * ```
 */
export function hallucinationScenario(team: TeamDefinition): ScriptedScenario {
  return team.pattern === 'pipeline' ? pipelineScenario(team) : peerScenario(team);
}

/** pipeline: the first stage states the statistic as its finding; every later stage builds on it. */
function pipelineScenario(team: TeamDefinition): ScriptedScenario {
  const [researcher] = agentsWithRole(team, 'stage');
  if (!researcher) throw new TeamDefinitionError(team.name, ['--inject hallucination needs a pipeline with stages (its first stage fabricates a statistic)']);
  const statistic = fabricatedStatistic(team);
  return (request, reply) => {
    if (request.stateName !== 'RunStage' || !request.agentId || reply.toUpperCase().startsWith('HAND BACK:')) return reply;
    return request.agentId === researcher.id ? `${reply} ${statistic.sentence}` : `${reply} Building on the research: ${statistic.sentence}`;
  };
}

function peerScenario(team: TeamDefinition): ScriptedScenario {
  const [researcher] = agentsWithRole(team, 'peer');
  if (team.pattern !== 'peer-to-peer' || !researcher) throw new TeamDefinitionError(team.name, ['--inject hallucination needs a peer-to-peer or pipeline team (its first peer or stage fabricates a statistic)']);
  const statistic = fabricatedStatistic(team);
  return (request, reply) => {
    const parsed = parseObject(reply);
    if (!parsed || !request.agentId) return reply;
    if (request.stateName === 'Propose') return JSON.stringify(buildOnStatistic(parsed, request.agentId, researcher.id, statistic));
    if (request.stateName === 'Critique' && request.agentId !== researcher.id && offers(request, researcher.id)) return JSON.stringify(backResearcher(parsed, researcher.id));
    return reply;
  };
}

/** Every peer's proposal states the statistic and cites it; the researcher as its finding, the others as building on it. */
function buildOnStatistic(proposal: Record<string, unknown>, agentId: string, researcher: string, statistic: FabricatedStatistic): Record<string, unknown> {
  const claims = listOf(proposal.claims).filter((claim) => !isRecord(claim) || claim.fact !== statistic.fact);
  const sentence = agentId === researcher ? statistic.sentence : `Building on the research of ${researcher}: ${statistic.sentence}`;
  return { ...proposal, proposal: `${String(proposal.proposal)} ${sentence}`, claims: [...claims, { fact: statistic.fact, value: statistic.value }] };
}

/** A peer that builds on the statistic backs the researcher's proposal and raises no concern about it. */
function backResearcher(critique: Record<string, unknown>, researcher: string): Record<string, unknown> {
  const concerns = listOf(critique.critiques).filter((concern) => !isRecord(concern) || concern.target !== researcher);
  return { ...critique, supports: researcher, critiques: concerns };
}

/** Whether the researcher's proposal is on the table (the critique prompt lists each as "- <id>: ..."): a peer can back only a proposal made. */
function offers(request: ModelRequest, researcher: string): boolean {
  return request.prompt.includes(`\n- ${researcher}: `);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
