/**
 * Runs started by events, results published as events. On the Legion event bus (which the stack
 * creates before the teams, since auction teams use it too), per pattern with a deployed team, a
 * rule for `RunRequested` events of that pattern that invokes the start-run function (which starts
 * the team's state machine, once per idempotency key); and a rule on the default bus for the
 * "Step Functions Execution Status Change" events of Legion's state machines, which invokes
 * publish-outcome (it puts `RunSucceeded` / `RunFailed` / `RunEscalated` on the bus, with the run's
 * totals, and records how every execution ended on its task's status item in the checkpoint
 * table). No ASL file changes: Step Functions emits the status changes by itself.
 *
 * Every rule target has a dead-letter queue and a retry policy; both functions send invocations
 * that still fail after Lambda's async retries to a second queue, with the error. The rule patterns
 * come from functions/core/events.ts, which the local event bus uses too.
 */
import { packageModule } from '../functions/core/package-files.ts';
import { ArnFormat, Duration, Fn, Lazy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DeployedMachine } from '../functions/core/config.ts';
import { ENV, PATTERN_NAMES, type PatternName } from '../functions/core/contract.ts';
import { type RulePattern, executionStatusChangePattern, runRequestedPattern } from '../functions/core/events.ts';
import { defaultTeamOf } from '../functions/patterns/index.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import { CHECKPOINT_PARTITIONS, grantItems } from './checkpoint-table.ts';
import { GrowingStatement } from './growing-statement.ts';
import { LegionFunction, type LegionLogOptions } from './legion-function.ts';

/** A deployed team as the triggers need it: its definition and its state machine. */
export interface TriggeredTeam {
  readonly team: TeamDefinition;
  readonly stateMachine: sfn.StateMachine;
}

export interface EventTriggersProps extends LegionLogOptions {
  /** The deployed teams, by team name (the stack's `teams`). */
  readonly teams: Readonly<Record<string, TriggeredTeam>>;
  /** The Legion event bus: RunRequested rules go on it, outcome events are put on it. */
  readonly bus: events.IEventBus;
  /**
   * The patterns whose RunRequested rule exists, when a team of theirs is deployed.
   *
   * @default every pattern
   */
  readonly eventRules?: readonly PatternName[];
  /** The checkpoint table: publish-outcome reads a run's totals there and records how each execution ended. */
  readonly table: dynamodb.ITable;
  /**
   * How long EventBridge keeps trying to deliver an event to a target before dead-lettering it.
   *
   * @default Duration.hours(2)
   */
  readonly maxEventAge?: Duration;
  /**
   * How many times EventBridge retries delivering an event to a target before dead-lettering it.
   *
   * @default 8
   */
  readonly retryAttempts?: number;
}

/**
 * @example
 * ```ts
 * const bus = new events.EventBus(this, 'EventBus', { eventBusName: 'legion' });
 * const triggers = new EventTriggers(this, 'Events', { teams: stack.teams, bus, table: checkpoints.table });
 * triggers.runRequestedRules.pipeline; // starts pipeline runs
 * ```
 */
export class EventTriggers extends Construct {
  /** The Legion event bus: RunRequested in, RunSucceeded / RunFailed / RunEscalated out. */
  public readonly bus: events.IEventBus;
  /** The RunRequested rule of each pattern that has a deployed team. */
  public readonly runRequestedRules: Partial<Record<PatternName, events.Rule>> = {};
  /** Starts a team's state machine for a RunRequested event. */
  public readonly startRun: LegionFunction;
  /** Puts the outcome event of a finished execution on the bus. */
  public readonly publishOutcome: LegionFunction;
  /** Events EventBridge could not deliver to a target (after its retry policy). */
  public readonly deadLetterQueue: sqs.Queue;
  /** Invocations of start-run / publish-outcome that kept failing (Lambda's async on-failure destination). */
  public readonly failedInvocations: sqs.Queue;

  private readonly deployed: TriggeredTeam[] = [];
  private readonly eventRules: readonly PatternName[];
  private readonly targetOptions: targets.LambdaFunctionProps;
  private ended?: events.Rule;
  private readonly describeExecutions: GrowingStatement;

