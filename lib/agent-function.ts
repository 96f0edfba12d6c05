/**
 * One agent role as its own Lambda function: its own role, log group, memory, timeout, reserved
 * concurrency and model permissions. Every role runs the same generic handler
 * (`functions/agents/agent.lambda.ts`); what differs is the configuration in its environment.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type BundledAgentParts, agentEntryFor } from './agent-entry.ts';
import { grantModelInvocation } from './bedrock-access.ts';
import { CHECKPOINT_PARTITIONS, grantItems } from './checkpoint-table.ts';
import { LegionFunction, type LegionLogOptions } from './legion-function.ts';

export { ESM_REQUIRE_BANNER } from './legion-function.ts';
import type { AgentSettings, ModelSettings } from '../functions/core/config.ts';
import { DEFAULT_MODEL_IDS, ENV, type ModelTier } from '../functions/core/contract.ts';
import type { AgentDefinition } from '../functions/core/team-schema.ts';
import { BUNDLED_SYSTEM_PROMPT_MARKER } from '../functions/core/bundled-modules.ts';
import { baseUrlProblem } from '../functions/models/openai-compatible-model.ts';

/** Which model provider the agents use: Amazon Bedrock, an OpenAI-compatible server, or the deterministic scripted model. */
export type ModelProviderName = ModelSettings['provider'];

/** The item actions an agent has on the checkpoint table, within its team's partitions. */
export const AGENT_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'] as const;

/** System prompts up to this many characters travel in the function's environment; longer ones with its code. */
export const ENV_SYSTEM_PROMPT_CHARS = 2000;

/** Tool definitions (as JSON) up to this many characters travel in the function's environment; longer ones, with the prompt, in its code. */
export const ENV_TOOLS_CHARS = 1000;

/** What of the agent's definition goes with its code: nothing, the prompt, or the prompt and the tools. */
function bundledParts(agent: AgentDefinition): BundledAgentParts {
  const longTools = JSON.stringify(agent.tools).length > ENV_TOOLS_CHARS;
  if (!longTools && agent.systemPrompt.length <= ENV_SYSTEM_PROMPT_CHARS) return {};
  return { systemPrompt: agent.systemPrompt, ...(longTools ? { tools: agent.tools } : {}) };
}

/** Lambda's limit on the total size of a function's environment variables, in bytes. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * Sizes assumed for values only known at deploy time when the environment size is checked at synth:
 * a Lambda ARN with the longest partition, region and a 64-character function name fits in 140
 * characters; a table name may be up to 255.
 */
const DEPLOY_TIME_SIZES = { arn: 140, tableName: 255, secretArn: 600 } as const;

/**
 * The server an openai-compatible agent calls, checked at synth: a deploy that could only fail at
 * the first model call is refused here, naming the agent.
 */
function openAiCompatibleEnvironment(teamName: string, agentId: string, provider: ModelProviderName, baseUrl: string | undefined): Record<string, string> {
  if (provider !== 'openai-compatible') return {};
  const problem = baseUrl === undefined ? 'is not set (context legion:modelBaseUrl)' : baseUrlProblem(baseUrl);
  if (problem) throw new Error(`Agent "${agentId}" of team "${teamName}": the openai-compatible base URL ${problem}`);
  return { [ENV.modelBaseUrl]: baseUrl ?? '' };
}


/** The options every agent function of a team shares; team constructs pass them through. */
export interface AgentFunctionOptions extends LegionLogOptions {
  /**
   * The model provider. With `bedrock` the function may invoke its model (its own, else its tier's) and nothing else.
   *
   * @default 'bedrock'
   */
  readonly modelProvider?: ModelProviderName;
  /**
   * Bedrock model id per tier: a foundation model id, a cross-Region inference profile id
   * (`us.anthropic...`) or an inference profile ARN. An agent's own `model` wins over its tier's.
   *
   * @default DEFAULT_MODEL_IDS from the contract
   */
  readonly modelIds?: Record<ModelTier, string>;
  /**
   * openai-compatible: the server's API base URL, up to its version (`https://llm.example.com/v1`),
   * reachable from Lambda. Required with that provider.
   *
   * @default none
   */
  readonly modelBaseUrl?: string;
  /**
   * openai-compatible: the Secrets Manager secret whose text is the API key; the function may read
   * this secret only, and only its ARN is in the environment.
   *
   * @default none: no key is sent
   */
  readonly modelApiKeySecret?: secretsmanager.ISecret;
  /**
   * Reserved concurrency of every agent whose definition sets none: each agent then has its own
   * share, and one agent's burst cannot starve the others. Unset leaves them on the account's
   * unreserved pool: AWS keeps 100 executions unreserved, so an account with a low concurrency
   * limit (new accounts start with as few as 10) refuses a deploy that reserves any; hence opt-in.
   *
   * @default none
   */
  readonly agentReservedConcurrency?: number;
}

