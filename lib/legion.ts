/**
 * Legion in any stack: the checkpoint table, the event bus, the control functions, the event
 * triggers, the notifications of approval requests, the approval keeper, the alarms and the
 * dashboard, and the teams added to it (each with the construct of its pattern, wired into all of
 * those). {@link LegionStack} is a stack holding one; {@link LegionTeam} adds a team to one.
 */
import { CfnOutput, type CfnOutputProps, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type ModelTier, PATTERN_NAMES, type PatternName } from '../functions/core/contract.ts';
import { MODEL_PROVIDERS } from '../functions/core/config.ts';
import { type TeamDefinition, sameTeamDefinition, teamsInDeployOrder } from '../functions/core/team.ts';
import { ALARM_DEFINITIONS, applyAlarmOverrides } from '../functions/observability/alarms.ts';
import type { ModelProviderName } from './agent-function.ts';
import type { AgentTeam, AgentTeamProps } from './agent-team.ts';
import { ApprovalKeeper } from './approval-keeper.ts';
import { ApprovalNotifications } from './approval-notifications.ts';
import { AuctionTeam } from './auction-team.ts';
import { CheckpointTable } from './checkpoint-table.ts';
import { ControlFunctions } from './control-functions.ts';
import { EventTriggers } from './event-triggers.ts';
import { HierarchicalTeam } from './hierarchical-team.ts';
import { LegionAlarms } from './legion-alarms.ts';
import { TTL_DAYS_RULE, isTtlDays, readLegionContext } from './legion-context.ts';
import { LegionDashboard } from './legion-dashboard.ts';
import { PeerToPeerTeam } from './peer-to-peer-team.ts';
import { PipelineTeam } from './pipeline-team.ts';
import { SupervisorWorkerTeam } from './supervisor-worker-team.ts';

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

export interface LegionProps {
  /**
   * The teams to deploy: one state machine per team, one Lambda function per agent role. More can
   * be added with {@link Legion.addTeam} or {@link LegionTeam}.
   *
   * @default none
   */
  readonly teams?: TeamDefinition[];
  /**
   * The model provider of every agent: Amazon Bedrock, an OpenAI-compatible server
   * (`modelBaseUrl`), or the deterministic scripted model (which needs no Bedrock access, for
   * trying the stack out).
   *
   * @default the `legion:modelProvider` context, else 'bedrock'
   */
  readonly modelProvider?: ModelProviderName;
  /**
   * Bedrock model id per tier: foundation model ids, cross-Region inference profile ids
   * (`us.anthropic...`, which current Claude models require) or inference profile ARNs. Each agent
   * may invoke only its own (its `model`, else its tier's).
   *
   * @default the `legion:modelIds` context, else DEFAULT_MODEL_IDS from the contract
   */
  readonly modelIds?: Record<ModelTier, string>;
  /**
   * openai-compatible: the server's API base URL (`https://llm.example.com/v1`); `modelIds` are then
   * that server's model names.
   *
   * @default the `legion:modelBaseUrl` context (required with openai-compatible)
   */
  readonly modelBaseUrl?: string;
  /**
   * openai-compatible: the name or complete ARN of the Secrets Manager secret holding the API key
   * (its text); each agent may read that secret only.
   *
   * @default the `legion:modelApiKeySecret` context, else no key is sent
   */
  readonly modelApiKeySecret?: string;
  /**
   * Reserved concurrency of every agent whose team definition sets none (`reservedConcurrency`).
   *
   * @default the `legion:agentReservedConcurrency` context, else none: agents share the account's unreserved concurrency
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
   * Days DynamoDB keeps a task's items (checkpoints, statuses, approvals, detections, tool call
   * journals) before its TTL may delete them.
   *
   * @default the `legion:ttlDays` context, else CHECKPOINT_TABLE.retentionDays (7)
   */
  readonly ttlDays?: number;
  /**
   * The patterns whose RunRequested rule exists on the bus (for the patterns of the teams
   * deployed); a team of another pattern is started with StartExecution only.
   *
   * @default the `legion:eventRules` context, else every pattern
   */
  readonly eventRules?: readonly PatternName[];
  /**
   * The name of the Legion event bus.
   *
   * @default `legion-<stack name>`
   */
  readonly eventBusName?: string;
}

