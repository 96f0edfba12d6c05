/**
 * The approval keeper: a control function that an EventBridge Scheduler schedule runs every few
 * minutes (functions/control/approval-keeper.ts). It lists the PENDING approvals from the checkpoint
 * table's sparse pending-approvals index, sends SendTaskHeartbeat on each one's token (every
 * `Escalate` has HeartbeatSeconds: a run that gets none fails within the hour, so a broken
 * approval path is found fast), and fails those past their task's deadline with
 * EscalationTimedOutError (recording them TIMED_OUT).
 *
 * Its role may do exactly that: Query the index (not the table), UpdateItem on the table (the
 * TIMED_OUT record), and SendTaskHeartbeat / SendTaskFailure on Legion's state machines only.
 *
 * A schedule of EventBridge Scheduler (`AWS::Scheduler::Schedule`), not a scheduled rule on the
 * default bus: the same retry policy and dead-letter queue, and the buses keep only the rules of
 * Legion's events.
 */
import { packageModule } from '../functions/core/package-files.ts';
import { type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { APPROVAL_HEARTBEAT_SECONDS, APPROVAL_KEEPER_INTERVAL_MINUTES, ENV, PENDING_APPROVALS_INDEX } from '../functions/core/contract.ts';
import { CHECKPOINT_PARTITIONS, grantItems } from './checkpoint-table.ts';
import { secureQueue } from './event-triggers.ts';
import { GrowingStatement } from './growing-statement.ts';
import { LegionFunction, type LegionLogOptions } from './legion-function.ts';

/** The Step Functions actions the keeper uses on a waiting execution's token. */
export const KEEPER_CALLBACK_ACTIONS = ['states:SendTaskHeartbeat', 'states:SendTaskFailure'] as const;

export interface ApprovalKeeperProps extends LegionLogOptions {
  /** The checkpoint table, with the pending-approvals index (CheckpointTable). */
  readonly table: dynamodb.ITable;
  /**
   * The state machines whose waiting executions the keeper looks after (every machine with an
   * `Escalate` state); more can be added with `addStateMachine`.
   *
   * @default none
   */
  readonly stateMachines?: readonly sfn.IStateMachine[];
  /**
   * How often the keeper runs. Must be shorter than `Escalate`'s HeartbeatSeconds
   * (APPROVAL_HEARTBEAT_SECONDS), or waiting runs die of a missed heartbeat.
   *
   * @default APPROVAL_KEEPER_INTERVAL_MINUTES (15 minutes)
   */
  readonly interval?: Duration;
  /**
   * How many times the scheduler retries invoking the keeper before dead-lettering the run.
   *
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * How long the scheduler keeps trying to deliver one scheduled run (the next one supersedes it).
   *
   * @default the interval
   */
  readonly maxEventAge?: Duration;
  /**
   * Where the scheduler puts runs it could not deliver to the function.
   *
   * @default a new encrypted, TLS-only queue
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Where runs that failed in the function go, with the error (Lambda's async on-failure destination).
   *
   * @default a new encrypted, TLS-only queue
   */
  readonly failedInvocations?: sqs.IQueue;
}

/**
 * @example
 * ```ts
 * const keeper = new ApprovalKeeper(this, 'ApprovalKeeper', { table: checkpoints.table, stateMachines: [machine] });
 * keeper.function.metricErrors();
 * ```
 */
export class ApprovalKeeper extends Construct {
  /** The keeper function. */
  public readonly function: LegionFunction;
  /** The schedule that runs it. */
  public readonly schedule: scheduler.Schedule;
  /** The role the scheduler invokes the function (and dead-letters a run) with. */
  public readonly scheduleRole: iam.Role;
  /** Scheduled runs the scheduler could not deliver to the function (after its retry policy). */
  public readonly deadLetterQueue: sqs.IQueue;
  /** Runs that failed in the function (ApprovalKeeperError...), with the error: Lambda's async on-failure destination. */
  public readonly failedInvocations: sqs.IQueue;

  /** SendTaskHeartbeat and SendTaskFailure, on the machines added so far. */
  private readonly callbacks: GrowingStatement;

  public constructor(scope: Construct, id: string, props: ApprovalKeeperProps) {
    super(scope, id);
    const { table, stateMachines = [], interval = Duration.minutes(APPROVAL_KEEPER_INTERVAL_MINUTES), retryAttempts = 2, logRetention, logRemovalPolicy, applicationLogLevel } = props;
    const { maxEventAge = interval } = props;
    if (interval.toSeconds() >= APPROVAL_HEARTBEAT_SECONDS) {
      throw new Error(`The approval keeper must run more often than Escalate's HeartbeatSeconds (${String(APPROVAL_HEARTBEAT_SECONDS)} s), got every ${String(interval.toSeconds())} s`);
    }

    this.deadLetterQueue = props.deadLetterQueue ?? this.ownQueue('DeadLetters');
    this.failedInvocations = props.failedInvocations ?? this.ownQueue('FailedInvocations');
    this.function = new LegionFunction(this, 'Function', {
      ttlDays: props.ttlDays,
      logRetention,
      logRemovalPolicy,
      applicationLogLevel,
      entry: packageModule('functions/control/approval-keeper.lambda.ts'),
      description: 'Legion: keeps waiting escalations alive (SendTaskHeartbeat) and times out those past their deadline',
      environment: { [ENV.tableName]: table.tableName },
      timeoutSeconds: 60,
    });
    const fn = this.function.function;
    // The next scheduled run is the retry: a failed run goes straight to the queue, with its error.
    fn.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(this.failedInvocations), retryAttempts: 0, maxEventAge });

    // Query the sparse index only (never the table: no Scan either; the index has one partition,
    // so no LeadingKeys condition), and record TIMED_OUT approvals: the approval items only.
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${PENDING_APPROVALS_INDEX.indexName}`] }),
    );
    grantItems(table, fn, ['dynamodb:UpdateItem'], [CHECKPOINT_PARTITIONS.approvals]);
    // IAM authorizes a token's heartbeat or failure against the state machine whose execution issued it.
    this.callbacks = new GrowingStatement(KEEPER_CALLBACK_ACTIONS, (statement) => this.function.role.addToPrincipalPolicy(statement));
    for (const machine of stateMachines) this.addStateMachine(machine);
    // Teams may be added after the keeper is built: checked at synth, when all are known.
    this.node.addValidation({ validate: () => (this.callbacks.attached ? [] : ['The approval keeper needs the state machines whose waiting executions it looks after (stateMachines, or addStateMachine)']) });

    // The scheduler invokes the function asynchronously, with a role that may invoke it and feed the dead-letter queue.
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: 'Legion: the schedule of the approval keeper invokes it',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Legion: runs the approval keeper (heartbeats and deadlines of runs waiting for a human)',
      schedule: scheduler.ScheduleExpression.rate(interval),
      target: new schedulerTargets.LambdaInvoke(fn, { role: this.scheduleRole, deadLetterQueue: this.deadLetterQueue, maxEventAge, retryAttempts }),
    });
    this.acknowledgeFindings();
  }

  /**
   * Looks after the waiting executions of one more state machine: SendTaskHeartbeat and
   * SendTaskFailure on its ARN (IAM authorizes a token's heartbeat or failure against the state
   * machine whose execution issued it).
   */
  public addStateMachine(machine: sfn.IStateMachine): void {
    this.callbacks.add(machine.stateMachineArn);
  }

  /** cdk-nag findings that are deliberate, with the reason. */
  private acknowledgeFindings(): void {
    const functionId = Stack.of(this).resolve((this.function.function.node.defaultChild as CfnResource).logicalId) as string;
    Validations.of(this.scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: "The scheduler's Lambda target grants InvokeFunction on the keeper function and its versions (<arn>:*); it is this one function only.",
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked asynchronously by an EventBridge schedule: failures go to the on-failure destination (an SQS queue, with the error), which supersedes a function DLQ.',
    });
  }

  /** A dead-letter queue of its own, when none is given. */
  private ownQueue(id: string): sqs.Queue {
    const queue = secureQueue(this, id);
    Validations.of(queue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue (of the schedule target, or of failed async invocations).' },
      { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue; nothing consumes it automatically.' },
    );
    return queue;
  }
}
