/**
 * The Legion stack: the checkpoint table, the event bus, the control functions, one construct per
 * team, the event triggers, the notifications of approval requests and the approval keeper.
 */
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ModelTier, PatternName } from '../functions/core/contract.ts';
import { type TeamDefinition, teamsInDeployOrder } from '../functions/core/team.ts';
import type { ModelProviderName } from './agent-function.ts';
import { readLegionContext } from './legion-context.ts';
import { MODEL_PROVIDERS } from '../functions/core/config.ts';
import { ApprovalKeeper } from './approval-keeper.ts';
import { ApprovalNotifications } from './approval-notifications.ts';
import { CheckpointTable } from './checkpoint-table.ts';
import { ControlFunctions } from './control-functions.ts';
import { EventTriggers } from './event-triggers.ts';
import type { AgentTeam, AgentTeamProps } from './agent-team.ts';
import { AuctionTeam } from './auction-team.ts';
import { PeerToPeerTeam } from './peer-to-peer-team.ts';
import { PipelineTeam } from './pipeline-team.ts';
import { SupervisorWorkerTeam } from './supervisor-worker-team.ts';
import { HierarchicalTeam } from './hierarchical-team.ts';
import { LegionAlarms } from './legion-alarms.ts';
import { LegionDashboard } from './legion-dashboard.ts';
import { ALARM_DEFINITIONS, applyAlarmOverrides } from '../functions/observability/alarms.ts';

/** The construct of one team, whatever its pattern. */
export type TeamConstruct = AgentTeam;

/** The construct of each pattern: a new pattern in the contract fails to compile until it has one. */
const TEAM_CONSTRUCTS: Record<PatternName, (scope: Construct, id: string, props: AgentTeamProps) => TeamConstruct> = {
  'supervisor-worker': (scope, id, props) => new SupervisorWorkerTeam(scope, id, props),
  hierarchical: (scope, id, props) => new HierarchicalTeam(scope, id, props),
  'peer-to-peer': (scope, id, props) => new PeerToPeerTeam(scope, id, props),
  pipeline: (scope, id, props) => new PipelineTeam(scope, id, props),
  auction: (scope, id, props) => new AuctionTeam(scope, id, props),
};

export interface LegionStackProps extends StackProps {
  /** The teams to deploy: one state machine per team, one Lambda function per agent role. */
  readonly teams: TeamDefinition[];
  /**
   * The model provider of every agent: Amazon Bedrock, an OpenAI-compatible server
   * (`modelBaseUrl`), or the deterministic scripted model (which needs no Bedrock access, for
   * trying the stack out).
   *
   * @default 'bedrock'
   */
  readonly modelProvider?: ModelProviderName;
  /**
   * Bedrock model id per tier: foundation model ids, cross-Region inference profile ids
   * (`us.anthropic...`, which current Claude models require) or inference profile ARNs. Each agent
   * may invoke only its own (its `model`, else its tier's).
   *
   * @default the `legion:modelIds` context (see modelIdsFromContext), else DEFAULT_MODEL_IDS from the contract
   */
  readonly modelIds?: Record<ModelTier, string>;
  /**
   * openai-compatible: the server's API base URL (`https://llm.example.com/v1`); `modelIds` are then
   * that server's model names.
   *
   * @default none (required with openai-compatible)
   */
  readonly modelBaseUrl?: string;
  /**
   * openai-compatible: the name or complete ARN of the Secrets Manager secret holding the API key
   * (its text); each agent may read that secret only.
   *
   * @default none: no key is sent
   */
  readonly modelApiKeySecret?: string;
  /**
   * Reserved concurrency of every agent whose team definition sets none (`reservedConcurrency`).
   *
   * @default none: agents share the account's unreserved concurrency
   */
  readonly agentReservedConcurrency?: number;
  /**
   * How long function and execution logs are kept.
   *
   * @default the `legion:logRetentionDays` context, else logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * State machines log each state's input and output (customer text, prompts, answers).
   *
   * @default the `legion:logExecutionData` context, else false
   */
  readonly logExecutionData?: boolean;
  /**
   * Agents log each model call's prompt and reply (debugging only).
   *
   * @default the `legion:logModelIo` context, else false
   */
  readonly logModelIo?: boolean;
  /**
   * The name of the Legion event bus.
   *
   * @default `legion-<stack name>`
   */
  readonly eventBusName?: string;
}