/** What every team of a Legion is deployed with: the props given, else the context's. */
type LegionSettings = ReturnType<typeof readLegionContext> & Omit<LegionProps, 'teams'>;

/**
 * Everything Legion deploys, in one construct: a {@link CheckpointTable}, the Legion event bus, the
 * control functions, the {@link EventTriggers}, the {@link ApprovalNotifications}, the
 * {@link ApprovalKeeper}, the {@link LegionAlarms} (which read the context `legion:alarms` and
 * `legion:alarmEmail`) and the {@link LegionDashboard}; and for each team the construct of its pattern.
 * Outputs the table name (`CheckpointTableName`), each team's state machine ARN
 * (`<TeamName>StateMachineArn`, e.g. `TelecomSupportStateMachineArn`), the event bus name
 * (`EventBusName`), the topics of approval requests (`ApprovalTopicArn`) and alarms
 * (`AlarmTopicArn`), and the dashboard's name (`DashboardName`). One Legion per stack: a team and
 * the Legion it is added to are in the same stack.
 *
 * @example
 * ```ts
 * class ServiceStack extends Stack {
 *   constructor(scope: Construct, id: string) {
 *     super(scope, id);
 *     const legion = new Legion(this, 'Legion', { modelProvider: 'bedrock' });
 *     legion.addTeam(helpdeskTeam);
 *   }
 * }
 * ```
 */
export class Legion extends Construct {
  /**
   * The Legion of a stack, if it has one.
   *
   * @example
   * ```ts
   * const legion = Legion.of(this) ?? new Legion(Stack.of(this), 'Legion');
   * ```
   */
  public static of(scope: Construct): Legion | undefined {
    return legionsIn(Stack.of(scope))[0];
  }

  /** The checkpoint table. */
  public readonly checkpoints: CheckpointTable;
  /** The functions every team's state machine calls besides its agents (begin-task, ...). */
  public readonly control: ControlFunctions;
  /** The Legion event bus: RunRequested in, outcomes out, and the auction teams' announcements and bids. */
  public readonly bus: events.EventBus;
  /** The construct of each team, by team name (sub-teams included). */
  public readonly teams: Record<string, TeamConstruct> = {};
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

  private readonly settings: LegionSettings;
  private readonly modelApiKeySecret: secretsmanager.ISecret | undefined;

