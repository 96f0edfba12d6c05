/**
 * The hierarchical team in the template: each sub-team deployed once as its own state machine, and
 * the parent's state machine allowed to start exactly those (no wildcard, no other machine), with
 * what `.sync:2` needs besides; the lead's roster carries the children's ARNs from deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentConfig } from '../../functions/core/config.ts';
import { loadTeamFile } from '../../functions/core/team.ts';
import { type Resource, type TemplateJson, actionsOf, buildApp, referencedIds, removeTemporaryOutdirs, renderIntrinsic, resourceList, resourcesOf, statementsOfRole } from './synth.ts';

describe('Construct: HierarchicalTeam', () => {
  let template: TemplateJson;
  let machines: Record<string, Resource>;

  const machineOf = (team: string): [string, Resource] => {
    // A team's construct id is its name, so its machine's logical id starts with the name without dashes.
    const found = Object.entries(machines).find(([id]) => id.startsWith(`${team.replaceAll('-', '')}StateMachine`));
    if (!found) throw new Error(`no state machine for ${team}`);
    return found;
  };
  const roleOf = (machine: Resource): string => referencedIds(machine.Properties?.RoleArn)[0] ?? '';

  beforeAll(async () => {
    const hierarchy = await loadTeamFile('teams/research-hierarchy.yaml');
    const telecom = await loadTeamFile('teams/telecom-support.yaml');
    const market = await loadTeamFile('teams/market-research.yaml');
    // market-research is given on its own too: it must still be deployed once.
    const { app, stack } = buildApp({ teams: [hierarchy, telecom, market], modelProvider: 'scripted' });
    template = app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
    machines = resourcesOf(template, 'AWS::StepFunctions::StateMachine');
  });

  afterAll(() => {
    removeTemporaryOutdirs();
  });

  it('deploys each team once, sub-teams included', () => {
    expect(Object.keys(machines)).toHaveLength(4);
    for (const team of ['research-hierarchy', 'market-research', 'technical-research', 'telecom-support']) expect(machineOf(team)).toBeDefined();
  });

  it('lets the hierarchical machine start only its sub-teams machines, with no wildcard', () => {
    const [, parent] = machineOf('research-hierarchy');
    const children = ['market-research', 'technical-research'].map((team) => machineOf(team)[0]);
    const statements = statementsOfRole(template, roleOf(parent));
    const starts = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('states:StartExecution') || action === 'states:*'));
    const started = starts.flatMap(resourceList);

    expect(started.map((resource) => renderIntrinsic(resource)).sort()).toEqual(children.map((id) => `<${id}>`).sort());
    expect(new Set(starts.flatMap(actionsOf))).toEqual(new Set(['states:StartExecution']));
    expect(statements.flatMap(actionsOf)).not.toContain('states:*');
  });

  it('grants what .sync:2 needs: describe and stop on the children executions, and the managed events rule', () => {
    const [, parent] = machineOf('research-hierarchy');
    const statements = statementsOfRole(template, roleOf(parent));
    const executionGrants = statements.filter((statement) => actionsOf(statement).includes('states:DescribeExecution'));
    expect(new Set(executionGrants.flatMap(actionsOf))).toEqual(new Set(['states:DescribeExecution', 'states:StopExecution']));
    const executions = executionGrants.flatMap(resourceList);
    const children = ['market-research', 'technical-research'].map((team) => machineOf(team)[0]);
    // arn:...:execution:<child's name>:* (the name is taken from the child's ARN with Fn::Select/Fn::Split).
    expect(executions.map((resource) => referencedIds(resource)).sort()).toEqual(children.map((id) => [id]).sort());
    for (const resource of executions) expect(JSON.stringify(resource)).toMatch(/:execution:".*":\*"\]\]\}$/);
    const events = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('events:')));
    expect(events.flatMap(actionsOf).sort()).toEqual(['events:DescribeRule', 'events:PutRule', 'events:PutTargets']);
    expect(events.flatMap(resourceList).map((resource) => renderIntrinsic(resource))).toEqual([
      'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
    ]);
  });

  it('gives no other state machine any states: permission', () => {
    for (const team of ['market-research', 'technical-research', 'telecom-support']) {
      const actions = statementsOfRole(template, roleOf(machineOf(team)[1])).flatMap(actionsOf);
      expect(actions.filter((action) => action.startsWith('states:'))).toEqual([]);
    }
  });

  it("puts the children's state machine ARNs (from deployment) in the lead's roster", () => {
    const lead = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).find((fn) => {
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      return renderIntrinsic(variables.LEGION_AGENT ?? '').includes('"role":"lead"');
    });
    const variables = (lead?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    const config = readAgentConfig(Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, renderIntrinsic(value)])));
    expect(config.teams?.map((entry) => [entry.id, entry.stateMachineArn])).toEqual([
      ['market', `<${machineOf('market-research')[0]}>`],
      ['technical', `<${machineOf('technical-research')[0]}>`],
    ]);
  });
});
