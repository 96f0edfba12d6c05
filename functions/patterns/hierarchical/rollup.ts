/**
 * The strategic lead's last step: merge the sub-teams' answers into one. What failed, what was
 * re-assigned and which limits were hit (here or deeper down) are stated in fixed sentences, not
 * model text, so a failure is always reported and never smoothed over.
 */
import { type Rollup, type RollupEvent, RollupEventSchema, RollupSchema, type TeamReport } from './contract.ts';
import type { AgentConfig } from '../../core/config.ts';
import { AgentOutputError } from '../../core/errors.ts';
import { sameMembers } from '../../agents/output-invariants.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { answerOf, errorNameOf, errorText, failedTeamIds, nestedLimitsHit } from './team-results.ts';

export async function rollup(event: RollupEvent, { config, model }: StepContext): Promise<Rollup> {
  const teams = event.results.map(
    (result): TeamReport => ({
      subTeamId: result.subTeamId,
      team: result.team,
      taskId: result.taskId,
      status: result.status,
      ...(result.status === 'SUCCEEDED' ? { answer: answerOf(result) } : { error: errorText(result) }),
    }),
  );
  const answered = teams.filter((team) => team.status === 'SUCCEEDED');
  let merged = '';
  let usage = { inputTokens: 0, outputTokens: 0 };
  if (answered.length > 0) {
    const parts = answered.map((team) => `[${team.subTeamId}] ${team.answer ?? ''}`);
    const reply = await model.converse({
      modelTier: config.agent.modelTier,
      system: config.agent.systemPrompt,
      prompt: [`Goal: ${event.input.request}`, 'Team answers:', ...parts, 'Merge them into one answer to the goal; keep every team’s findings.'].join('\n'),
      maxTokens: maxReplyTokens(config),
      stateName: event.stateName,
      // Scripted shortcut (offline model only): the team answers, one per line.
      script: { kind: 'fixed', text: parts.join('\n') },
    });
    merged = reply.text.trim();
    usage = reply.usage;
    if (!merged) throw new AgentOutputError(config.agent.id, 'empty roll-up');
  }
  const limitsHit = limitsHitBy(event, config);
  const answer = [merged, ...failureLines(event, teams), ...limitsHit.map((line) => `Limit hit: ${line}`)].filter(Boolean).join('\n');
  return {
    answer: answer || 'No team produced an answer.',
    teams,
    failedTeams: failedTeamIds(event.results),
    // The teams whose part is missing (the run's `degraded`), by sub-team id, with their run's error name.
    degraded: event.results.filter((result) => result.status === 'FAILED').map((result) => ({ agentId: result.subTeamId, reason: errorNameOf(result) })),
    reassigned: event.plan.reassigned,
    retries: event.retries,
    replans: event.replans,
    limitsHit,
    depth: event.plan.depth,
    usage,
  };
}

/** Fixed sentences for every failed team, and for the teams whose sub-goal moved after they failed. */
function failureLines(event: RollupEvent, teams: readonly TeamReport[]): string[] {
  return [
    ...teams.filter((team) => team.status === 'FAILED').map((team) => `Team ${team.subTeamId} failed and is not part of this answer: ${team.error ?? 'unknown error'}`),
    ...event.plan.reassigned.map((move) => `Team ${move.from} failed earlier (${move.error}); its sub-goal went to ${move.to}.`),
  ];
}

/** This execution's own depth limit (when it could not delegate) and the limits nested teams reported. */
function limitsHitBy(event: RollupEvent, config: AgentConfig): string[] {
  const own =
    event.plan.route === 'depth-limit'
      ? [`maxDepth: team ${config.team} at depth ${event.plan.depth} reached the depth limit of ${event.plan.maxDepth} and did not delegate its goal`]
      : [];
  return [...own, ...event.results.flatMap(nestedLimitsHit)];
}

/** The roll-up reports every result, names exactly the failed teams, and reports its own depth limit. */
export function rollupProblems(event: RollupEvent, result: Rollup): string[] {
  const problems: string[] = [];
  if (result.teams.length !== event.results.length) problems.push(`${result.teams.length} team reports for ${event.results.length} results`);
  if (!sameMembers(result.failedTeams, failedTeamIds(event.results))) problems.push('failedTeams are not the teams that failed');
  if (event.plan.route === 'depth-limit' && !result.limitsHit.some((line) => line.startsWith('maxDepth'))) problems.push('the depth limit is not reported');
  return problems;
}

export const rollupStep = defineStep({
  step: 'rollup',
  roles: ['lead'],
  eventSchema: RollupEventSchema,
  resultSchema: RollupSchema,
  run: rollup,
  invariants: rollupProblems,
});