  public constructor(scope: Construct, id: string, props: LegionProps = {}) {
    super(scope, id);
    const { teams = [], ...given } = props;
    const settings = { ...readLegionContext(this.node), ...definedOf(given) };
    this.settings = settings;
    // A caller in plain JavaScript may give any string.
    if (!(MODEL_PROVIDERS as readonly string[]).includes(settings.modelProvider)) {
      throw new Error(`modelProvider must be "bedrock", "openai-compatible" or "scripted", got "${settings.modelProvider}"`);
    }
    // Props are not checked by the context's schema: the same rules, so that no bad value reaches the functions.
    if (settings.ttlDays !== undefined && !isTtlDays(settings.ttlDays)) throw new Error(`ttlDays ${TTL_DAYS_RULE}, got ${String(settings.ttlDays)}`);
    const unknownPatterns = settings.eventRules.filter((pattern) => !(PATTERN_NAMES as readonly string[]).includes(pattern));
    if (unknownPatterns.length > 0) throw new Error(`eventRules must name patterns (${PATTERN_NAMES.join(', ')}), got ${unknownPatterns.join(', ')}`);
    const other = legionsIn(Stack.of(this)).find((legion) => legion !== this);
    if (other) throw new Error(`Stack ${Stack.of(this).node.path} already has a Legion (${other.node.path}): add teams to that one`);
    const names = teams.map((team) => team.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) throw new Error(`Two teams are named "${duplicate}"; team names must be unique`);

    this.checkpoints = new CheckpointTable(this, 'Checkpoints');
    this.output('CheckpointTableName', { value: this.checkpoints.table.tableName, description: 'DynamoDB table of checkpoints' });

    // Before the control functions (request-approval puts events on it) and the teams (auction
    // teams announce and bid on it). The bus keeps the construct path it had when EventTriggers
    // made it (Events/Bus; EventTriggers is that scope's `Default` child, which logical ids leave
    // out), so no resource of a deployed stack is replaced: a bus with a fixed name cannot be.
    const eventsScope = new Construct(this, 'Events');
    this.bus = new events.EventBus(eventsScope, 'Bus', { eventBusName: settings.eventBusName ?? `legion-${Stack.of(this).stackName}` });
    this.output('EventBusName', {
      value: this.bus.eventBusName,
      description: 'Legion event bus: put RunRequested events here; RunSucceeded / RunFailed / RunEscalated come out here',
    });

    const functionOptions = { logRetention: settings.logRetention, ttlDays: settings.ttlDays };
    this.control = new ControlFunctions(this, 'Control', { table: this.checkpoints.table, eventBus: this.bus, ...functionOptions });
    this.modelApiKeySecret = settings.modelApiKeySecret === undefined ? undefined : importedSecret(this, settings.modelApiKeySecret);

    this.events = new EventTriggers(eventsScope, 'Default', { teams: {}, bus: this.bus, table: this.checkpoints.table, eventRules: settings.eventRules, ...functionOptions });
    this.approvals = new ApprovalNotifications(this, 'Approvals', { eventBus: this.bus });
    this.output('ApprovalTopicArn', {
      value: this.approvals.topic.topicArn,
      description: 'SNS topic of approval requests: subscribe to be told when a run waits for a human',
    });
    // Every machine (sub-teams' too) has an Escalate state with HeartbeatSeconds: the keeper keeps
    // them alive. Run by a schedule, like the triggers run by events (in their scope, and sharing
    // their queues of undelivered and failed invocations).
    this.approvalKeeper = new ApprovalKeeper(eventsScope, 'ApprovalKeeper', {
      table: this.checkpoints.table,
      deadLetterQueue: this.events.deadLetterQueue,
      failedInvocations: this.events.failedInvocations,
      ...functionOptions,
    });

    // Context (validated): `legion:alarms` overrides per alarm, `legion:alarmEmail` subscribes an address.
    this.alarms = new LegionAlarms(this, 'Alarms', {
      definitions: applyAlarmOverrides(ALARM_DEFINITIONS, settings.alarmOverrides),
      deadLetterQueues: queuesIn(this),
      ...(settings.alarmEmail === undefined ? {} : { email: settings.alarmEmail }),
    });
    this.output('AlarmTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'SNS topic of Legion alarms (ALARM and OK): subscribe to be told when a threshold is crossed',
    });
    this.dashboard = new LegionDashboard(this, 'Dashboard', { alarms: this.alarms.all });
    this.output('DashboardName', { value: this.dashboard.dashboard.dashboardName, description: 'CloudWatch dashboard of Legion' });

