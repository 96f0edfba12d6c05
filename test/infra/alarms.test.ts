/**
 * Legion's alarms in the synthesized template: one CloudWatch alarm per definition of
 * functions/observability/alarms.ts (metric or math expression, statistic, period, threshold, comparison,
 * missing data, actions), all read from the definitions so a changed threshold changes both; the
 * composite "Legion health" alarm; the KMS-encrypted, TLS-only topic and its `AlarmTopicArn`
 * output; the email subscription only with `legion:alarmEmail`; and the `legion:alarms` overrides.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_FUNCTIONS_PER_ALARM,
  AGGREGATE_DIMENSIONS,
  ALARM_DEFINITIONS,
  type AlarmDefinition,
  CHECKPOINT_MINIMUM_ATTEMPTS,
  alarmDefinition,
  applyAlarmOverrides,
  parseAlarmOverrides,
} from '../../functions/observability/alarms.ts';
import { METRICS, METRICS_SERVICE } from '../../functions/core/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { controlTelemetry } from '../../functions/control/control-handler.ts';
import { LegionAlarms } from '../../lib/legion-alarms.ts';
import { REPO_ROOT, type Resource, type TemplateJson, TELECOM_TEAM_FILE, buildApp, logicalIdOf, newApp, referencedIds, removeTemporaryOutdirs, renderIntrinsic, resourcesOf } from './synth.ts';

interface MetricDataQuery {
  Id: string;
  Expression?: string;
  ReturnData?: boolean;
  Period?: number;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] }; Period: number; Stat: string };
}

let team: TeamDefinition;

/** The definitions with one alarm on the stack-wide series (not one per resource). */
const STACK_DEFINITIONS = ALARM_DEFINITIONS.filter((definition) => (definition.scope ?? 'stack') === 'stack');
const DEAD_LETTER_DEFINITIONS = ALARM_DEFINITIONS.filter((definition) => definition.scope === 'eachDeadLetterQueue');
const STATE_MACHINE_DEFINITIONS = ALARM_DEFINITIONS.filter((definition) => definition.scope === 'eachStateMachine');
const AGENT_FUNCTION_DEFINITIONS = ALARM_DEFINITIONS.filter((definition) => definition.scope === 'eachTeamsAgentFunctions');

