/**
 * Derives what one agent function is told about its team, from the team definition: CDK puts it in
 * the function's environment, the local runtime hands it to the handler directly.
 *
 * @example
 * ```ts
 * const settings = agentSettingsFor(team, 'supervisor', (id) => arns[id]);
 * settings.roster.map((worker) => worker.id); // ['billing', ...]
 * ```
 */
import type { AgentSettings } from './config.ts';
import { type TeamDefinition, workersOf } from './team-schema.ts';
import { TeamDefinitionError } from './errors.ts';

export function agentSettingsFor(
  team: TeamDefinition,
  agentId: string,
  functionArnOf: (agentId: string) => string,
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
  return { team: team.name, agent, roster, fallbackAnswer: agent.role === 'supervisor' ? (team.fallbackAnswer ?? '') : '' };
}