    // Sub-teams of hierarchical teams are deployed once each, before the teams that start them.
    for (const team of teamsInDeployOrder(teams)) this.deploy(team, this);
    this.node.addValidation({ validate: () => (Object.keys(this.teams).length === 0 ? ['This Legion has no team: give it teams, or add one with LegionTeam or addTeam'] : []) });
  }

  /**
   * Deploys a team (and the sub-teams of a hierarchical team not deployed yet) into this Legion.
   *
   * @param scope - where the team's constructs go: this Legion, or another construct of its stack (a {@link LegionTeam})
   * @returns the construct of the team's pattern; the one deployed already when the same definition
   *   was (as a sub-team of a hierarchical team, say)
   * @throws Error when another definition of that name is deployed already, or the scope is in another stack
   */
  public addTeam(team: TeamDefinition, scope: Construct = this): TeamConstruct {
    if (Stack.of(scope) !== Stack.of(this)) {
      throw new Error(`Team "${team.name}" must be in the stack of its Legion (${Stack.of(this).node.path}), not in ${Stack.of(scope).node.path}`);
    }
    const existing = this.teams[team.name];
    if (existing) {
      if (sameTeamDefinition(existing.team, team)) return existing;
      throw new Error(`Another definition of team "${team.name}" is deployed already (${existing.node.path}); team names must be unique`);
    }
    const deployed = Object.values(this.teams).map((construct) => construct.team);
    const pending = teamsInDeployOrder([...deployed, team]).filter((candidate) => !(candidate.name in this.teams));
    let added: TeamConstruct | undefined;
    for (const candidate of pending) added = this.deploy(candidate, scope);
    if (added === undefined) throw new Error(`internal: team "${team.name}" was not deployed`);
    return added;
  }

  /**
   * An output named as the docs name it (`EventBusName`, `<TeamName>StateMachineArn`...), whatever
   * the id of this Legion: there is one Legion per stack.
   */
  private output(id: string, props: CfnOutputProps): void {
    new CfnOutput(this, id, props).overrideLogicalId(id);
  }

  /** One team: its construct, its output, and its place in the callbacks, triggers, keeper and alarms. */
  private deploy(team: TeamDefinition, scope: Construct): TeamConstruct {
    const settings = this.settings;
    const construct = TEAM_CONSTRUCTS[team.pattern](scope, team.name, {
      team,
      table: this.checkpoints.table,
      controlFunctions: this.control.functions,
      eventBus: this.bus,
      modelProvider: settings.modelProvider,
      modelIds: settings.modelIds,
      modelBaseUrl: settings.modelBaseUrl,
      modelApiKeySecret: this.modelApiKeySecret,
      agentReservedConcurrency: settings.agentReservedConcurrency,
      logRetention: settings.logRetention,
      ttlDays: settings.ttlDays,
      logExecutionData: settings.logExecutionData,
      logModelIo: settings.logModelIo,
      subTeamStateMachines: Object.fromEntries(Object.entries(this.teams).map(([name, deployed]) => [name, deployed.stateMachine])),
    });
    this.teams[team.name] = construct;
    this.output(`${pascalCase(team.name)}StateMachineArn`, {
      value: construct.stateMachine.stateMachineArn,
      description: `State machine of team ${team.name} (${team.pattern})`,
    });
    // Every machine (sub-teams' too) has an Escalate state whose token request-approval may answer,
    // and whose heartbeats the keeper sends.
    this.control.allowCallbacksFrom([construct.stateMachine]);
    this.events.addTeam(construct);
    this.approvalKeeper.addStateMachine(construct.stateMachine);
    this.alarms.addTeam(team.name, construct.stateMachine, Object.values(construct.functions));
    for (const queue of queuesIn(construct)) this.alarms.addDeadLetterQueue(queue);
    return construct;
  }
}

/** The Legions of a stack (not of its nested stacks), in the order of the construct tree. */
function legionsIn(stack: Stack): Legion[] {
  return stack.node.findAll().filter((construct): construct is Legion => construct instanceof Legion && Stack.of(construct) === stack);
}

/** Every queue under a construct: each is a dead-letter queue (of rule and schedule targets, or of failed asynchronous invocations). */
function queuesIn(scope: Construct): sqs.Queue[] {
  return scope.node.findAll().filter((construct): construct is sqs.Queue => construct instanceof sqs.Queue);
}

/** The props given, without those given as undefined (which leave the context's value in place). */
function definedOf<T extends object>(props: T): Partial<T> {
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as Partial<T>;
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
