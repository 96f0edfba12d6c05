/**
 * Human approval in the synthesized template: request-approval (a control function every pattern's
 * Escalate state invokes) with exactly its table actions, its bus and the callbacks of Legion's
 * machines; the ApprovalNotifications rule whose pattern is events.ts's approvalRequestedPattern,
 * delivering to an encrypted, TLS-only topic with a dead-letter queue and a retry policy; the
 * `ApprovalTopicArn` output; and the ApprovalKeeper: its schedule (retry policy, dead-letter queue),
 * and a role with exactly Query on the pending-approvals index, UpdateItem on the table and
 * SendTaskHeartbeat / SendTaskFailure on Legion's machines. Every shipped team is deployed, so
 * every pattern (and sub-teams) is seen.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_HEARTBEAT_SECONDS,
  APPROVAL_KEEPER_INTERVAL_MINUTES,
  APPROVAL_TIMEOUT_SECONDS,
  ENV,
  PATTERN_NAMES,
  PENDING_APPROVALS_INDEX,
} from '../../functions/core/contract.ts';
import { approvalRequestedPattern } from '../../functions/core/events.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { ApprovalKeeper } from '../../lib/approval-keeper.ts';
import { ApprovalNotifications } from '../../lib/approval-notifications.ts';
import { ControlFunctions } from '../../lib/control-functions.ts';
import { CHECKPOINT_PARTITIONS } from '../../lib/checkpoint-table.ts';
import type { LegionStack } from '../../lib/legion-stack.ts';
import {
  REPO_ROOT,
  type Resource,
  type Statement,
  type TemplateJson,
  actionsOf,
  buildApp,
  cdkJsonContext,
  logicalIdOf,
  referencedIds,
  removeTemporaryOutdirs,
  resourceList,
  resourcesOf,
  statementsOfRole,
} from './synth.ts';

const TEAMS_DIR = join(REPO_ROOT, 'teams');

type PolicyDocument = { Statement: (Statement & { Principal?: unknown; Condition?: unknown; Sid?: string })[] };
type Target = { Arn: unknown; DeadLetterConfig?: { Arn: unknown }; RetryPolicy?: unknown };

/** The statements of the resource policies of one type (`AWS::SNS::TopicPolicy`, ...) that name `id` in `listProperty`. */
function resourcePolicyStatements(template: TemplateJson, type: string, listProperty: string, id: string): PolicyDocument['Statement'] {
  return Object.values(resourcesOf(template, type))
    .filter((policy) => referencedIds(policy.Properties?.[listProperty]).includes(id))
    .flatMap((policy) => (policy.Properties?.PolicyDocument as PolicyDocument).Statement);
}

/** The first dependency cycle among the template's resources (DependsOn, Ref, GetAtt), or undefined. */
function dependencyCycle(template: TemplateJson): string[] | undefined {
  const edges = Object.fromEntries(
    Object.entries(template.Resources).map(([id, resource]) => [
      id,
      [...((resource.DependsOn as string[] | undefined) ?? []), ...referencedIds(resource.Properties)].filter((target) => target in template.Resources),
    ]),
  );
  const done = new Set<string>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (path.includes(id)) return [...path.slice(path.indexOf(id)), id];
    if (done.has(id)) return undefined;
    for (const next of edges[id] ?? []) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    done.add(id);
    return undefined;
  };
  for (const id of Object.keys(edges)) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** A stack with only a table, a bus and the control functions (no bundling: synth only). */
function controlOnly(): { app: App; stack: Stack; control: ControlFunctions } {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'ControlOnly');
  const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const bus = new events.EventBus(stack, 'Bus');
  return { app, stack, control: new ControlFunctions(stack, 'Control', { table, eventBus: bus }) };
}

