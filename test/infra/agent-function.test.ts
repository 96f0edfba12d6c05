/**
 * AgentFunction.addEnvironment: a variable added after construction (an auction bidder's event bus
 * name) counts towards Lambda's 4 KB environment limit like the others, deploy-time values at
 * their longest.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentSettingsFor } from '../../functions/core/agent-settings.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { AgentFunction, ENV_SYSTEM_PROMPT_CHARS } from '../../lib/agent-function.ts';
import { BUNDLED_SYSTEM_PROMPT_MARKER } from '../../functions/core/bundled-modules.ts';
import { cdkJsonContext } from './synth.ts';

describe('Class: AgentFunction', () => {
  describe('Method: addEnvironment', () => {
    let team: TeamDefinition;

    beforeAll(async () => {
      team = await loadTeamFile(PATTERNS.auction.exampleTeamFile);
    });

    function bidder(): { stack: Stack; agent: AgentFunction } {
      // No bundling (the function is never invoked) and no CloudFormation validation (seconds, for nothing checked here).
      const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Standalone');
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const settings = agentSettingsFor(team, 'lexi', (agentId) => `arn:aws:lambda:us-east-1:123456789012:function:${agentId}`);
      return { stack, agent: new AgentFunction(stack, 'Lexi', { settings, table }) };
    }

    it('sets a deploy-time value (a token) given its longest length', () => {
      const { stack, agent } = bidder();
      const bus = new events.EventBus(stack, 'Bus');
      agent.addEnvironment('LEGION_EVENT_BUS_NAME', bus.eventBusName, 256);
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ LEGION_EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^Bus') } }) },
      });
    });

    it('fails synth naming the agent when the environment could exceed 4 KB with the new variable', () => {
      const { agent } = bidder();
      expect(() => { agent.addEnvironment('LARGE', 'x'.repeat(3500)); }).toThrow(/Agent "lexi" of team "marketplace": its Lambda environment could reach \d+ bytes/);
      // Counted as its longest: a token of up to 3500 characters fails as well.
      const { stack, agent: other } = bidder();
      const bus = new events.EventBus(stack, 'Bus');
      expect(() => { other.addEnvironment('LARGE', bus.eventBusName, 3500); }).toThrow(/4096-byte limit/);
    });

    it('counts the variables added before', () => {
      const { agent } = bidder();
      agent.addEnvironment('FIRST', 'x'.repeat(2000));
      expect(() => { agent.addEnvironment('SECOND', 'x'.repeat(2000)); }).toThrow(/4096-byte limit/);
    });

    it('refuses a token without its longest length', () => {
      const { stack, agent } = bidder();
      const bus = new events.EventBus(stack, 'Bus');
      expect(() => { agent.addEnvironment('LEGION_EVENT_BUS_NAME', bus.eventBusName); }).toThrow(/only known at deploy time/);
    });
  });

  describe('Feature: table permissions', () => {
    let team: TeamDefinition;

    beforeAll(async () => {
      team = await loadTeamFile(PATTERNS['supervisor-worker'].exampleTeamFile);
    });

    /** The DynamoDB actions the billing worker's role is granted, with `resources` as given. */
    function tableActions(resources: string[]): string[] {
      const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Standalone');
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const leasing = { ...team, agents: team.agents.map((agent) => (agent.id === 'billing' ? { ...agent, resources } : agent)) };
      new AgentFunction(stack, 'Billing', { settings: agentSettingsFor(leasing, 'billing', (agentId) => `arn:aws:lambda:us-east-1:123456789012:function:${agentId}`), table });
      const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
      const statements = Object.values(policies).flatMap((policy) => (policy.Properties as { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } }).PolicyDocument.Statement);
      const dynamo = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('dynamodb:')));
      const tableId = stack.getLogicalId(table.node.defaultChild as dynamodb.CfnTable);
      for (const statement of dynamo) expect(statement.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
      return dynamo.flatMap((statement) => [statement.Action].flat()).sort();
    }

    it('lets every agent get, put, update, delete and query items, on the table only (deleting forgets the marker of a corrupt step, and releases leases)', () => {
      const all = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
      expect(tableActions([])).toEqual(all);
      expect(tableActions(['database'])).toEqual(all);
    });
  });

  describe('Method: putsEventsOn', () => {
    it('tells the agent the bus and lets it put events on that bus only', async () => {
      // Arrange
      const team = await loadTeamFile(PATTERNS['supervisor-worker'].exampleTeamFile);
      const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Standalone');
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const bus = new events.EventBus(stack, 'Bus');
      const agent = new AgentFunction(stack, 'Billing', { settings: agentSettingsFor(team, 'billing', (agentId) => `arn:aws:lambda:us-east-1:123456789012:function:${agentId}`), table });

      // Act
      agent.putsEventsOn(bus);

      // Assess
      const template = Template.fromStack(stack);
      const busId = stack.getLogicalId(bus.node.defaultChild as events.CfnEventBus);
      template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ LEGION_EVENT_BUS_NAME: { Ref: busId } }) } });
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } })]) },
      });
    });
  });

  describe('Feature: reserved concurrency', () => {
    let team: TeamDefinition;

    beforeAll(async () => {
      team = await loadTeamFile(PATTERNS['supervisor-worker'].exampleTeamFile);
    });

    function reservedOf(agentId: string, options: { own?: number; stackDefault?: number }): unknown {
      const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Standalone');
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const withOwn: TeamDefinition = { ...team, agents: team.agents.map((agent) => (agent.id === agentId ? { ...agent, reservedConcurrency: options.own } : agent)) };
      const settings = agentSettingsFor(withOwn, agentId, (id) => `arn:aws:lambda:us-east-1:123456789012:function:${id}`);
      new AgentFunction(stack, 'Agent', { settings, table, ...(options.stackDefault === undefined ? {} : { agentReservedConcurrency: options.stackDefault }) });
      const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
      return (fn?.Properties as Record<string, unknown> | undefined)?.ReservedConcurrentExecutions;
    }

    it("takes the agent's own setting, else the stack's default, else none", () => {
      expect(reservedOf('billing', { own: 3, stackDefault: 5 })).toBe(3);
      expect(reservedOf('billing', { stackDefault: 5 })).toBe(5);
      expect(reservedOf('billing', {})).toBeUndefined();
    });
  });
  describe('Feature: a system prompt too long for the environment', () => {
    it('puts a marker in the environment and the prompt in the bundled entry, and synthesizes', async () => {
      const team = await loadTeamFile(PATTERNS.auction.exampleTeamFile);
      const longPrompt = `You are a thorough bidder. ${'Weigh every task against your capacity and say why. '.repeat(80)}`;
      expect(longPrompt.length).toBeGreaterThan(ENV_SYSTEM_PROMPT_CHARS);
      const longTeam = { ...team, agents: team.agents.map((agent) => (agent.id === 'lexi' ? { ...agent, systemPrompt: longPrompt } : agent)) };
      const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Standalone');
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const settings = agentSettingsFor(longTeam, 'lexi', (agentId) => `arn:aws:lambda:us-east-1:123456789012:function:${agentId}`);
      new AgentFunction(stack, 'Lexi', { settings, table });

      const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
      const environment = JSON.stringify((fn?.Properties as { Environment: unknown }).Environment);
      expect(environment).toContain(JSON.stringify(BUNDLED_SYSTEM_PROMPT_MARKER).slice(1, -1));
      expect(environment).not.toContain('Weigh every task');
    });

    it('puts tool definitions too long for the environment in the bundled entry with the prompt, and grants their functions all the same', async () => {
      const team = await loadTeamFile('test/fixtures/teams/plans.yaml');
      const description = `A customer's plan and its changes. ${'Give the customer id as C- and digits. '.repeat(100)}`;
      const longTeam = { ...team, agents: team.agents.map((agent) => ({ ...agent, tools: agent.tools.map((tool) => ({ ...tool, description })) })) };
      const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Standalone');
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      new AgentFunction(stack, 'PlansDesk', { settings: agentSettingsFor(longTeam, 'plans-desk', (agentId) => `arn:aws:lambda:us-east-1:123456789012:function:${agentId}`), table });

      const template = Template.fromStack(stack);
      const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
      const environment = JSON.stringify((fn?.Properties as { Environment: unknown }).Environment);
      expect(environment).not.toContain('Give the customer id');
      expect(environment).toContain('\\"tools\\":[]');
      expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('"Action":"lambda:InvokeFunction","Effect":"Allow","Resource":"arn:aws:lambda:us-east-1:123456789012:function:lookup-plan"');
    });
  });
});