/** The value, or a failed test when it is missing. */
function defined<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing: ${what}`);
  return value;
}

beforeAll(async () => {
  team = await loadTeamFile(TELECOM_TEAM_FILE);
});

afterAll(() => {
  removeTemporaryOutdirs();
});

interface Synthesized {
  template: TemplateJson;
  topicId: string;
  alarmIds: Record<string, string>;
  stackName: string;
  /** The logical ids of each team's state machine and agent functions. */
  teams: Record<string, { stateMachineId: string; functionIds: string[] }>;
}

function synth(context: Record<string, unknown> = {}): Synthesized {
  const { stack } = buildApp({ teams: [team], modelProvider: 'scripted', context });
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  const alarmIds = Object.fromEntries(Object.entries(stack.alarms.alarms).map(([name, alarm]) => [name, logicalIdOf(alarm)]));
  const teams = Object.fromEntries(
    Object.entries(stack.teams).map(([name, deployed]) => [name, { stateMachineId: logicalIdOf(deployed.stateMachine), functionIds: Object.values(deployed.functions).map(logicalIdOf) }]),
  );
  return { template, topicId: logicalIdOf(stack.alarms.topic), alarmIds, stackName: stack.stackName, teams };
}

/** The metric queries of a math alarm, and the one whose value it watches. */
function queriesOf(alarm: Resource): { queries: MetricDataQuery[]; watched: MetricDataQuery } {
  const queries = alarm.Properties?.Metrics as MetricDataQuery[];
  const watched = queries.filter((query) => query.ReturnData !== false);
  expect(watched).toHaveLength(1);
  return { queries, watched: defined(watched[0], 'watched query') };
}

function dimensionsOf(definitionDimensions: Readonly<Record<string, string>>): { Name: string; Value: string }[] {
  return Object.entries(definitionDimensions).map(([Name, Value]) => ({ Name, Value }));
}

function expectAlarmMatches(alarm: Resource, definition: AlarmDefinition, topicId: string, extraDimensions: { Name: string; Value: unknown }[] = []): void {
  const properties = alarm.Properties ?? {};
  expect(properties.Threshold).toBe(definition.threshold);
  expect(properties.EvaluationPeriods).toBe(definition.evaluationPeriods);
  expect(properties.ComparisonOperator).toBe(definition.comparison);
  expect(properties.TreatMissingData).toBe('notBreaching');
  expect(referencedIds(properties.AlarmActions)).toEqual([topicId]);
  expect(referencedIds(properties.OKActions)).toEqual([topicId]);
  if (definition.expression === undefined) {
    const metric = defined(definition.metrics[0], `${definition.name}'s metric`);
    expect(properties.Namespace).toBe(metric.namespace);
    expect(properties.MetricName).toBe(metric.metricName);
    expect(properties.Statistic).toBe(metric.statistic);
    expect(properties.Period).toBe(definition.periodSeconds);
    expect(properties.Dimensions).toEqual([...dimensionsOf(metric.dimensions), ...extraDimensions]);
    return;
  }
  const queries = properties.Metrics as MetricDataQuery[];
  const watched = queries.filter((query) => query.ReturnData !== false);
  expect(watched).toHaveLength(1);
  expect(watched[0]?.Expression).toBe(definition.expression);
  // The expression's period is its metrics' (CloudWatch takes it from their MetricStat).
  for (const metric of definition.metrics) {
    const query = queries.find((candidate) => candidate.Id === metric.id);
    expect(query?.ReturnData).toBe(false);
    expect(query?.MetricStat).toEqual({
      Metric: { Namespace: metric.namespace, MetricName: metric.metricName, Dimensions: dimensionsOf(metric.dimensions) },
      Period: definition.periodSeconds,
      Stat: metric.statistic,
    });
  }
  expect(queries).toHaveLength(definition.metrics.length + 1);
}