  public constructor(scope: Construct, id: string, props: EventTriggersProps) {
    super(scope, id);
    const { teams, bus, table, eventRules = PATTERN_NAMES, maxEventAge = Duration.hours(2), retryAttempts = 8, ...logOptions } = props;
    this.eventRules = eventRules;
    const stack = Stack.of(this);

    this.bus = bus;
    this.deadLetterQueue = secureQueue(this, 'DeadLetters');
    this.failedInvocations = secureQueue(this, 'FailedInvocations');
    // Written at synth, so that it lists the teams added after this construct.
    const machinesJson = Lazy.string({ produce: () => stack.toJsonString(this.machines) });

    const controlFunction = (functionId: string, file: string, description: string, environment: Record<string, string>): LegionFunction => {
      const built = new LegionFunction(this, functionId, {
        ...logOptions,
        entry: packageModule(`functions/control/${file}`),
        description,
        environment,
      });
      // Async invocations (EventBridge's) that still fail after Lambda's retries land here with their error.
      built.function.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(this.failedInvocations), retryAttempts: 2, maxEventAge: Duration.hours(1) });
      return built;
    };
    this.startRun = controlFunction('StartRun', 'start-run.lambda.ts', 'Legion: starts a team state machine for a RunRequested event (once per idempotency key)', {
      [ENV.stateMachines]: machinesJson,
    });
    this.publishOutcome = controlFunction('PublishOutcome', 'publish-outcome.lambda.ts', 'Legion: publishes RunSucceeded / RunFailed / RunEscalated when an execution ends', {
      [ENV.stateMachines]: machinesJson,
      [ENV.eventBusName]: this.bus.eventBusName,
      [ENV.tableName]: table.tableName,
    });
    this.describeExecutions = new GrowingStatement(['states:DescribeExecution'], (statement) => {
      this.publishOutcome.function.addToRolePolicy(statement);
    });
    this.targetOptions = { deadLetterQueue: this.deadLetterQueue, maxEventAge, retryAttempts };

    // Least privilege: put only on this bus; the teams' machines are granted as they are added.
    this.bus.grantPutEventsTo(this.publishOutcome.function);
    // Every team's tasks: UpdateItem records how an execution ended on its status item; GetItem
    // (status items, task heads) and Query (checkpoints, detections) read a run's totals.
    grantItems(table, this.publishOutcome.function, ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], [CHECKPOINT_PARTITIONS.anyTeam]);
    this.acknowledgeFindings();
    for (const team of Object.values(teams)) this.addTeam(team);
  }

  /** What both functions are told about the deployed state machines. */
  public get machines(): readonly DeployedMachine[] {
    return deployedMachines(this.deployed);
  }

  /** The default-bus rule for the end of Legion's executions (made with the first team). */
  public get executionEndedRule(): events.Rule {
    if (!this.ended) throw new Error('EventTriggers has no team yet: the rule for the end of executions comes with the first');
    return this.ended;
  }

  /**
   * Triggers a team: the RunRequested rule of its pattern (if `eventRules` has it), the end of its executions, and the
   * grants to start and describe them (its state machine exactly).
   */
  public addTeam(team: TriggeredTeam): void {
    this.deployed.push(team);
    const { pattern } = team.team;
    if (this.eventRules.includes(pattern)) this.runRequestedRules[pattern] ??= new events.Rule(this, `RunRequested-${pattern}`, {
      eventBus: this.bus,
      description: `Legion: starts a ${pattern} run for a RunRequested event`,
      eventPattern: toCdkPattern(runRequestedPattern(pattern)),
      targets: [new targets.LambdaFunction(this.startRun.function, this.targetOptions)],
    });
    const ended = toCdkPattern(executionStatusChangePattern([team.stateMachine.stateMachineArn]));
    if (this.ended) {
      this.ended.addEventPattern(ended);
    } else {
      this.ended = new events.Rule(this, 'ExecutionEnded', {
        description: "Legion: an execution of one of Legion's state machines ended",
        eventPattern: ended,
        targets: [new targets.LambdaFunction(this.publishOutcome.function, this.targetOptions)],
      });
    }

    // Started by start-run only through the rule of its pattern.
    if (this.runRequestedRules[pattern]) team.stateMachine.grantStartExecution(this.startRun.function);
    this.describeExecutions.add(executionArnsOf(team.stateMachine));
    Validations.of(this.publishOutcome).acknowledge({
      // cdk-nag names the finding after the resource, intrinsics written as JSON.
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${JSON.stringify(Stack.of(this).resolve(stateMachineNameOf(team.stateMachine)))}:*]`,
      reason: 'DescribeExecution of any execution of this Legion state machine: execution names (task ids) are not known in advance.',
    });
  }

  /** cdk-nag findings that are deliberate, with the reason. */
  private acknowledgeFindings(): void {
    for (const queue of [this.deadLetterQueue, this.failedInvocations]) {
      Validations.of(queue).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue (of rule targets, or of failed async invocations).' },
        { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue; nothing consumes it automatically.' },
      );
    }
    for (const fn of [this.startRun, this.publishOutcome]) {
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked asynchronously by EventBridge: failures go to the on-failure destination (an SQS queue, with the error), which supersedes a function DLQ.',
      });
    }
  }
}

/** The machines the functions are told about, with the pattern's default team marked. */
function deployedMachines(deployed: readonly TriggeredTeam[]): DeployedMachine[] {
  const definitions = deployed.map(({ team }) => team);
  return deployed.map(({ team, stateMachine }) => ({
    team: team.name,
    pattern: team.pattern,
    stateMachineArn: stateMachine.stateMachineArn,
    isDefault: defaultTeamOf(team.pattern, definitions) === team.name,
  }));
}

/** The name of a state machine, from its ARN (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`). */
function stateMachineNameOf(stateMachine: sfn.StateMachine): string {
  // One form for every machine, so that the cdk-nag finding id of its execution ARNs is predictable.
  return Fn.select(6, Fn.split(':', stateMachine.stateMachineArn));
}

/** Every execution of a state machine (execution names, i.e. task ids, are not known in advance). */
function executionArnsOf(stateMachine: sfn.StateMachine): string {
  return Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachineNameOf(stateMachine)}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * A queue for what could not be delivered or processed: encrypted (SQS-managed keys), refusing
 * requests without TLS, keeping messages for 14 days (the most SQS allows) to leave time to look.
 *
 * @example
 * ```ts
 * const deadLetters = secureQueue(this, 'DeadLetters');
 * new targets.LambdaFunction(fn, { deadLetterQueue: deadLetters, maxEventAge, retryAttempts });
 * ```
 */
export function secureQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
}

/** events.ts patterns in CDK's shape (CDK writes `detailType` as `detail-type`). */
export function toCdkPattern(pattern: RulePattern): events.EventPattern {
  return { source: [...pattern.source], detailType: [...pattern['detail-type']], ...(pattern.detail ? { detail: pattern.detail } : {}) };
}
