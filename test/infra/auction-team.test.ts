/**
 * The auction team in the synthesized template (lib/auction-team.ts): the rules that deliver the
 * team's announcements to each bidder and its bids to the collector (their patterns are those of
 * functions/core/events.ts, which the local event bus matches), their dead-letter queues and
 * retry policies, and the grants: the state machine and the bidders may put events on the Legion
 * bus only, the collector has exactly three table actions, and only the auction's machine may
 * invoke the auction's control functions.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_FUNCTIONS, COMMON_CONTROL_FUNCTIONS, ENV, type ControlFunctionName } from '../../functions/core/contract.ts';
import { auctionAnnouncedPattern, bidSubmittedPattern } from '../../functions/core/events.ts';
import { biddersOf } from '../../functions/patterns/auction/spec.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { AgentTeam, type AgentTeamProps } from '../../lib/agent-team.ts';
import { AuctionTeam } from '../../lib/auction-team.ts';
import type { LegionStack } from '../../lib/legion-stack.ts';
import {
  REPO_ROOT,
  type Resource,
  type Statement,
  type TemplateJson,
  TELECOM_TEAM_FILE,
  actionsOf,
  buildApp,
  cdkJsonContext,
  logicalIdOf,
  referencedIds,
  removeTemporaryOutdirs,
  renderIntrinsic,
  resourceList,
  resourcesOf,
  statementsOfRole,
} from './synth.ts';

const MARKETPLACE_TEAM_FILE = PATTERNS.auction.exampleTeamFile;
const AUCTION_ONLY_CONTROL: readonly ControlFunctionName[] = ['open-auction', 'close-auction', 'settle-award'];

type Target = { Arn: unknown; DeadLetterConfig?: { Arn: unknown }; RetryPolicy?: unknown };

/** Props for a team construct outside a LegionStack (the functions are never called: synth only). */
function standaloneProps(team: TeamDefinition): { stack: Stack; props: AgentTeamProps } {
  // No bundling: the agents' NodejsFunctions are staged as they are.
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Standalone');
  const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const controlFunctions = Object.fromEntries(
    CONTROL_FUNCTIONS.map((name) => [name, lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:us-east-1:123456789012:function:${name}`)]),
  ) as Record<ControlFunctionName, lambda.IFunction>;
  return { stack, props: { team, table, controlFunctions } };
}

describe('Class: AuctionTeam', () => {
  let marketplace: TeamDefinition;

  beforeAll(async () => {
    marketplace = await loadTeamFile(MARKETPLACE_TEAM_FILE);
  });

  describe('Feature: in a LegionStack beside teams of other patterns', () => {
    let stack: LegionStack;
    let auction: AuctionTeam;
    let template: TemplateJson;
    let busId: string;
    let tableId: string;
    let rules: Record<string, Resource>;
    /** Logical id of each bidder's function, by bidder id. */
    let bidderIds: Record<string, string>;
    let collectorId: string;

    const roleOfFunction = (functionId: string): string => referencedIds(template.Resources[functionId]?.Properties?.Role)[0] ?? '';
    const roleOfMachine = (team: string): string => {
      const machine = stack.teams[team]?.stateMachine;
      if (!machine) throw new Error(`no team ${team}`);
      return referencedIds(template.Resources[logicalIdOf(machine)]?.Properties?.RoleArn)[0] ?? '';
    };
    const functionIdOf = (agentId: string): string => {
      const fn = auction.functions[agentId];
      if (!fn) throw new Error(`no function for agent ${agentId}`);
      return logicalIdOf(fn);
    };
    const targetsOf = (rule: Resource): Target[] => rule.Properties?.Targets as Target[];
    const putEvents = (statements: Statement[]): Statement[] => statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('events:')));
    /** The functions a team's machine may invoke (each once, however many statements name it). */
    const invokedBy = (team: string): string[] => [
      ...new Set(
        statementsOfRole(template, roleOfMachine(team))
          .filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'))
          .flatMap((statement) => referencedIds(statement.Resource)),
      ),
    ];

    beforeAll(async () => {
      const telecom = await loadTeamFile(TELECOM_TEAM_FILE);
      const pipeline = await loadTeamFile(`${REPO_ROOT}teams/content-pipeline.yaml`);
      const built = buildApp({ teams: [marketplace, telecom, pipeline] });
      stack = built.stack;
      template = built.app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
      const team = stack.teams.marketplace;
      if (!(team instanceof AuctionTeam)) throw new Error('the marketplace team is not an AuctionTeam');
      auction = team;
      busId = logicalIdOf(stack.bus);
      tableId = logicalIdOf(stack.checkpoints.table);
      rules = resourcesOf(template, 'AWS::Events::Rule');
      bidderIds = Object.fromEntries(biddersOf(marketplace).map((bidder) => [bidder.id, functionIdOf(bidder.id)]));
      collectorId = logicalIdOf(auction.collector.function);
    });
    afterAll(removeTemporaryOutdirs);

    it('has one announcement rule per bidder on the Legion bus, with the pattern of auctionAnnouncedPattern, targeting that bidder', () => {
      expect(Object.keys(auction.announcementRules).sort()).toEqual(['atlas', 'lexi', 'polly', 'quill']);
      const announcing = Object.values(rules).filter((rule) => JSON.stringify(rule.Properties?.EventPattern).includes('AuctionAnnounced'));
      expect(announcing).toHaveLength(4);
      for (const [bidder, rule] of Object.entries(auction.announcementRules)) {
        const resource = rules[logicalIdOf(rule)];
        expect(resource?.Properties?.EventBusName).toEqual({ Ref: busId });
        expect(resource?.Properties?.EventPattern).toEqual(auctionAnnouncedPattern('marketplace'));
        expect(targetsOf(resource ?? { Type: '' }).map((target) => referencedIds(target.Arn))).toEqual([[bidderIds[bidder]]]);
      }
    });

    it('has a bid rule on the Legion bus, with the pattern of bidSubmittedPattern, targeting the collector', () => {
      const bidding = Object.values(rules).filter((rule) => JSON.stringify(rule.Properties?.EventPattern).includes('BidSubmitted'));
      expect(bidding).toHaveLength(1);
      const resource = rules[logicalIdOf(auction.bidRule)];
      expect(resource?.Properties?.EventBusName).toEqual({ Ref: busId });
      expect(resource?.Properties?.EventPattern).toEqual(bidSubmittedPattern('marketplace'));
      expect(targetsOf(resource ?? { Type: '' }).map((target) => referencedIds(target.Arn))).toEqual([[collectorId]]);
    });

    it("gives every target a dead-letter queue of the team and a retry policy bounded by the team's longest bidding window", () => {
      const deadLetters = logicalIdOf(auction.deadLetterQueue);
      // marketplace: a 2 s window doubled twice is 8 s, below the minimum event age EventBridge accepts (60 s).
      const ruleTargets = [...Object.values(auction.announcementRules), auction.bidRule].flatMap((rule) => targetsOf(rules[logicalIdOf(rule)] ?? { Type: '' }));
      expect(ruleTargets).toHaveLength(5);
      for (const target of ruleTargets) {
        expect(referencedIds(target.DeadLetterConfig?.Arn)).toEqual([deadLetters]);
        expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 8 });
      }
      const queue = template.Resources[deadLetters];
      expect(queue?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    });

    it('sends the failed async invocations of every bidder and the collector to the on-failure queue', () => {
      const failed = logicalIdOf(auction.failedInvocations);
      const configs = Object.values(resourcesOf(template, 'AWS::Lambda::EventInvokeConfig'));
      const byFunction = Object.fromEntries(configs.map((config) => [referencedIds(config.Properties?.FunctionName)[0] ?? '', config]));
      for (const functionId of [...Object.values(bidderIds), collectorId]) {
        const config = byFunction[functionId];
        expect(config?.Properties).toMatchObject({ MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 2 });
        const destination = (config?.Properties?.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure.Destination;
        expect(referencedIds(destination)).toEqual([failed]);
      }
    });

    it('lets the auction state machine put events on the Legion bus, and no other machine', () => {
      const statements = putEvents(statementsOfRole(template, roleOfMachine('marketplace')));
      expect(statements.flatMap(actionsOf)).toEqual(['events:PutEvents']);
      expect(statements.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [busId, 'Arn'] }]);
      for (const team of ['telecom-support', 'content-pipeline']) expect(putEvents(statementsOfRole(template, roleOfMachine(team)))).toEqual([]);
    });

    it('fills the EventBusName substitution with the Legion bus', () => {
      const machine = template.Resources[logicalIdOf(auction.stateMachine)];
      const substitutions = machine?.Properties?.DefinitionSubstitutions as Record<string, unknown>;
      expect(substitutions.EventBusName).toEqual({ Ref: busId });
      expect(renderIntrinsic(substitutions.BidderFunctionArns)).toBe(['lexi', 'polly', 'quill', 'atlas'].map((id) => `<${bidderIds[id] ?? '?'}.Arn>`).join(','));
    });

    it('lets each bidder put events on the Legion bus only, and tells it the bus name', () => {
      for (const functionId of Object.values(bidderIds)) {
        const statements = putEvents(statementsOfRole(template, roleOfFunction(functionId)));
        expect(statements.flatMap(actionsOf)).toEqual(['events:PutEvents']);
        expect(statements.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [busId, 'Arn'] }]);
        const variables = (template.Resources[functionId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(variables[ENV.eventBusName]).toEqual({ Ref: busId });
      }
    });

    it('lets each bidder get items (to read its load), as every agent may', () => {
      for (const functionId of Object.values(bidderIds)) {
        const actions = statementsOfRole(template, roleOfFunction(functionId)).flatMap(actionsOf);
        expect(actions).toContain('dynamodb:GetItem');
      }
    });

    it('gives the verifier no event bus access', () => {
      const verifierId = functionIdOf('auditor');
      expect(putEvents(statementsOfRole(template, roleOfFunction(verifierId)))).toEqual([]);
      const variables = (template.Resources[verifierId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).not.toHaveProperty(ENV.eventBusName);
    });

    it('lets the collector get, update and put items of the checkpoint table, nothing more, and tells it the table', () => {
      const statements = statementsOfRole(template, roleOfFunction(collectorId));
      const dynamo = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
      expect(dynamo.flatMap(actionsOf).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
      expect(dynamo.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
      expect(statements.flatMap(actionsOf).filter((action) => !/^(dynamodb:|logs:|xray:|sqs:)/.test(action))).toEqual([]);
      const variables = (template.Resources[collectorId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[ENV.tableName]).toEqual({ Ref: tableId });
    });

    it('lets the auction state machine invoke its agents and the five control functions', () => {
      const control = CONTROL_FUNCTIONS.map((name) => logicalIdOf(stack.control.functions[name]));
      const agents = Object.values(auction.functions).map(logicalIdOf);
      expect(invokedBy('marketplace').sort()).toEqual([...agents, ...control].sort());
      expect(invokedBy('marketplace')).not.toContain(collectorId);
    });

    it("does not let other patterns' machines invoke the auction's control functions", () => {
      const auctionOnly = AUCTION_ONLY_CONTROL.map((name) => logicalIdOf(stack.control.functions[name]));
      const common = COMMON_CONTROL_FUNCTIONS.map((name) => logicalIdOf(stack.control.functions[name]));
      for (const team of ['telecom-support', 'content-pipeline']) {
        const invoked = invokedBy(team);
        expect(invoked).toEqual(expect.arrayContaining(common));
        for (const id of auctionOnly) expect(invoked).not.toContain(id);
      }
    });
  });

  describe('Feature: input checks', () => {
    it('refuses to build without the Legion event bus', () => {
      const { stack, props } = standaloneProps(marketplace);
      expect(() => new AuctionTeam(stack, 'Market', props)).toThrow(/Team "marketplace" \(auction\) needs the Legion event bus/);
    });

    it('fails synth of an auction team deployed by a plain AgentTeam without a bus (the state machine needs it)', () => {
      const { stack, props } = standaloneProps(marketplace);
      expect(() => new AgentTeam(stack, 'Market', props)).toThrow(/event bus/);
    });

    it('refuses a team of another pattern', async () => {
      const telecom = await loadTeamFile(TELECOM_TEAM_FILE);
      const { stack, props } = standaloneProps(telecom);
      expect(() => new AuctionTeam(stack, 'Wrong', props)).toThrow(/Team "telecom-support" has pattern "supervisor-worker", not "auction"/);
    });
  });
});