describe('Module: alarm definitions', () => {
  it('has unique names and the documented defaults', () => {
    const names = ALARM_DEFINITIONS.map((definition) => definition.name);
    expect(new Set(names).size).toBe(names.length);
    const byName = Object.fromEntries(ALARM_DEFINITIONS.map((definition) => [definition.name, definition]));
    expect(byName.CheckpointFailureRate).toMatchObject({ threshold: 5, periodSeconds: 300, comparison: 'GreaterThanThreshold', minimumAttempts: CHECKPOINT_MINIMUM_ATTEMPTS });
    expect(byName.CheckpointFailureRate?.expression).toContain(`>= ${CHECKPOINT_MINIMUM_ATTEMPTS}`);
    expect(byName.Rollbacks).toMatchObject({ threshold: 3, periodSeconds: 3600, comparison: 'GreaterThanThreshold' });
    expect(byName.TokenBudgetExhaustion).toMatchObject({ threshold: 1, periodSeconds: 3600 });
    for (const [name, metricName] of [
      ['LoopsDetected', METRICS.loopsDetected],
      ['HallucinationsDetected', METRICS.hallucinationsDetected],
      ['DeadlocksDetected', METRICS.deadlocksDetected],
    ] as const) {
      expect(byName[name]).toMatchObject({ threshold: 1, periodSeconds: 300, comparison: 'GreaterThanOrEqualToThreshold' });
      expect(byName[name]?.metrics.map((metric) => metric.metricName)).toEqual([metricName]);
    }
  });

  it('watches the stack-wide series of every metric (service = METRICS_SERVICE) and never alarms on missing data', () => {
    expect(AGGREGATE_DIMENSIONS).toEqual({ service: METRICS_SERVICE });
    for (const definition of ALARM_DEFINITIONS) expect(definition.treatMissingData).toBe('notBreaching');
    for (const definition of STACK_DEFINITIONS) {
      expect(definition.treatMissingData).toBe('notBreaching');
      for (const metric of definition.metrics) {
        expect(metric.namespace).toBe(METRICS.namespace);
        expect(metric.dimensions).toEqual(AGGREGATE_DIMENSIONS);
        if (definition.expression !== undefined) expect(definition.expression).toContain(metric.id);
      }
    }
  });

  it('reads overrides as an object or as JSON text, and names the key of a bad one', () => {
    expect(parseAlarmOverrides(undefined)).toEqual({});
    expect(parseAlarmOverrides('{"Rollbacks":{"threshold":10}}')).toEqual({ Rollbacks: { threshold: 10 } });
    expect(() => parseAlarmOverrides({ Nope: { threshold: 1 } })).toThrow(/legion:alarms: unknown alarm "Nope"/);
    expect(() => parseAlarmOverrides({ Rollbacks: { threshold: 'ten' } })).toThrow(/Rollbacks\.threshold/);
    expect(() => parseAlarmOverrides({ Rollbacks: { evaluationPeriods: 0 } })).toThrow(/Rollbacks\.evaluationPeriods/);
    expect(() => parseAlarmOverrides({ Rollbacks: { treshold: 1 } })).toThrow(/Rollbacks/);
    expect(() => parseAlarmOverrides('not json')).toThrow(/legion:alarms must be a JSON object/);
    const applied = applyAlarmOverrides(ALARM_DEFINITIONS, { Rollbacks: { threshold: 10, evaluationPeriods: 2 } });
    expect(applied.find((definition) => definition.name === 'Rollbacks')).toMatchObject({ threshold: 10, evaluationPeriods: 2 });
  });
  it('has a runbook entry per alarm in docs/operations.md, and the README names every alarm', () => {
    const operations = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const headings = [...operations.matchAll(/^## (\w+)/gm)].map((match) => match[1]);
    for (const definition of ALARM_DEFINITIONS) {
      expect(headings, definition.name).toContain(definition.name);
      expect(readme).toContain(`\`${definition.name}\``);
    }
  });

  it('matches the EMF the control functions print: namespace Legion, dimension set [service] with service = METRICS_SERVICE', () => {
    const { metrics } = controlTelemetry('legion-rollback-task');
    metrics.addMetric(METRICS.rollbacks, MetricUnit.Count, 1);
    const emf = metrics.serializeMetrics() as unknown as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }; service: string };
    const rollbacks = defined(alarmDefinition('Rollbacks').metrics[0], 'Rollbacks metric');
    expect(emf._aws.CloudWatchMetrics[0]?.Namespace).toBe(rollbacks.namespace);
    expect(emf._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([Object.keys(rollbacks.dimensions)]);
    expect(emf.service).toBe(rollbacks.dimensions.service);
    expect(emf).toHaveProperty(rollbacks.metricName, 1);
  });
});

describe('Class: LegionAlarms (in LegionStack)', () => {
  let built: ReturnType<typeof synth>;

  beforeAll(() => {
    built = synth();
  });

  it('builds one alarm per definition, as defined, notifying the topic on ALARM and OK', () => {
    const { template, topicId, alarmIds, stackName } = built;
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    const queues = Object.keys(resourcesOf(template, 'AWS::SQS::Queue'));
    const machines = Object.keys(built.teams).length;
    const functionGroups = Object.values(built.teams).reduce((sum, deployed) => sum + Math.ceil(deployed.functionIds.length / AGENT_FUNCTIONS_PER_ALARM), 0);
    expect(Object.keys(alarms)).toHaveLength(
      STACK_DEFINITIONS.length + DEAD_LETTER_DEFINITIONS.length * queues.length + STATE_MACHINE_DEFINITIONS.length * machines + AGENT_FUNCTION_DEFINITIONS.length * functionGroups,
    );
    for (const definition of STACK_DEFINITIONS) {
      const alarm = defined(alarms[defined(alarmIds[definition.name], definition.name)], definition.name);
      expect(alarm.Properties?.AlarmName).toBe(`${stackName}-${definition.name}`);
      expect(String(alarm.Properties?.AlarmDescription)).toContain(definition.runbook);
      expectAlarmMatches(alarm, definition, topicId);
    }
  });

  it('watches every dead-letter queue of the stack (every queue is one) with the dead-letter definitions', () => {
    const { template, topicId } = built;
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'));
    const queues = Object.keys(resourcesOf(template, 'AWS::SQS::Queue'));
    expect(queues.length).toBeGreaterThanOrEqual(3);
    expect(DEAD_LETTER_DEFINITIONS.map((definition) => definition.name)).toEqual(['DeadLetterQueueDepth']);
    for (const definition of DEAD_LETTER_DEFINITIONS) {
      for (const queueId of queues) {
        const watching = alarms.filter((alarm) => referencedIds(alarm.Properties?.Dimensions).includes(queueId));
        expect(watching, queueId).toHaveLength(1);
        const alarm = defined(watching[0], queueId);
        expectAlarmMatches(alarm, definition, topicId, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
        expect(String(alarm.Properties?.AlarmName)).toMatch(new RegExp(`-${definition.name}-`));
      }
    }
  });

  it('watches every team\'s state machine for failed, timed-out and aborted executions, as defined', () => {
    const { template, topicId, alarmIds } = built;
    expect(STATE_MACHINE_DEFINITIONS.map((definition) => definition.name)).toEqual(['ExecutionsFailed']);
    for (const definition of STATE_MACHINE_DEFINITIONS) {
      expect(definition.metrics.map((metric) => `${metric.namespace} ${metric.metricName}`)).toEqual([
        'AWS/States ExecutionsFailed',
        'AWS/States ExecutionsTimedOut',
        'AWS/States ExecutionsAborted',
      ]);
      for (const [name, deployed] of Object.entries(built.teams)) {
        const alarm = defined(template.Resources[defined(alarmIds[`${definition.name}/${name}`], `${definition.name}/${name}`)], 'alarm');
        expect(alarm.Properties?.ThresholdMetricId).toBeUndefined();
        const { queries, watched } = queriesOf(alarm);
        expect(watched.Expression).toBe(definition.expression);
        for (const metric of definition.metrics) {
          const query = defined(queries.find((candidate) => candidate.Id === metric.id), metric.id);
          expect(query.MetricStat?.Metric.MetricName).toBe(metric.metricName);
          expect(query.MetricStat?.Stat).toBe(metric.statistic);
          expect(query.MetricStat?.Period).toBe(definition.periodSeconds);
          expect(referencedIds(query.MetricStat?.Metric.Dimensions)).toEqual([deployed.stateMachineId]);
        }
        expect(alarm.Properties).toMatchObject({ Threshold: definition.threshold, ComparisonOperator: definition.comparison, TreatMissingData: 'notBreaching' });
        expect(referencedIds(alarm.Properties?.AlarmActions)).toEqual([topicId]);
      }
    }
  });

  it('watches all of a team\'s agent functions for errors and throttles in one alarm, summing per-function math', () => {
    const { template, alarmIds } = built;
    expect(AGENT_FUNCTION_DEFINITIONS.map((definition) => definition.name)).toEqual(['AgentFunctionErrors']);
    const definition = alarmDefinition('AgentFunctionErrors');
    for (const [name, deployed] of Object.entries(built.teams)) {
      expect(deployed.functionIds.length).toBeLessThanOrEqual(AGENT_FUNCTIONS_PER_ALARM);
      const alarm = defined(template.Resources[defined(alarmIds[`${definition.name}/${name}`], `${definition.name}/${name}`)], 'alarm');
      const { queries, watched } = queriesOf(alarm);
      const terms = deployed.functionIds.map((_, index) => `(FILL(errors${String(index)}, 0) + FILL(throttles${String(index)}, 0))`);
      expect(watched.Expression).toBe(terms.join(' + '));
      const watchedFunctions = queries.filter((query) => query.MetricStat).map((query) => `${query.MetricStat?.Metric.MetricName ?? ''} ${referencedIds(query.MetricStat?.Metric.Dimensions).join()}`);
      expect(watchedFunctions.sort()).toEqual(deployed.functionIds.flatMap((id) => [`Errors ${id}`, `Throttles ${id}`]).sort());
      expect(queries.length).toBeLessThanOrEqual(11);
    }
  });

  it('splits a team of more agent functions than one alarm can read into groups', () => {
    // No bundling, no CloudFormation validation: the alarms are what this test reads.
    const stack = new Stack(newApp(), 'Split');
    const functions = Array.from({ length: AGENT_FUNCTIONS_PER_ALARM + 2 }, (_, index) => lambda.Function.fromFunctionName(stack, `F${String(index)}`, `agent-${String(index)}`));
    const alarms = new LegionAlarms(stack, 'Alarms', { definitions: AGENT_FUNCTION_DEFINITIONS, agentFunctions: { big: functions } });
    expect(Object.keys(alarms.alarms).sort()).toEqual(['AgentFunctionErrors/big-1', 'AgentFunctionErrors/big-2']);
    const template = Template.fromStack(stack).toJSON() as TemplateJson;
    const dimensions = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map((alarm) =>
      (alarm.Properties?.Metrics as MetricDataQuery[]).flatMap((query) => query.MetricStat?.Metric.Dimensions?.map((dimension) => dimension.Value) ?? []),
    );
    const watched = dimensions.flat().map((value) => JSON.stringify(value));
    expect(new Set(watched)).toEqual(new Set(functions.map((fn) => JSON.stringify(stack.resolve(fn.functionName)))));
    expect(watched).toHaveLength(2 * functions.length);
    for (const group of dimensions) expect(group.length).toBeLessThanOrEqual(10);
  });

  it('has a composite "Legion health" alarm over every threshold alarm, notifying the topic', () => {
    const { template, topicId, alarmIds } = built;
    const composites = Object.values(resourcesOf(template, 'AWS::CloudWatch::CompositeAlarm'));
    expect(composites).toHaveLength(1);
    const properties = composites[0]?.Properties ?? {};
    const inHealth = new Set(ALARM_DEFINITIONS.filter((definition) => definition.inHealth).map((definition) => definition.name));
    const expected = Object.entries(alarmIds)
      .filter(([key]) => inHealth.has(key.split('/')[0] ?? ''))
      .map(([, id]) => id);
    expect(expected.length).toBeGreaterThan(STACK_DEFINITIONS.length);
    expect(referencedIds(properties.AlarmRule).sort()).toEqual(expected.sort());
    expect(referencedIds(properties.AlarmActions)).toEqual([topicId]);
    expect(referencedIds(properties.OKActions)).toEqual([topicId]);
  });

  it('notifies an SNS topic encrypted with a rotated customer-managed key, refusing requests without TLS, output as AlarmTopicArn', () => {
    const { template, topicId } = built;
    const topic = defined(template.Resources[topicId], 'topic');
    const keyId = defined(referencedIds(topic.Properties?.KmsMasterKeyId)[0], 'key id');
    expect(template.Resources[keyId]?.Type).toBe('AWS::KMS::Key');
    expect(template.Resources[keyId]?.Properties?.EnableKeyRotation).toBe(true);
    const keyStatements = (template.Resources[keyId]?.Properties?.KeyPolicy as { Statement: { Principal?: { Service?: string }; Action: string[] }[] }).Statement;
    expect(keyStatements.find((statement) => statement.Principal?.Service === 'cloudwatch.amazonaws.com')?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);

    const policies = Object.values(resourcesOf(template, 'AWS::SNS::TopicPolicy')).filter((policy) => referencedIds(policy.Properties?.Topics).includes(topicId));
    expect(policies).toHaveLength(1);
    const statements = (policies[0]?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }));

    expect(template.Outputs?.AlarmTopicArn).toMatchObject({ Value: { Ref: topicId } });
    expect(Object.values(resourcesOf(template, 'AWS::SNS::Subscription')).filter((subscription) => referencedIds(subscription.Properties?.TopicArn).includes(topicId))).toEqual([]);
  });

  it('subscribes the address of legion:alarmEmail, and refuses one that is not an email address', () => {
    const { template, topicId } = synth({ 'legion:alarmEmail': 'on-call@example.com' });
    const subscriptions = Object.values(resourcesOf(template, 'AWS::SNS::Subscription')).filter((subscription) => referencedIds(subscription.Properties?.TopicArn).includes(topicId));
    expect(subscriptions.map((subscription) => subscription.Properties)).toEqual([expect.objectContaining({ Protocol: 'email', Endpoint: 'on-call@example.com' })]);
    expect(() => synth({ 'legion:alarmEmail': 'not-an-email' })).toThrow(/legion:alarmEmail must be an email address/);
  });

  it('applies the legion:alarms overrides (JSON text as from `cdk -c`, too), and fails synth on a bad one naming the key', () => {
    const overrides = { Rollbacks: { threshold: 10, evaluationPeriods: 2 }, DeadlocksDetected: { enabled: false } };
    const { template, topicId, alarmIds } = synth({ 'legion:alarms': JSON.stringify(overrides) });
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms)).toHaveLength(Object.keys(resourcesOf(built.template, 'AWS::CloudWatch::Alarm')).length - 1);
    expect(alarmIds.DeadlocksDetected).toBeUndefined();
    const expected = alarmDefinition('Rollbacks', applyAlarmOverrides(ALARM_DEFINITIONS, overrides));
    expect(expected.threshold).toBe(10);
    expectAlarmMatches(defined(alarms[defined(alarmIds.Rollbacks, 'Rollbacks id')], 'Rollbacks alarm'), expected, topicId);

    expect(() => synth({ 'legion:alarms': { Rollbacks: { threshold: -1, evaluationPeriods: 1.5 } } })).toThrow(/Rollbacks\.evaluationPeriods/);
    expect(() => synth({ 'legion:alarms': { Rollback: { threshold: 4 } } })).toThrow(/unknown alarm "Rollback"/);
  });

  it('has one dashboard, output as DashboardName, graphing the alarms\' metrics and math and showing every alarm', () => {
    const { template, alarmIds } = built;
    const dashboards = Object.entries(resourcesOf(template, 'AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const [dashboardId, dashboard] = defined(dashboards[0], 'dashboard');
    expect(template.Outputs?.DashboardName).toMatchObject({ Value: { Ref: dashboardId } });
    const body = renderIntrinsic(dashboard.Properties?.DashboardBody);
    for (const title of [
      'Alarms',
      'Runs by team and status',
      'Agent step latency per agent (ms, p90)',
      'Checkpoint health',
      'Rollbacks per hour',
      'Tokens and budget refusals',
      'Detections by type',
      'Oldest approval waiting (s)',
    ]) {
      expect(body).toContain(`"title":"${title}"`);
    }
    expect(body).toContain(`SEARCH('{${METRICS.namespace},service,team,status} MetricName=\\"${METRICS.runsCompleted}\\"', 'Sum', 300)`);
    expect(body).toContain(`SEARCH('{${METRICS.namespace},service,team,agent} MetricName=\\"${METRICS.agentStepDuration}\\"', 'p90', 300)`);
    for (const definition of STACK_DEFINITIONS) {
      for (const metric of definition.metrics) expect(body).toContain(`"${metric.namespace}","${metric.metricName}","service","${METRICS_SERVICE}"`);
      expect(body).toContain(`<${alarmIds[definition.name]}.Arn>`);
    }
    const rate = alarmDefinition('CheckpointFailureRate');
    expect(body).toContain(JSON.stringify({ expression: rate.expression }).slice(1, -1));
    expect(body).toContain(`"${METRICS.tokensUsed}"`);
  });
});
