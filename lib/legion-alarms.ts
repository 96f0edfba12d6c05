/**
 * Legion's CloudWatch alarms and where they notify: one alarm per definition of
 * functions/observability/alarms.ts (the one list the local evaluator reads too), a composite "Legion
 * health" alarm over them, and an encrypted SNS topic that is the alarm and OK action of every
 * alarm, optionally with an email subscription.
 *
 * The topic is encrypted with a customer-managed KMS key, not the AWS-managed alias/aws/sns: that
 * key's policy cannot be changed, and CloudWatch alarms could not publish to a topic it encrypts.
 */
import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AGENT_FUNCTIONS_PER_ALARM, ALARM_DEFINITIONS, type AlarmComparison, type AlarmDefinition } from '../functions/observability/alarms.ts';

const COMPARISONS: Record<AlarmComparison, cloudwatch.ComparisonOperator> = {
  GreaterThanThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  GreaterThanOrEqualToThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  LessThanThreshold: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
  LessThanOrEqualToThreshold: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
};

export interface LegionAlarmsProps {
  /**
   * The alarms to build (overrides already applied; a definition with `enabled: false` is not built).
   *
   * @default ALARM_DEFINITIONS
   */
  readonly definitions?: readonly AlarmDefinition[];
  /**
   * An email address subscribed to the topic (it must confirm the subscription).
   *
   * @default no subscription
   */
  readonly email?: string;
  /**
   * The KMS key that encrypts the topic; CloudWatch must be allowed to use it (a key of this
   * construct is; an imported key's policy must allow `cloudwatch.amazonaws.com`).
   *
   * @default a new customer-managed key, rotated every year
   */
  readonly masterKey?: kms.IKey;
  /**
   * The dead-letter queues watched by the definitions of scope `eachDeadLetterQueue`.
   *
   * @default none
   */
  readonly deadLetterQueues?: readonly sqs.IQueue[];
  /**
   * The teams' state machines, by team name, watched by the definitions of scope `eachStateMachine`.
   *
   * @default none
   */
  readonly stateMachines?: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * The teams' agent functions, by team name, watched by the definitions of scope `eachTeamsAgentFunctions`.
   *
   * @default none
   */
  readonly agentFunctions?: Readonly<Record<string, readonly lambda.IFunction[]>>;
  /**
   * Prefix of the alarm names (`<prefix>-<definition name>`).
   *
   * @default the stack name
   */
  readonly alarmNamePrefix?: string;
}

/**
 * @example
 * ```ts
 * const alarms = new LegionAlarms(this, 'Alarms', { email: 'on-call@example.com' });
 * new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn });
 * ```
 */
export class LegionAlarms extends Construct {
  /** Told of every alarm's change to ALARM and back to OK. */
  public readonly topic: sns.Topic;
  /** The key that encrypts {@link topic}. */
  public readonly masterKey: kms.IKey;
  /**
   * The alarm of each enabled definition, by definition name; for the scopes with one alarm per
   * resource, `<name>/<queue path>`, `<name>/<team>`, or `<name>/<team>-<n>` for a team's n-th group of agent functions.
   */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  /** "Legion health": in ALARM when any alarm of a definition with `inHealth` is; absent when none is enabled. */
  public readonly health?: cloudwatch.CompositeAlarm;
  /** Every alarm, in definition order, then the health alarm: teams added later join it (the dashboard shows this list). */
  public readonly all: cloudwatch.IAlarm[] = [];

  private readonly action: cwActions.SnsAction;
  private readonly definitions: readonly { definition: AlarmDefinition; order: number }[];
  private readonly alarmNamePrefix: string;
  private readonly ordered: { order: number; alarm: cloudwatch.Alarm }[] = [];
  private readonly healthMembers: { order: number; alarm: cloudwatch.Alarm }[] = [];

  public constructor(scope: Construct, id: string, props: LegionAlarmsProps = {}) {
    super(scope, id);
    const { definitions = ALARM_DEFINITIONS, alarmNamePrefix = Stack.of(this).stackName } = props;
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromThisAccount = { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } };

