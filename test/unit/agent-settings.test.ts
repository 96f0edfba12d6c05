import { beforeAll, describe, expect, it } from 'vitest';
import { agentSettingsFor } from '../../functions/core/agent-settings.ts';
import { TeamDefinitionError } from '../../functions/core/errors.ts';
import type { TeamDefinition } from '../../functions/core/team.ts';
import { fakeFunctionArn, loadTelecomTeam } from '../support/telecom.ts';

describe('Function: agentSettingsFor', () => {
  let team: TeamDefinition;
  const arnOf = (agentId: string): string => fakeFunctionArn('telecom-support', agentId);

  beforeAll(async () => {
    team = await loadTelecomTeam();
  });

  it('gives the supervisor every worker, with the ARN the caller resolves, and the fallback answer', () => {
    // Act
    const settings = agentSettingsFor(team, 'supervisor', arnOf);

    // Assess
    expect(settings.team).toBe('telecom-support');
    expect(settings.agent.id).toBe('supervisor');
    expect(settings.fallbackAnswer).toBe(team.fallbackAnswer);
    expect(settings.roster.map((entry) => [entry.id, entry.functionArn])).toEqual([
      ['billing', arnOf('billing')],
      ['technical-support', arnOf('technical-support')],
      ['account-management', arnOf('account-management')],
    ]);
    expect(settings.roster[0]?.capabilities).toContain('refund');
  });

  it('gives a worker no roster and no fallback answer', () => {
    // Act
    const settings = agentSettingsFor(team, 'billing', arnOf);

    // Assess
    expect(settings.agent.role).toBe('worker');
    expect(settings.roster).toEqual([]);
    expect(settings.fallbackAnswer).toBe('');
  });

  it('rejects an agent id the team does not have', () => {
    // Act & Assess
    expect(() => agentSettingsFor(team, 'legal', arnOf)).toThrow(TeamDefinitionError);
    expect(() => agentSettingsFor(team, 'legal', arnOf)).toThrow('no agent with id "legal"');
  });
});
