/**
 * LegionTeam: one team deployed into a stack of one's own (which gets a Legion with it) or into an
 * existing LegionStack, from a typed object or a file. A team added after its Legion was built is
 * wired into everything the Legion gives its teams: the RunRequested rule of its pattern, the
 * machines start-run and publish-outcome know, the end-of-execution rule, the approval keeper's and
 * request-approval's callbacks, the alarms and the dashboard. The grants are checked with the
 * offline IAM simulator against the calls those functions make.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TeamDefinitionError } from '../../functions/core/errors.ts';
import { loadTeamFile, type TeamDefinitionInput } from '../../functions/core/team.ts';
import { Construct } from 'constructs';
import { Legion } from '../../lib/legion.ts';
import { LegionTeam } from '../../lib/legion-team.ts';
import { Deployment, type DeployedRole } from '../support/deployed-roles.ts';
import { simulateCall } from '../support/iam-simulator.ts';
import { buildApp, logicalIdOf, newApp, referencedIds, removeTemporaryOutdirs, resourcesOf, type TemplateJson, TELECOM_TEAM_FILE } from './synth.ts';

function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

const HIERARCHY_TEAM_FILE = 'teams/research-hierarchy.yaml';

/** A pipeline team written in TypeScript, with its defaults (limits, budgets, tiers) left out. */
const TRIAGE: TeamDefinitionInput = {
  name: 'triage',
  pattern: 'pipeline',
  description: 'Sorts incoming tickets',
  agents: [
    { id: 'reader', role: 'stage', description: 'Reads the ticket', capabilities: ['read'], systemPrompt: 'Summarize the ticket.' },
    { id: 'sorter', role: 'stage', description: 'Sorts the ticket', capabilities: ['sort'], systemPrompt: 'Give the ticket a queue.' },
    { id: 'gate', role: 'verifier', description: 'Checks the result', capabilities: ['check'], systemPrompt: 'Check the queue given.' },
  ],
};

afterAll(removeTemporaryOutdirs);