    if (props.masterKey) {
      this.masterKey = props.masterKey;
    } else {
      const key = new kms.Key(this, 'Key', {
        description: 'Legion: encrypts the topic of alarm notifications',
        enableKeyRotation: true,
        // It encrypts messages in flight only (SNS keeps none): nothing is left to decrypt once the topic is gone.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // CloudWatch publishes as itself: it needs the key to encrypt what it sends to the topic.
      key.addToResourcePolicy(
        new iam.PolicyStatement({ principals: [cloudWatch], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'], conditions: fromThisAccount }),
      );
      this.masterKey = key;
    }
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Legion: alarm notifications',
      masterKey: this.masterKey,
      enforceSSL: true,
    });
    // The topic policy CDK writes (SSL only) replaces SNS's default one: let this account's alarms publish.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({ principals: [cloudWatch], actions: ['sns:Publish'], resources: [this.topic.topicArn], conditions: fromThisAccount }),
    );
    if (props.email !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    this.action = new cwActions.SnsAction(this.topic);
    this.definitions = definitions.map((definition, order) => ({ definition, order })).filter(({ definition }) => definition.enabled !== false);
    this.alarmNamePrefix = alarmNamePrefix;
    for (const { definition, order } of this.scoped('stack')) this.build(definition, order, undefined, metricOf(definition));
    for (const queue of props.deadLetterQueues ?? []) this.addDeadLetterQueue(queue);
    for (const [team, machine] of Object.entries(props.stateMachines ?? {})) this.addTeam(team, machine, []);
    for (const [team, functions] of Object.entries(props.agentFunctions ?? {})) this.addTeam(team, undefined, functions);

    if (this.healthMembers.length > 0) {
      // The rule is written at synth, so that it covers the alarms of teams added later.
      const rule: cloudwatch.IAlarmRule = {
        renderAlarmRule: () => Lazy.string({ produce: () => cloudwatch.AlarmRule.anyOf(...this.healthMembers.map(({ alarm }) => cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM))).renderAlarmRule() }),
      };
      this.health = new cloudwatch.CompositeAlarm(this, 'Health', {
        compositeAlarmName: `${alarmNamePrefix}-LegionHealth`,
        alarmDescription: 'Legion health: at least one Legion alarm is in ALARM (see docs/operations.md)',
        alarmRule: rule,
      });
      this.health.addAlarmAction(this.action);
      this.health.addOkAction(this.action);
      this.all.push(this.health);
    }
  }

  /** Watches a dead-letter queue with the definitions of scope `eachDeadLetterQueue`. */
  public addDeadLetterQueue(queue: sqs.IQueue): void {
    for (const { definition, order } of this.scoped('eachDeadLetterQueue')) this.build(definition, order, queuePath(queue, this), metricOf(definition, { QueueName: queue.queueName }));
  }

  /** Watches a team's state machine (`eachStateMachine`) and its agent functions (`eachTeamsAgentFunctions`). */
  public addTeam(team: string, stateMachine: sfn.IStateMachine | undefined, agentFunctions: readonly lambda.IFunction[]): void {
    if (stateMachine) for (const { definition, order } of this.scoped('eachStateMachine')) this.build(definition, order, team, metricOf(definition, { StateMachineArn: stateMachine.stateMachineArn }));
    if (agentFunctions.length === 0) return;
    for (const { definition, order } of this.scoped('eachTeamsAgentFunctions')) {
      const groups = chunks(agentFunctions, AGENT_FUNCTIONS_PER_ALARM);
      groups.forEach((group, index) => {
        this.build(definition, order, groups.length === 1 ? team : `${team}-${String(index + 1)}`, summedOverFunctions(definition, group));
      });
    }
  }

  private scoped(scope: NonNullable<AlarmDefinition['scope']>): { definition: AlarmDefinition; order: number }[] {
    return this.definitions.filter(({ definition }) => (definition.scope ?? 'stack') === scope);
  }