/**
 * Everything Legion deploys: a {@link CheckpointTable}, the Legion event bus, the control functions,
 * for each team the construct of its pattern, then the {@link EventTriggers}, the
 * {@link ApprovalNotifications} and the {@link ApprovalKeeper}. Outputs the table name (`CheckpointTableName`), each team's state
 * machine ARN (`<TeamName>StateMachineArn`, e.g. `TelecomSupportStateMachineArn`), the event bus
 * name (`EventBusName`), the topic of approval requests (`ApprovalTopicArn`) and the topic of
 * alarms (`AlarmTopicArn`) and the {@link LegionDashboard}'s name (`DashboardName`; the {@link LegionAlarms} read the context `legion:alarms` and `legion:alarmEmail`).
 *
 * @example
 * ```ts
 * const app = new App();
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * new LegionStack(app, 'Legion', { teams: [team], modelProvider: 'scripted' });
 * ```
 */
export class LegionStack extends Stack {
  /** The checkpoint table. */
  public readonly checkpoints: CheckpointTable;
  /** The functions every team's state machine calls besides its agents (begin-task, ...). */
  public readonly control: ControlFunctions;
  /** The Legion event bus: RunRequested in, outcomes out, and the auction teams' announcements and bids. */
  public readonly bus: events.EventBus;
  /** The construct of each team, by team name. */
  public readonly teams: Record<string, TeamConstruct>;
  /** The RunRequested rules and the outcome publisher (`events.bus` is {@link bus}). */
  public readonly events: EventTriggers;
  /** The topic told of every run that waits for a human, and the rule that feeds it. */
  public readonly approvals: ApprovalNotifications;
  /** The scheduled function that sends the heartbeats of runs waiting for a human and enforces their deadline. */
  public readonly approvalKeeper: ApprovalKeeper;
  /** The CloudWatch alarms of functions/observability/alarms.ts and the topic they notify. */
  public readonly alarms: LegionAlarms;
  /** The CloudWatch dashboard of checkpoints, rollbacks, tokens, detections and alarms. */
  public readonly dashboard: LegionDashboard;