const machineArn = (name: string): string => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`;

// One synth for the whole file: every shipped team (every pattern, and sub-teams).
let teams: TeamDefinition[];
let stack: LegionStack;
let template: TemplateJson;
let busId: string;
let tableId: string;
let requestApprovalId: string;
let requestApprovalRoleId: string;
/** Logical id of every team's state machine (sub-teams included), by team name. */
let machineIds: Record<string, string>;

const roleOf = (functionId: string): string => referencedIds(template.Resources[functionId]?.Properties?.Role)[0] ?? '';
const variablesOf = (functionId: string): Record<string, unknown> =>
  (template.Resources[functionId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;

beforeAll(async () => {
  const files = readdirSync(TEAMS_DIR).filter((file) => file.endsWith('.yaml')).sort();
  teams = await Promise.all(files.map((file) => loadTeamFile(join(TEAMS_DIR, file))));
  const built = buildApp({ teams });
  stack = built.stack;
  template = built.app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
  busId = logicalIdOf(stack.bus);
  tableId = logicalIdOf(stack.checkpoints.table);
  requestApprovalId = logicalIdOf(stack.control.functions['request-approval']);
  requestApprovalRoleId = roleOf(requestApprovalId);
  machineIds = Object.fromEntries(Object.entries(stack.teams).map(([name, team]) => [name, logicalIdOf(team.stateMachine)]));
});
afterAll(removeTemporaryOutdirs);


/** The control functions that put events on the Legion bus: request-approval (ApprovalRequested) and record-detection (FailureDetected). */
const BUS_USERS = ['request-approval', 'record-detection'];

describe('Class: ControlFunctions', () => {
  describe('Feature: request-approval', () => {
    it('is told the Legion bus and the table; of the other control functions only record-detection is told the bus', () => {
      expect(variablesOf(requestApprovalId)).toMatchObject({ [ENV.eventBusName]: { Ref: busId }, [ENV.tableName]: { Ref: tableId } });
      for (const [name, fn] of Object.entries(stack.control.functions)) {
        if (!BUS_USERS.includes(name)) expect(variablesOf(logicalIdOf(fn))).not.toHaveProperty(ENV.eventBusName);
      }
    });

    it('may put events on the Legion bus only; of the other control functions only record-detection may put events', () => {
      const put = statementsOfRole(template, requestApprovalRoleId).filter((statement) => actionsOf(statement).some((action) => action.startsWith('events:')));
      expect(put.flatMap(actionsOf)).toEqual(['events:PutEvents']);
      expect(put.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [busId, 'Arn'] }]);
      for (const [name, fn] of Object.entries(stack.control.functions)) {
        if (BUS_USERS.includes(name)) continue;
        const actions = statementsOfRole(template, roleOf(logicalIdOf(fn))).flatMap(actionsOf);
        expect(actions.filter((action) => action.startsWith('events:'))).toEqual([]);
      }
    });

    it('record-detection has exactly UpdateItem on the table and PutEvents on the bus, and is told both', () => {
      const recordDetectionId = logicalIdOf(stack.control.functions['record-detection']);
      const statements = statementsOfRole(template, roleOf(recordDetectionId));
      const dynamo = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
      expect(dynamo.flatMap(actionsOf)).toEqual(['dynamodb:UpdateItem']);
      expect(dynamo.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
      const put = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('events:')));
      expect(put.flatMap(actionsOf)).toEqual(['events:PutEvents']);
      expect(put.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [busId, 'Arn'] }]);
      expect(variablesOf(recordDetectionId)).toMatchObject({ [ENV.eventBusName]: { Ref: busId }, [ENV.tableName]: { Ref: tableId } });
    });

    it('has exactly GetItem and UpdateItem on the approvals, and UpdateItem (the WAITING status) on the tasks', () => {
      const dynamo = statementsOfRole(template, requestApprovalRoleId).filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
      const byPartitions = dynamo.map((statement) => ({
        actions: actionsOf(statement).sort(),
        partitions: ((statement as { Condition?: unknown }).Condition as { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string[] } })['ForAllValues:StringLike']['dynamodb:LeadingKeys'],
      }));
      expect(byPartitions).toEqual([
        { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.approvals] },
        { actions: ['dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] },
      ]);
      expect(dynamo.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }, { 'Fn::GetAtt': [tableId, 'Arn'] }]);
    });

    it("may answer callbacks (SendTaskSuccess, SendTaskFailure) of every team's machine, sub-teams included, and of no other resource", () => {
      const callbacks = statementsOfRole(template, requestApprovalRoleId).filter((statement) => actionsOf(statement).some((action) => action.startsWith('states:')));
      expect([...new Set(callbacks.flatMap(actionsOf))].sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
      const resources = callbacks.flatMap(resourceList);
      expect(resources).not.toContain('*');
      expect(resources.map((resource) => referencedIds(resource)[0]).sort()).toEqual(Object.values(machineIds).sort());
      expect(Object.keys(machineIds).sort()).toEqual(teams.flatMap((team) => [team.name, ...Object.keys(team.subTeamDefinitions ?? {})]).filter((name, index, all) => all.indexOf(name) === index).sort());
    });

    it('is the only function of the stack that may answer callbacks with SendTaskSuccess; only it and the approval keeper may use SendTask*', () => {
      const using = (prefix: string): string[] =>
        Object.keys(resourcesOf(template, 'AWS::Lambda::Function'))
          .filter((id) => statementsOfRole(template, roleOf(id)).flatMap(actionsOf).some((action) => action.startsWith(prefix)))
          .sort();
      expect(using('states:SendTaskSuccess')).toEqual([requestApprovalId]);
      expect(using('states:SendTask')).toEqual([requestApprovalId, logicalIdOf(stack.approvalKeeper.function.function)].sort());
    });

    it('gets the callback grant in a policy the function does not depend on (its machines refer to it): no dependency cycle', () => {
      const callbackPolicies = Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).filter(([, policy]) =>
        (policy.Properties?.PolicyDocument as PolicyDocument).Statement.some((statement) => actionsOf(statement).includes('states:SendTaskSuccess')),
      );
      expect(callbackPolicies).toHaveLength(1);
      const [policyId, policy] = callbackPolicies[0] as [string, Resource];
      expect(referencedIds(policy.Properties?.Roles)).toEqual([requestApprovalRoleId]);
      expect(template.Resources[requestApprovalId]?.DependsOn).not.toContain(policyId);
      expect(dependencyCycle(template)).toBeUndefined();
    });

    it('adds the machines of later calls of allowCallbacksFrom to the same policy', () => {
      const { app, stack: standalone, control } = controlOnly();
      control.allowCallbacksFrom([sfn.StateMachine.fromStateMachineArn(standalone, 'First', machineArn('first'))]);
      control.allowCallbacksFrom([]);
      control.allowCallbacksFrom([sfn.StateMachine.fromStateMachineArn(standalone, 'Second', machineArn('second'))]);
      const synthesized = app.synth().getStackArtifact(standalone.artifactId).template as TemplateJson;
      const answering = Object.values(resourcesOf(synthesized, 'AWS::IAM::Policy'))
        .map((policy) => (policy.Properties?.PolicyDocument as PolicyDocument).Statement)
        .filter((statements) => statements.some((statement) => actionsOf(statement).includes('states:SendTaskSuccess')));
      expect(answering).toHaveLength(1);
      expect((answering[0] ?? []).flatMap(resourceList).sort()).toEqual([machineArn('first'), machineArn('second')]);
    });

    it('may answer no callback until allowCallbacksFrom is called', () => {
      const { app, stack: standalone } = controlOnly();
      const synthesized = app.synth().getStackArtifact(standalone.artifactId).template as TemplateJson;
      const actions = Object.values(resourcesOf(synthesized, 'AWS::IAM::Policy')).flatMap((policy) =>
        (policy.Properties?.PolicyDocument as PolicyDocument).Statement.flatMap(actionsOf),
      );
      expect(actions.filter((action) => action.startsWith('states:'))).toEqual([]);
    });
  });
});

describe('Class: LegionStack', () => {
  describe('Feature: every pattern can wait for a human', () => {
    it("lets each team's state machine invoke request-approval, and fills its ASL with that function", () => {
      expect(new Set(teams.map((team) => team.pattern))).toEqual(new Set(PATTERN_NAMES));
      for (const [team, machineId] of Object.entries(machineIds)) {
        const machine = template.Resources[machineId];
        const roleId = referencedIds(machine?.Properties?.RoleArn)[0] ?? '';
        const invoked = statementsOfRole(template, roleId)
          .filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'))
          .flatMap((statement) => referencedIds(statement.Resource));
        expect(invoked, team).toContain(requestApprovalId);
        const substitutions = machine?.Properties?.DefinitionSubstitutions as Record<string, unknown>;
        expect(substitutions.RequestApprovalFunctionArn, team).toEqual({ 'Fn::GetAtt': [requestApprovalId, 'Arn'] });
      }
    });

    it('outputs the ARN of the topic of approval requests', () => {
      expect(template.Outputs?.ApprovalTopicArn).toEqual({
        Description: 'SNS topic of approval requests: subscribe to be told when a run waits for a human',
        Value: { Ref: logicalIdOf(stack.approvals.topic) },
      });
    });
  });
});

describe('Class: ApprovalNotifications', () => {
  describe('Feature: ApprovalRequested rule', () => {
    it("has one rule on the Legion bus whose pattern is exactly events.ts's approvalRequestedPattern", () => {
      const rules = Object.entries(resourcesOf(template, 'AWS::Events::Rule')).filter(([, rule]) => JSON.stringify(rule.Properties?.EventPattern).includes('ApprovalRequested'));
      expect(rules.map(([id]) => id)).toEqual([logicalIdOf(stack.approvals.rule)]);
      const [, rule] = rules[0] as [string, Resource];
      expect(rule.Properties?.EventBusName).toEqual({ Ref: busId });
      expect(rule.Properties?.EventPattern).toEqual(approvalRequestedPattern());
    });

    it('targets the topic only, with its dead-letter queue and a retry policy (as long as a run waits, 8 attempts)', () => {
      const rule = template.Resources[logicalIdOf(stack.approvals.rule)];
      const targets = rule?.Properties?.Targets as Target[];
      expect(targets).toHaveLength(1);
      const [target] = targets as [Target];
      expect(target.Arn).toEqual({ Ref: logicalIdOf(stack.approvals.topic) });
      expect(target.DeadLetterConfig?.Arn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.approvals.deadLetterQueue), 'Arn'] });
      expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: Math.min(APPROVAL_TIMEOUT_SECONDS, 86_400), MaximumRetryAttempts: 8 });
    });

    it('lets only this rule send to its dead-letter queue, which is encrypted and TLS-only', () => {
      const queueId = logicalIdOf(stack.approvals.deadLetterQueue);
      expect(template.Resources[queueId]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
      const statements = resourcePolicyStatements(template, 'AWS::SQS::QueuePolicy', 'Queues', queueId);
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      const sends = statements.filter((statement) => statement.Effect === 'Allow');
      expect(sends).toEqual([
        expect.objectContaining({
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(stack.approvals.rule), 'Arn'] } } },
        }),
      ]);
    });
  });

  describe('Feature: topic', () => {
    it('is encrypted with a customer-managed KMS key that rotates', () => {
      const topic = template.Resources[logicalIdOf(stack.approvals.topic)];
      const [keyId] = referencedIds(topic?.Properties?.KmsMasterKeyId);
      const key = template.Resources[keyId ?? ''];
      expect(key?.Type).toBe('AWS::KMS::Key');
      expect(key?.Properties?.EnableKeyRotation).toBe(true);
    });

    it('lets EventBridge use the key to publish (the AWS-managed alias/aws/sns would not)', () => {
      const topic = template.Resources[logicalIdOf(stack.approvals.topic)];
      const key = template.Resources[referencedIds(topic?.Properties?.KmsMasterKeyId)[0] ?? ''];
      const statements = (key?.Properties?.KeyPolicy as PolicyDocument).Statement;
      const forEvents = statements.filter((statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }));
      expect(forEvents.flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    });

    it('refuses publishing without TLS, and lets EventBridge publish', () => {
      const topicId = logicalIdOf(stack.approvals.topic);
      const statements = resourcePolicyStatements(template, 'AWS::SNS::TopicPolicy', 'Topics', topicId);
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      expect(statements.filter((statement) => statement.Effect === 'Allow')).toEqual([
        expect.objectContaining({ Action: 'sns:Publish', Principal: { Service: 'events.amazonaws.com' }, Resource: { Ref: topicId } }),
      ]);
    });
  });

  describe('Feature: props', () => {
    it('takes the retry policy and the key it is given (and makes no key of its own)', () => {
      const app = new App();
      const standalone = new Stack(app, 'Notifications');
      const eventBus = new events.EventBus(standalone, 'Bus');
      const masterKey = new kms.Key(standalone, 'GivenKey', { enableKeyRotation: true });
      const notifications = new ApprovalNotifications(standalone, 'Approvals', { eventBus, masterKey, maxEventAge: Duration.hours(1), retryAttempts: 3 });
      const synthesized = app.synth().getStackArtifact(standalone.artifactId).template as TemplateJson;
      expect(notifications.masterKey).toBe(masterKey);
      expect(Object.keys(resourcesOf(synthesized, 'AWS::KMS::Key'))).toEqual([logicalIdOf(masterKey)]);
      const topic = synthesized.Resources[logicalIdOf(notifications.topic)];
      expect(topic?.Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalIdOf(masterKey), 'Arn'] });
      const [target] = synthesized.Resources[logicalIdOf(notifications.rule)]?.Properties?.Targets as [Target];
      expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 });
    });
  });
});

/** A stack with a table, one machine and an ApprovalKeeper built with `props` (no bundling: synth only). */
function keeperOnly(props: Partial<ConstructorParameters<typeof ApprovalKeeper>[2]> = {}): { app: App; stack: Stack; keeper: ApprovalKeeper; table: dynamodb.Table } {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const standalone = new Stack(app, 'KeeperOnly');
  const table = new dynamodb.Table(standalone, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const machine = sfn.StateMachine.fromStateMachineArn(standalone, 'Machine', machineArn('only'));
  const keeper = new ApprovalKeeper(standalone, 'Keeper', { table, stateMachines: [machine], ...props });
  return { app, stack: standalone, keeper, table };
}

describe('Class: ApprovalKeeper', () => {
  let keeperId: string;
  let keeperRoleId: string;

  beforeAll(() => {
    keeperId = logicalIdOf(stack.approvalKeeper.function.function);
    keeperRoleId = roleOf(keeperId);
  });

  const keeperStatements = (prefix: string): Statement[] =>
    statementsOfRole(template, keeperRoleId).filter((statement) => actionsOf(statement).some((action) => action.startsWith(prefix)));

  describe('Feature: role', () => {
    it('may Query the pending-approvals index, and nothing else of the table that way (no Scan, no Query of the table)', () => {
      const queries = keeperStatements('dynamodb:').filter((statement) => actionsOf(statement).includes('dynamodb:Query'));
      expect(queries.flatMap(actionsOf)).toEqual(['dynamodb:Query']);
      expect(queries.flatMap(resourceList)).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${PENDING_APPROVALS_INDEX.indexName}`]] }]);
    });

    it('has exactly Query (on the index) and UpdateItem (on the table) of DynamoDB', () => {
      const dynamo = keeperStatements('dynamodb:');
      expect(dynamo.flatMap(actionsOf).sort()).toEqual(['dynamodb:Query', 'dynamodb:UpdateItem']);
      const updates = dynamo.filter((statement) => actionsOf(statement).includes('dynamodb:UpdateItem'));
      expect(updates.flatMap(resourceList)).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
    });

    it("may send heartbeats and failures (not successes) for every team's machine, sub-teams included, and no other resource", () => {
      const callbacks = keeperStatements('states:');
      expect([...new Set(callbacks.flatMap(actionsOf))].sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskHeartbeat']);
      const resources = callbacks.flatMap(resourceList);
      expect(resources).not.toContain('*');
      expect(resources.map((resource) => referencedIds(resource)[0]).sort()).toEqual(Object.values(machineIds).sort());
    });

    it('uses no other service than its logs, X-Ray, and the queue of its failed runs', () => {
      const services = new Set(statementsOfRole(template, keeperRoleId).flatMap(actionsOf).map((action) => action.split(':')[0]));
      expect([...services].sort()).toEqual(['dynamodb', 'logs', 'sqs', 'states', 'xray']);
      const sqsResources = keeperStatements('sqs:').flatMap(resourceList);
      expect(sqsResources).toEqual([{ 'Fn::GetAtt': [logicalIdOf(stack.events.failedInvocations), 'Arn'] }]);
    });

    it('is told the table, and not the bus', () => {
      expect(variablesOf(keeperId)).toMatchObject({ [ENV.tableName]: { Ref: tableId } });
      expect(variablesOf(keeperId)).not.toHaveProperty(ENV.eventBusName);
    });
  });

  describe('Feature: schedule', () => {
    it(`runs the keeper every ${String(APPROVAL_KEEPER_INTERVAL_MINUTES)} minutes, well inside Escalate's HeartbeatSeconds`, () => {
      const schedules = Object.values(resourcesOf(template, 'AWS::Scheduler::Schedule'));
      expect(schedules).toHaveLength(1);
      const [schedule] = schedules as [Resource];
      expect(schedule.Properties?.ScheduleExpression).toBe(`rate(${String(APPROVAL_KEEPER_INTERVAL_MINUTES)} minutes)`);
      expect(schedule.Properties?.State).toBe('ENABLED');
      expect(APPROVAL_KEEPER_INTERVAL_MINUTES * 60 * 2).toBeLessThanOrEqual(APPROVAL_HEARTBEAT_SECONDS);
    });

    it('targets the keeper with a retry policy and the dead-letter queue of the event triggers', () => {
      const schedule = template.Resources[logicalIdOf(stack.approvalKeeper.schedule)];
      const target = schedule?.Properties?.Target as { Arn: unknown; RoleArn: unknown; DeadLetterConfig?: { Arn: unknown }; RetryPolicy?: unknown };
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [keeperId, 'Arn'] });
      expect(target.RoleArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.approvalKeeper.scheduleRole), 'Arn'] });
      expect(target.DeadLetterConfig?.Arn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.events.deadLetterQueue), 'Arn'] });
      expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: APPROVAL_KEEPER_INTERVAL_MINUTES * 60, MaximumRetryAttempts: 2 });
    });

    it("has a role of its own, for the scheduler only, that may invoke the keeper and feed the dead-letter queue, nothing else", () => {
      const roleId = logicalIdOf(stack.approvalKeeper.scheduleRole);
      const role = template.Resources[roleId];
      const trust = (role?.Properties?.AssumeRolePolicyDocument as PolicyDocument).Statement;
      expect(trust).toEqual([expect.objectContaining({ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } })]);
      const statements = statementsOfRole(template, roleId);
      const invoke = statements.filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'));
      expect(invoke.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
      expect(invoke.flatMap(resourceList).flatMap(referencedIds)).toEqual([keeperId, keeperId]);
      expect(statements.flatMap(actionsOf).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
    });

    it('does not retry a failed run (the next one is the retry): it goes to the failed-invocations queue of the event triggers', () => {
      const configs = Object.values(resourcesOf(template, 'AWS::Lambda::EventInvokeConfig')).filter((config) => referencedIds(config.Properties?.FunctionName).includes(keeperId));
      expect(configs).toHaveLength(1);
      expect(configs[0]?.Properties).toMatchObject({
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(stack.events.failedInvocations), 'Arn'] } } },
      });
    });
  });

  describe('Feature: props', () => {
    it('makes encrypted queues of its own when none are given, and takes the interval it is given', () => {
      const { app, stack: standalone, keeper } = keeperOnly({ interval: Duration.minutes(5) });
      const synthesized = app.synth().getStackArtifact(standalone.artifactId).template as TemplateJson;
      const queues = resourcesOf(synthesized, 'AWS::SQS::Queue');
      expect(Object.keys(queues).sort()).toEqual([logicalIdOf(keeper.deadLetterQueue), logicalIdOf(keeper.failedInvocations)].sort());
      for (const queue of Object.values(queues)) expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
      const [schedule] = Object.values(resourcesOf(synthesized, 'AWS::Scheduler::Schedule')) as [Resource];
      expect(schedule.Properties?.ScheduleExpression).toBe('rate(5 minutes)');
      expect((schedule.Properties?.Target as { RetryPolicy: unknown }).RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 });
    });

    it('refuses an interval as long as the heartbeat (waiting runs would time out), and fails synth for a keeper without machines', () => {
      expect(() => keeperOnly({ interval: Duration.seconds(APPROVAL_HEARTBEAT_SECONDS) })).toThrow(/more often than Escalate's HeartbeatSeconds/);
      expect(() => keeperOnly({ stateMachines: [] }).app.synth()).toThrow(/needs the state machines/);
    });
  });
});