  /** One alarm, notifying the topic; kept in definition order in `all` (and the health rule), whenever it is added. */
  private build(definition: AlarmDefinition, order: number, resource: string | undefined, metric: cloudwatch.IMetric): void {
    const key = resource === undefined ? definition.name : `${definition.name}/${resource}`;
    const alarm = new cloudwatch.Alarm(this, key.replace(/[^A-Za-z0-9]+/g, ''), {
      alarmName: `${this.alarmNamePrefix}-${key.replace('/', '-')}`,
      alarmDescription: `${definition.description}. Runbook: ${definition.runbook} (docs/operations.md#${definition.name.toLowerCase()})`,
      metric,
      threshold: definition.threshold,
      evaluationPeriods: definition.evaluationPeriods,
      comparisonOperator: COMPARISONS[definition.comparison],
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms[key] = alarm;
    insertInOrder(this.ordered, { order, alarm });
    this.all.splice(this.ordered.findIndex((entry) => entry.alarm === alarm), 0, alarm);
    if (definition.inHealth) insertInOrder(this.healthMembers, { order, alarm });
  }
}

/** After the last entry of the same or an earlier definition: definition order, then the order they came in. */
function insertInOrder(entries: { order: number; alarm: cloudwatch.Alarm }[], entry: { order: number; alarm: cloudwatch.Alarm }): void {
  const after = entries.findLastIndex((existing) => existing.order <= entry.order);
  entries.splice(after + 1, 0, entry);
}

/** The metric or metric math a definition watches. */
export function metricOf(definition: AlarmDefinition, extraDimensions: Record<string, string> = {}): cloudwatch.IMetric {
  const period = Duration.seconds(definition.periodSeconds);
  const metrics = Object.fromEntries(
    definition.metrics.map((metric) => [
      metric.id,
      new cloudwatch.Metric({ namespace: metric.namespace, metricName: metric.metricName, statistic: metric.statistic, dimensionsMap: { ...metric.dimensions, ...extraDimensions }, period }),
    ]),
  );
  if (definition.expression === undefined) {
    const [only] = Object.values(metrics);
    if (only === undefined || definition.metrics.length !== 1) throw new Error(`Alarm ${definition.name}: without an expression it must read exactly one metric`);
    return only;
  }
  return new cloudwatch.MathExpression({ expression: definition.expression, usingMetrics: metrics, period, label: definition.name });
}

/**
 * The definition's metric math repeated for each function (its metric ids suffixed with the
 * function's index, its metrics given the dimension `FunctionName`) and added up: one series over
 * all of them, as CloudWatch has no Legion-wide series of AWS/Lambda metrics to watch instead.
 */
export function summedOverFunctions(definition: AlarmDefinition, functions: readonly lambda.IFunction[]): cloudwatch.IMetric {
  if (definition.expression === undefined) throw new Error(`Alarm ${definition.name}: a definition summed over functions needs an expression`);
  const period = Duration.seconds(definition.periodSeconds);
  const ids = definition.metrics.map((metric) => metric.id);
  const identifier = new RegExp(`\\b(${ids.join('|')})\\b`, 'g');
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const terms = functions.map((fn, index) => {
    for (const metric of definition.metrics) {
      usingMetrics[`${metric.id}${String(index)}`] = new cloudwatch.Metric({
        namespace: metric.namespace,
        metricName: metric.metricName,
        statistic: metric.statistic,
        dimensionsMap: { ...metric.dimensions, FunctionName: fn.functionName },
        period,
      });
    }
    return `(${definition.expression?.replace(identifier, (id) => `${id}${String(index)}`) ?? ''})`;
  });
  return new cloudwatch.MathExpression({ expression: terms.join(' + '), usingMetrics, period, label: definition.name });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
  return groups;
}

/** A queue's construct path inside its stack, as `A-B-C` (readable and unique in the stack). */
/** A queue's path from the construct that holds the alarms (its Legion), else from its stack: the alarm's name. */
function queuePath(queue: sqs.IQueue, alarms: Construct): string {
  const holder = alarms.node.scope ?? Stack.of(queue);
  const base = queue.node.path.startsWith(`${holder.node.path}/`) ? holder.node.path : Stack.of(queue).node.path;
  return queue.node.path.slice(base.length + 1).replace(/[^A-Za-z0-9]+/g, '-');
}
