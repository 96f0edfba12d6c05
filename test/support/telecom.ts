/**
 * Test support: the shipped telecom team (teams/telecom-support.yaml) and the agent configuration
 * of one of its roles, shaped as functions/core/config.ts shapes it in AWS.
 */
import { fileURLToPath } from 'node:url';
import type { AgentConfig, RosterEntry } from '../../functions/core/config.ts';
import { DEFAULT_MODEL_IDS } from '../../functions/core/contract.ts';
import { agentSettingsFor } from '../../functions/core/agent-settings.ts';
import { type TeamDefinition, loadTeamFile, supervisorOf } from '../../functions/core/team.ts';

export const TELECOM_TEAM_FILE = fileURLToPath(new URL('../../teams/telecom-support.yaml', import.meta.url));

/** A made-up but well-formed Lambda ARN per agent, so tests can tell where each ARN came from. */
export function fakeFunctionArn(team: string, agentId: string): string {
  return `arn:aws:lambda:us-east-1:123456789012:function:legion-${team}-${agentId}`;
}

export function loadTelecomTeam(): Promise<TeamDefinition> {
  return loadTeamFile(TELECOM_TEAM_FILE);
}

/** The roster a supervisor of `team` gets: every worker with its deployed function. */
export function rosterOf(team: TeamDefinition): RosterEntry[] {
  return agentSettingsFor(team, supervisorOf(team).id, (agentId) => fakeFunctionArn(team.name, agentId)).roster;
}

/**
 * The configuration of agent `agentId` of `team`, built the way the local runtime builds it
 * (`agentSettingsFor`) plus what `readAgentConfig` adds in AWS: the table name and model settings.
 */
export function agentConfigOf(team: TeamDefinition, agentId: string): AgentConfig {
  return {
    ...agentSettingsFor(team, agentId, (id) => fakeFunctionArn(team.name, id)),
    tableName: 'legion-checkpoints-unit-test',
    model: { provider: 'scripted', modelIds: DEFAULT_MODEL_IDS },
  };
}