describe('Class: LegionTeam', () => {
  describe('Feature: a stack of your own', () => {
    let stack: Stack;
    let triage: LegionTeam;
    let support: LegionTeam;
    let template: TemplateJson;
    let deployment: Deployment;
    const role = (functionName: string): DeployedRole => {
      const found = deployment.roleOf(functionName);
      if (!found) throw new Error(`no role for ${functionName}`);
      return found;
    };

    beforeAll(async () => {
      stack = new Stack(newApp(), 'ServiceStack');
      triage = new LegionTeam(stack, 'Triage', { team: TRIAGE });
      support = await LegionTeam.fromFile(stack, 'Support', TELECOM_TEAM_FILE);
      template = Template.fromStack(stack).toJSON() as TemplateJson;
      deployment = new Deployment(triage.legion);
    });

    it('brings one Legion into the stack, shared by every team in it, with the teams under their own constructs', () => {
      expect(Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table'))).toHaveLength(1);
      expect(Object.keys(resourcesOf(template, 'AWS::Events::EventBus'))).toHaveLength(1);
      expect(Object.keys(resourcesOf(template, 'AWS::StepFunctions::StateMachine'))).toHaveLength(2);
      expect(triage.legion.node.path).toBe('ServiceStack/Legion');
      expect(triage.stateMachine.node.path).toBe('ServiceStack/Triage/triage/StateMachine/StateMachine');
      expect(Object.keys(triage.functions).sort()).toEqual(['gate', 'reader', 'sorter']);
      expect(triage.definition.limits.maxRollbacks).toBeGreaterThan(0);
      // The outputs are named as in a LegionStack, whatever the Legion's id.
      expect(Object.keys(template.Outputs ?? {})).toEqual(expect.arrayContaining(['CheckpointTableName', 'EventBusName', 'TriageStateMachineArn', 'TelecomSupportStateMachineArn', 'AlarmTopicArn']));
    });

    it('gives a team deployed already (as a sub-team, say) the construct it has, instead of a second one', async () => {
      const own = new Stack(newApp(), 'Research');
      const hierarchy = await LegionTeam.fromFile(own, 'Hierarchy', HIERARCHY_TEAM_FILE);
      const subTeam = Object.keys(hierarchy.definition.subTeamDefinitions ?? {})[0] ?? '';

      const alone = await LegionTeam.fromFile(own, 'Alone', `teams/${subTeam}.yaml`);

      expect(alone.team).toBe(hierarchy.legion.teams[subTeam]);
      expect(Object.keys(resourcesOf(Template.fromStack(own).toJSON() as TemplateJson, 'AWS::StepFunctions::StateMachine'))).toHaveLength(1 + Object.keys(hierarchy.definition.subTeamDefinitions ?? {}).length);
    });

    it('gives each team added later the RunRequested rule of its pattern, and tells start-run and publish-outcome of its machine', () => {
      expect(Object.keys(triage.legion.events.runRequestedRules).sort()).toEqual(['pipeline', 'supervisor-worker']);
      expect(triage.legion.events.machines.map((machine) => [machine.team, machine.isDefault])).toEqual([
        ['triage', true],
        ['telecom-support', true],
      ]);
      for (const fn of [triage.legion.events.startRun, triage.legion.events.publishOutcome]) {
        const environment = JSON.stringify(template.Resources[logicalIdOf(fn.function)]?.Properties?.Environment);
        expect(environment).toContain('\\"team\\":\\"triage\\"');
        expect(environment).toContain('\\"team\\":\\"telecom-support\\"');
      }
      const ended = template.Resources[logicalIdOf(triage.legion.events.executionEndedRule)]?.Properties?.EventPattern as { detail: { stateMachineArn: unknown[] } };
      expect(referencedIds(ended.detail.stateMachineArn).sort()).toEqual([logicalIdOf(triage.stateMachine), logicalIdOf(support.stateMachine)].sort());
    });

    it('lets the control functions start, describe, answer and keep alive the executions of every team added', async () => {
      for (const team of ['triage', 'telecom-support']) {
        const machine = deployment.stateMachineArn(team);
        const execution = `${machine.replace(':stateMachine:', ':execution:')}:task-1`;
        expect(await simulateCall(role('legion-control-publish-outcome'), { action: 'states:DescribeExecution', resourceArn: execution, context: {} })).toEqual({ allowed: true });
        expect(await simulateCall(role('legion-control-approval-keeper'), { action: 'states:SendTaskHeartbeat', resourceArn: machine, context: {} })).toEqual({ allowed: true });
        expect(await simulateCall(role('legion-control-request-approval'), { action: 'states:SendTaskSuccess', resourceArn: machine, context: {} })).toEqual({ allowed: true });
      }
      const other = 'arn:aws:states:us-east-1:123456789012:stateMachine:someone-elses';
      expect(await simulateCall(role('legion-control-approval-keeper'), { action: 'states:SendTaskHeartbeat', resourceArn: other, context: {} })).toMatchObject({ allowed: false });
    });

    it("alarms on each team's state machine and agents, and shows those alarms on the dashboard", () => {
      const keys = Object.keys(triage.legion.alarms.alarms);
      expect(keys).toEqual(expect.arrayContaining(['ExecutionsFailed/triage', 'ExecutionsFailed/telecom-support']));
      const dashboard = JSON.stringify(resourcesOf(template, 'AWS::CloudWatch::Dashboard'));
      for (const key of ['ExecutionsFailed/triage', 'ExecutionsFailed/telecom-support', 'AgentFunctionErrors/triage']) {
        const alarmId = logicalIdOf(defined(triage.legion.alarms.alarms[key], key));
        expect(dashboard).toContain(alarmId);
      }
    });
  });

  describe('Feature: an existing LegionStack', () => {
    it('adds the team to the stack\'s Legion: it is one of the stack\'s teams, with its rule and its output', () => {
      const { stack } = buildApp({ teams: [], modelProvider: 'scripted' });

      const triage = new LegionTeam(stack, 'Triage', { team: TRIAGE });

      expect(triage.legion).toBe(stack.legion);
      expect(Object.keys(stack.teams)).toEqual(['triage']);
      expect(Object.keys(stack.events.runRequestedRules)).toEqual(['pipeline']);
      const outputs = Template.fromStack(stack).toJSON() as TemplateJson;
      expect(Object.keys(outputs.Outputs ?? {})).toContain('TriageStateMachineArn');
    });
  });

  describe('Feature: errors', () => {
    it('refuses a bad definition at synth, naming the construct and each problem with its path', () => {
      const stack = new Stack(newApp(), 'Bad');
      const bad = { ...TRIAGE, limits: { maxRollbacks: -1 } };

      expect(() => new LegionTeam(stack, 'Triage', { team: bad })).toThrow(TeamDefinitionError);
      expect(() => new LegionTeam(stack, 'Triage2', { team: bad })).toThrow(/LegionTeam Bad\/Triage2[\s\S]*limits\.maxRollbacks/);
    });

    it('refuses another definition under a deployed team\'s name, and a Legion of another stack', () => {
      const app = newApp();
      const stack = new Stack(app, 'One');
      const first = new LegionTeam(stack, 'Triage', { team: TRIAGE });

      expect(() => new LegionTeam(stack, 'Again', { team: { ...TRIAGE, description: 'Another triage' } })).toThrow(/Another definition of team "triage" is deployed already \(One\/Triage\/triage\)/);
      expect(() => new LegionTeam(new Stack(app, 'Two'), 'Triage', { team: TRIAGE, legion: first.legion })).toThrow(/must be in the stack of its Legion \(One\), not in Two/);
    });

    it('checks the sub-teams of a typed hierarchical team too, naming the sub-team', async () => {
      const hierarchy = await loadTeamFile(HIERARCHY_TEAM_FILE);
      const [name, subTeam] = Object.entries(hierarchy.subTeamDefinitions ?? {})[0] ?? [];
      if (!name || !subTeam) throw new Error('the hierarchy has no sub-team');
      const broken = { ...hierarchy, subTeamDefinitions: { ...hierarchy.subTeamDefinitions, [name]: { ...subTeam, limits: { ...subTeam.limits, maxRollbacks: -1 } } } };

      expect(() => new LegionTeam(new Stack(newApp(), 'Bad'), 'Research', { team: broken })).toThrow(new RegExp(`LegionTeam Bad/Research \\(sub-team ${name}\\)[\\s\\S]*limits\\.maxRollbacks`));
    });

    it('says so when the id a first LegionTeam gives its Legion is taken', () => {
      const stack = new Stack(newApp(), 'Taken');
      new Stack(stack, 'Legion');

      expect(() => new LegionTeam(stack, 'Triage', { team: TRIAGE })).toThrow(/Stack Taken has a construct "Legion" already, which is not a Legion/);
    });

    it('refuses a second Legion in a stack, wherever it is, and fails synth for a Legion with no team', () => {
      const app = newApp();
      const stack = new Stack(app, 'Empty');
      const earlier = new Construct(stack, 'Earlier');
      new Legion(stack, 'Legion');

      expect(() => new Legion(stack, 'Another')).toThrow(/already has a Legion \(Empty\/Legion\)/);
      expect(() => new Legion(earlier, 'Nested')).toThrow(/already has a Legion \(Empty\/Legion\)/);
      expect(() => app.synth()).toThrow(/This Legion has no team/);
    });
  });
});