export interface AgentFunctionProps extends AgentFunctionOptions {
  /** What the agent is told about itself and its team (`agentSettingsFor()`), put in its environment. */
  readonly settings: AgentSettings;
  /**
   * The checkpoint table; the function gets {@link AGENT_TABLE_ACTIONS} on it (not on its indexes),
   * on the items whose partition key starts with its team's prefix (`TEAM#<team>#`) only.
   */
  readonly table: dynamodb.ITable;
}

/**
 * A Lambda function (Node.js 22, arm64, ESM bundle made by the local esbuild) for one agent role,
 * with active X-Ray tracing, JSON logs in its own log group, and the memory, timeout and reserved
 * concurrency of the agent definition. Its environment is what `readAgentConfig()` reads. Its
 * role may write its own logs, read and write its own team's items of the checkpoint table
 * (checkpoints, and with `resources` the leases of its team's resource pool), and (with Bedrock)
 * invoke the one foundation model of the agent's tier.
 *
 * Synth fails with an error naming the agent if its environment could exceed Lambda's 4 KB limit.
 *
 * @example
 * ```ts
 * const checkpoints = new CheckpointTable(this, 'Checkpoints');
 * const billing = new AgentFunction(this, 'Billing', {
 *   settings: agentSettingsFor(team, 'billing', (id) => arns[id]),
 *   table: checkpoints.table,
 * });
 * billing.function.grantInvoke(stateMachine);
 * ```
 */
export class AgentFunction extends Construct {
  /** The Lambda function. */
  public readonly function: NodejsFunction;
  /** The function's execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The agent role this function runs. */
  public readonly agent: AgentDefinition;
  private readonly teamName: string;
  /** The environment with deploy-time values at their largest, as the 4 KB check counts it. */
  private readonly worstCaseEnvironment: Record<string, string>;
  /** The buses the agent may put events on (see putsEventsOn). */
  private readonly eventBuses = new Set<events.IEventBus>();

  public constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    super(scope, id);
    const { table } = props;
    const { agent, team: teamName } = props.settings;
    // A long prompt or long tool definitions travel with the code: the environment holds 4 KB in all.
    const bundled = bundledParts(agent);
    const settings = bundled.systemPrompt === undefined
      ? props.settings
      : { ...props.settings, agent: { ...agent, systemPrompt: BUNDLED_SYSTEM_PROMPT_MARKER, ...(bundled.tools ? { tools: [] } : {}) } };
    this.agent = agent;
    const modelProvider = props.modelProvider ?? 'bedrock';
    const modelIds = props.modelIds ?? DEFAULT_MODEL_IDS;
    const knownEnvironment = {
      ...(props.logModelIo ? { [ENV.logModelIo]: 'true' } : {}),
      ...(props.ttlDays === undefined ? {} : { [ENV.ttlDays]: String(props.ttlDays) }),
      [ENV.modelProvider]: modelProvider,
      [ENV.modelIds]: JSON.stringify(modelIds),
      ...openAiCompatibleEnvironment(teamName, agent.id, modelProvider, props.modelBaseUrl),
      // Counted here because LegionFunction adds it.
      NODE_OPTIONS: '--enable-source-maps',
    };
    const apiKeySecret = modelProvider === 'openai-compatible' ? props.modelApiKeySecret : undefined;
    this.teamName = teamName;
    this.worstCaseEnvironment = {
      ...knownEnvironment,
      ...(apiKeySecret ? { [ENV.modelApiKeySecret]: 'x'.repeat(DEPLOY_TIME_SIZES.secretArn) } : {}),
      [ENV.tableName]: 'x'.repeat(DEPLOY_TIME_SIZES.tableName),
      [ENV.agent]: withDeployTimeSizes(JSON.stringify(settings)),
    };
    assertEnvironmentFits(teamName, agent.id, this.worstCaseEnvironment);

    const base = new LegionFunction(this, 'Agent', {
      entry: agentEntryFor(teamName, agent, bundled),
      description: `Legion agent ${teamName}/${agent.id} (${agent.role})`,
      memoryMb: agent.memoryMb,
      timeoutSeconds: agent.timeoutSeconds,
      reservedConcurrency: agent.reservedConcurrency ?? props.agentReservedConcurrency,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      applicationLogLevel: props.applicationLogLevel,
      environment: {
        [ENV.tableName]: table.tableName,
        // The roster holds function ARN tokens: toJsonString resolves them inside the JSON.
        [ENV.agent]: Stack.of(this).toJsonString(settings),
        ...knownEnvironment,
        ...(apiKeySecret ? { [ENV.modelApiKeySecret]: apiKeySecret.secretArn } : {}),
      },
    });
    this.function = base.function;
    this.role = base.role;
    this.logGroup = base.logGroup;

