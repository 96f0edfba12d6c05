/** The hierarchical pattern's pure parts: child task ids, the lead's open decisions, the sub-team loader and the ASL rule on nested executions. */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDecisions } from '../../functions/patterns/hierarchical/review.ts';
import { CHILD_TASK_ID_MAX, type ReviewEvent, type TeamResult, childTaskId } from '../../functions/patterns/hierarchical/contract.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { ROOT_TASK_ID_PATTERN, isChildOf } from '../../functions/core/task-id.ts';
import { loadTeamFile, teamsInDeployOrder } from '../../functions/core/team.ts';
import { lintAsl } from '../statemachines/asl-rules.ts';

describe('Function: childTaskId', () => {
  it('is deterministic, distinct per round and index, and fits an execution name with a UUID', () => {
    const parent = `a-very-long-parent-task-id-${'x'.repeat(70)}`;
    const team = 'market-research';
    expect(childTaskId(parent, team, 0, 1)).toBe(childTaskId(parent, team, 0, 1));
    expect(new Set([childTaskId(parent, team, 0, 0), childTaskId(parent, team, 0, 1), childTaskId(parent, team, 1, 0), childTaskId(parent, 'technical-research', 0, 0)]).size).toBe(4);
    expect(childTaskId(parent, team, 999, 999).length).toBeLessThanOrEqual(CHILD_TASK_ID_MAX);
    // Dots mark a child id: no root id (CLI, RunRequested) may hold one, so nobody can squat it.
    expect(childTaskId('with spaces/and:colons', team, 0, 0)).toMatch(/^[A-Za-z0-9_-]+\.[0-9a-f]{16}\.0\.0$/);
    expect(ROOT_TASK_ID_PATTERN.test(childTaskId(parent, team, 0, 0))).toBe(false);
    expect(isChildOf(childTaskId(parent, team, 3, 2), parent, team)).toBe(true);
    expect(isChildOf(childTaskId(parent, team, 3, 2), `${parent}y`, team)).toBe(false);
    // Tied to its sub-team: another team may not run it.
    expect(isChildOf(childTaskId(parent, team, 3, 2), parent, 'technical-research')).toBe(false);
  });
});

describe('Function: openDecisions', () => {
  const result = (status: TeamResult['status']): TeamResult => ({ subTeamId: 'market', team: 'market-research', taskId: 't', goal: 'g', status });
  const event = (results: TeamResult[], retries: number, replans: number): ReviewEvent =>
    ({ results, retries, replans, limits: { maxDepth: 2, maxFanOut: 4, maxTeamRetries: 1, maxReplans: 1 } }) as unknown as ReviewEvent;

  it('offers only done when nothing failed, and retry/replan only while the counters allow', () => {
    expect(openDecisions(event([result('SUCCEEDED')], 0, 0))).toEqual(['done']);
    expect(openDecisions(event([result('FAILED')], 0, 0))).toEqual(['retry', 'replan', 'done', 'fail']);
    expect(openDecisions(event([result('FAILED')], 1, 1))).toEqual(['done', 'fail']);
  });
});

describe('Function: loadTeamFile (sub-teams)', () => {
  it('loads the sub-teams of the example hierarchy and orders them before their parent', async () => {
    const team = await loadTeamFile(PATTERNS.hierarchical.exampleTeamFile);
    expect(Object.keys(team.subTeamDefinitions ?? {})).toEqual(['market-research', 'technical-research']);
    expect(teamsInDeployOrder([team]).map((definition) => definition.name)).toEqual(['market-research', 'technical-research', 'research-hierarchy']);
  });

  it('names a sub-team whose definition cannot be found', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'legion-hier-'));
    const text = readFileSync(PATTERNS.hierarchical.exampleTeamFile, 'utf8').replace('team: market-research', 'team: nowhere-team');
    await writeFile(join(dir, 'h.yaml'), text);
    await expect(loadTeamFile(join(dir, 'h.yaml'))).rejects.toThrow(/subTeams\.0\.team: no definition nowhere-team\.yaml/);
  });

  it('refuses sub-teams on a team of another pattern', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'legion-hier-'));
    const text = readFileSync('teams/market-research.yaml', 'utf8') + 'subTeams:\n  - { id: x, team: technical-research, description: d, capabilities: [c] }\n';
    await writeFile(join(dir, 'm.yaml'), text);
    await expect(loadTeamFile(join(dir, 'm.yaml'))).rejects.toThrow(/a supervisor-worker team has no subTeams/);
  });
});

describe('ASL rule: nested executions', () => {
  it('rejects a StateMachineArn taken from an unlisted path', () => {
    const asl = JSON.parse(readFileSync(PATTERNS.hierarchical.aslFile, 'utf8')) as { States: { RunTeams: { ItemProcessor: { States: { RunTeam: { Parameters: Record<string, unknown> } } } } } };
    asl.States.RunTeams.ItemProcessor.States.RunTeam.Parameters['StateMachineArn.$'] = '$.assignment.modelSaid';
    expect(lintAsl(asl, PATTERNS.hierarchical.aslRules)).toEqual(['RunTeams/RunTeam: StateMachineArn.$ reads $.assignment.modelSaid, which is not an allowed path']);
  });
});