  public constructor(scope: Construct, id: string, stackProps: LegionStackProps) {
    super(scope, id, stackProps);
    const props = { ...readLegionContext(this.node), ...definedOf(stackProps) };
    // A caller in plain JavaScript may give any string.
    if (!(MODEL_PROVIDERS as readonly string[]).includes(props.modelProvider)) {
      throw new Error(`modelProvider must be "bedrock", "openai-compatible" or "scripted", got "${props.modelProvider}"`);
    }
    const names = props.teams.map((team) => team.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) throw new Error(`Two teams are named "${duplicate}"; team names must be unique`);

    this.checkpoints = new CheckpointTable(this, 'Checkpoints');
    new CfnOutput(this, 'CheckpointTableName', {
      value: this.checkpoints.table.tableName,
      description: 'DynamoDB table of checkpoints',
    });

    // Before the control functions (request-approval puts events on it) and the teams (auction
    // teams announce and bid on it). The bus keeps the construct path it had when EventTriggers
    // made it (Events/Bus; EventTriggers is that scope's `Default` child, which logical ids leave
    // out), so no resource of a deployed stack is replaced: a bus with a fixed name cannot be.
    const eventsScope = new Construct(this, 'Events');
    this.bus = new events.EventBus(eventsScope, 'Bus', { eventBusName: props.eventBusName ?? `legion-${this.stackName}` });
    new CfnOutput(this, 'EventBusName', {
      value: this.bus.eventBusName,
      description: 'Legion event bus: put RunRequested events here; RunSucceeded / RunFailed / RunEscalated come out here',
    });

    this.control = new ControlFunctions(this, 'Control', { table: this.checkpoints.table, eventBus: this.bus, logRetention: props.logRetention });

    const { modelIds } = props;
    const modelApiKeySecret = props.modelApiKeySecret === undefined ? undefined : importedSecret(this, props.modelApiKeySecret);
    this.teams = {};
    // Sub-teams of hierarchical teams are deployed once each, before the teams that start them.
    for (const team of teamsInDeployOrder(props.teams)) {
      const common = {
        team,
        table: this.checkpoints.table,
        controlFunctions: this.control.functions,
        eventBus: this.bus,
        modelProvider: props.modelProvider,
        modelIds,
        modelBaseUrl: props.modelBaseUrl,
        modelApiKeySecret,
        agentReservedConcurrency: props.agentReservedConcurrency,
        logRetention: props.logRetention,
        logExecutionData: props.logExecutionData,
        logModelIo: props.logModelIo,
        subTeamStateMachines: Object.fromEntries(Object.entries(this.teams).map(([name, deployed]) => [name, deployed.stateMachine])),
      };
      const construct = TEAM_CONSTRUCTS[team.pattern](this, team.name, common);
      this.teams[team.name] = construct;
      new CfnOutput(this, `${pascalCase(team.name)}StateMachineArn`, {
        value: construct.stateMachine.stateMachineArn,
        description: `State machine of team ${team.name} (${team.pattern})`,
      });
    }

    // Every machine (sub-teams' too) has an Escalate state whose token request-approval may answer.
    this.control.allowCallbacksFrom(Object.values(this.teams).map((deployed) => deployed.stateMachine));

    this.events = new EventTriggers(eventsScope, 'Default', { teams: this.teams, bus: this.bus, table: this.checkpoints.table, logRetention: props.logRetention });

    this.approvals = new ApprovalNotifications(this, 'Approvals', { eventBus: this.bus });
    new CfnOutput(this, 'ApprovalTopicArn', {
      value: this.approvals.topic.topicArn,
      description: 'SNS topic of approval requests: subscribe to be told when a run waits for a human',
    });

    // Every machine (sub-teams' too) has an Escalate state with HeartbeatSeconds: the keeper keeps
    // them alive. Run by a schedule, like the triggers run by events (in their scope, and sharing
    // their queues of undelivered and failed invocations).
    this.approvalKeeper = new ApprovalKeeper(eventsScope, 'ApprovalKeeper', {
      table: this.checkpoints.table,
      stateMachines: Object.values(this.teams).map((deployed) => deployed.stateMachine),
      deadLetterQueue: this.events.deadLetterQueue,
      failedInvocations: this.events.failedInvocations,
      logRetention: props.logRetention,
    });

    // Context (validated): `legion:alarms` overrides per alarm, `legion:alarmEmail` subscribes an address.
    const definitions = applyAlarmOverrides(ALARM_DEFINITIONS, props.alarmOverrides);
    const email = props.alarmEmail;
    // Every queue of the stack is a dead-letter queue (of rule and schedule targets, or of failed asynchronous invocations).
    const deadLetterQueues = this.node.findAll().filter((construct): construct is sqs.Queue => construct instanceof sqs.Queue);
    this.alarms = new LegionAlarms(this, 'Alarms', {
      definitions,
      deadLetterQueues,
      stateMachines: Object.fromEntries(Object.entries(this.teams).map(([name, deployed]) => [name, deployed.stateMachine])),
      agentFunctions: Object.fromEntries(Object.entries(this.teams).map(([name, deployed]) => [name, Object.values(deployed.functions)])),
      ...(email === undefined ? {} : { email }),
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'SNS topic of Legion alarms (ALARM and OK): subscribe to be told when a threshold is crossed',
    });

    this.dashboard = new LegionDashboard(this, 'Dashboard', {
      alarms: [...Object.values(this.alarms.alarms), ...(this.alarms.health ? [this.alarms.health] : [])],
    });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName, description: 'CloudWatch dashboard of Legion' });
  }
}

/** The props given, without those given as undefined (which leave the context's value in place). */
function definedOf(props: LegionStackProps): Partial<LegionStackProps> & Pick<LegionStackProps, 'teams'> {
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as Partial<LegionStackProps> & Pick<LegionStackProps, 'teams'>;
}

function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** A secret that already exists, by its complete ARN or its name (an ARN without its random suffix cannot be granted exactly). */
function importedSecret(scope: Construct, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'ModelApiKey', nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, 'ModelApiKey', nameOrArn);
}