    // Put/Update to checkpoint, Query and GetItem to restore and to find a step already done (a
    // resumed step); DeleteItem to forget the step marker of a checkpoint found corrupt (the step
    // runs again) and, with `resources`, to release a lease or a wait edge of the team's pool.
    // The table only, not its indexes, and only the team's own partitions: every key an agent
    // writes or reads starts with its team's prefix (its tasks, its pool), never an approval's
    // (which holds a callback token) or another team's. test/infra/iam-conformance.test.ts checks
    // both ways against the calls the agents make.
    grantItems(table, this.function, AGENT_TABLE_ACTIONS, [CHECKPOINT_PARTITIONS.team(teamName)]);

    // The agent's own model, else its tier's: the only model its role may invoke.
    if (modelProvider === 'bedrock') grantModelInvocation(this, this.function, agent.model ?? modelIds[agent.modelTier]);
    apiKeySecret?.grantRead(this.function);
    this.grantLambdaTools(agent);
  }

  /**
   * The functions of the agent's Lambda tools: the only ones its role may invoke, each exactly as
   * its tool names it (the call goes to that ARN, so no other version or alias is needed). An
   * identity grant only: a function in another account needs its own resource policy to let this
   * role in, which only its owner can add.
   */
  private grantLambdaTools(agent: AgentDefinition): void {
    const resourceArns = [...new Set(agent.tools.flatMap((tool) => ('lambda' in tool ? [tool.lambda] : [])))];
    if (resourceArns.length > 0) iam.Grant.addToPrincipal({ grantee: this.function, actions: ['lambda:InvokeFunction'], resourceArns });
  }

  /**
   * Adds a variable to the function's environment, checked like the others against Lambda's 4 KB
   * limit. A value known only at deploy time (a token) counts as `deployTimeLength` characters.
   *
   * @example
   * ```ts
   * // EventBridge bus names have at most 256 characters.
   * bidder.addEnvironment(ENV.eventBusName, bus.eventBusName, 256);
   * ```
   * @throws Error if the environment could exceed 4 KB, or a token is given without `deployTimeLength`
   */
  public addEnvironment(name: string, value: string, deployTimeLength?: number): void {
    let worstCase = value;
    if (Token.isUnresolved(value)) {
      if (deployTimeLength === undefined) throw new Error(`Agent "${this.agent.id}": ${name} is only known at deploy time; give its longest length`);
      worstCase = 'x'.repeat(deployTimeLength);
    }
    const environment = { ...this.worstCaseEnvironment, [name]: worstCase };
    assertEnvironmentFits(this.teamName, this.agent.id, environment);
    this.worstCaseEnvironment[name] = worstCase;
    this.function.addEnvironment(name, value);
  }

  /**
   * Lets the agent put events on the Legion bus, and tells it the bus (ENV.eventBusName): an
   * auction bidder's bids, the detections of an agent with `resources` (deadlocks) or `tools`
   * (tool call loops).
   *
   * @example
   * ```ts
   * bidder.putsEventsOn(bus);
   * ```
   */
  public putsEventsOn(eventBus: events.IEventBus): void {
    // Once per bus: a bidder with tools is given it for its bids and for its detections.
    if (this.eventBuses.has(eventBus)) return;
    this.eventBuses.add(eventBus);
    this.addEnvironment(ENV.eventBusName, eventBus.eventBusName, EVENT_BUS_NAME_MAX_LENGTH);
    eventBus.grantPutEventsTo(this.function);
  }
}

/** The longest name an EventBridge bus can have. */
const EVENT_BUS_NAME_MAX_LENGTH = 256;

/** Replaces every unresolved token in `text` with a string as long as the longest ARN it can become. */
function withDeployTimeSizes(text: string): string {
  return text.replace(/\$\{Token\[[^\]]*\]\}/g, 'x'.repeat(DEPLOY_TIME_SIZES.arn));
}

/**
 * Throws if an environment (its names and values, as Lambda counts them) could exceed 4 KB.
 * Values must already have deploy-time tokens replaced by worst-case stand-ins.
 */
function assertEnvironmentFits(teamName: string, agentId: string, environment: Record<string, string>): void {
  const entries = Object.entries(environment);
  if (entries.some(([, value]) => Token.isUnresolved(value))) {
    throw new Error(`internal: unresolved token left in the size check of agent ${teamName}/${agentId}`);
  }
  const bytes = entries.reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  if (bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
    const agentBytes = Buffer.byteLength(environment[ENV.agent] ?? '');
    throw new Error(
      `Agent "${agentId}" of team "${teamName}": its Lambda environment could reach ${bytes} bytes, over Lambda's ` +
        `${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit (${ENV.agent} alone is ${agentBytes} bytes, counting each ` +
        `function ARN as ${DEPLOY_TIME_SIZES.arn} characters). Shorten its systemPrompt, description, ` +
        'capabilities or scriptedReply, or give a supervisor fewer workers.',
    );
  }
}
