/**
 * Derives what one agent function is told about its team, from the team definition: CDK puts it in
 * the function's environment, the local runtime hands it to the handler directly.
 *
 * @example
 * ```ts
 * const settings = agentSettingsFor(team, 'supervisor', (id) => arns[id]);
 * settings.roster.map((worker) => worker.id); // ['billing', ...]
 * const lead = agentSettingsFor(hierarchy, 'strategist', (id) => arns[id], (team) => machineArns[team]);
 * lead.teams?.map((entry) => entry.stateMachineArn);
 * ```
 */
import type { AgentSettings } from './config.ts';
import { type TeamDefinition, workersOf } from './team-schema.ts';
import { TeamDefinitionError } from './errors.ts';

export function agentSettingsFor(
  team: TeamDefinition,
  agentId: string,
  functionArnOf: (agentId: string) => string,
  /** hierarchical: the deployed state machine of a team, by team name (the lead's roster needs it). */
  stateMachineArnOf?: (teamName: string) => string,
): AgentSettings {
  const agent = team.agents.find((candidate) => candidate.id === agentId);
  if (!agent) throw new TeamDefinitionError(team.name, [`no agent with id "${agentId}"`]);
  const roster =
    agent.role === 'supervisor'
      ? workersOf(team).map((worker) => ({
          id: worker.id,
          description: worker.description,
          capabilities: worker.capabilities,
          functionArn: functionArnOf(worker.id),
        }))
      : [];
  const settings: AgentSettings = {
    team: team.name,
    pattern: team.pattern,
    agent,
    roster,
    fallbackAnswer: agent.role === 'supervisor' ? (team.fallbackAnswer ?? '') : '',
    taskTokenBudget: team.limits.taskTokenBudget,
  };
  if (agent.role !== 'lead') return settings;
  if (!stateMachineArnOf) throw new TeamDefinitionError(team.name, [`lead ${agentId}: no state machine ARNs given for its sub-teams`]);
  const teams = (team.subTeams ?? []).map((subTeam) => ({
    id: subTeam.id,
    team: subTeam.team,
    description: subTeam.description,
    capabilities: subTeam.capabilities,
    stateMachineArn: stateMachineArnOf(subTeam.team),
  }));
  return { ...settings, teams };
}
