/**
 * One agent role as its own Lambda function: its own role, log group, memory, timeout, reserved
 * concurrency and model permissions. Every role runs the same generic handler
 * (`functions/agents/agent.lambda.ts`); what differs is the configuration in its environment.
 */
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AgentSettings, ModelSettings } from '../functions/shared/config.ts';
import { DEFAULT_MODEL_IDS, ENV, type ModelTier } from '../functions/shared/contract.ts';
import type { AgentDefinition } from '../functions/shared/team-schema.ts';

/** Which model provider the agents use: Amazon Bedrock, or the deterministic scripted model. */
export type ModelProviderName = ModelSettings['provider'];

/** Lambda's limit on the total size of a function's environment variables, in bytes. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * Sizes assumed for values only known at deploy time when the environment size is checked at synth:
 * a Lambda ARN with the longest partition, region and a 64-character function name fits in 140
 * characters; a table name may be up to 255.
 */
const DEPLOY_TIME_SIZES = { arn: 140, tableName: 255 } as const;

/**
 * The esbuild banner that gives an ESM bundle a working `require`, needed by the CommonJS code it
 * contains (the AWS SDK, the X-Ray SDK): without it, invoking fails with `Dynamic require of ...`.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

const AGENT_ENTRY = fileURLToPath(new URL('../functions/agents/agent.lambda.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/** The options every agent function of a team shares; team constructs pass them through. */
export interface AgentFunctionOptions {
  /**
   * The model provider. With `bedrock` the function may invoke the foundation model of its tier.
   *
   * @default 'bedrock'
   */
  readonly modelProvider?: ModelProviderName;
  /**
   * Bedrock model id per tier.
   *
   * @default DEFAULT_MODEL_IDS from the contract
   */
  readonly modelIds?: Record<ModelTier, string>;
  /**
   * How long the function's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The level of the application's JSON logs.
   *
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;
}

export interface AgentFunctionProps extends AgentFunctionOptions {
  /** What the agent is told about itself and its team (`agentSettingsFor()`), put in its environment. */
  readonly settings: AgentSettings;
  /** The checkpoint table; the function gets PutItem, UpdateItem and Query on it, nothing more. */
  readonly table: dynamodb.ITable;
}

/**
 * A Lambda function (Node.js 22, arm64, ESM bundle made by the local esbuild) for one agent role,
 * with active X-Ray tracing, JSON logs in its own log group, and the memory, timeout and reserved
 * concurrency of the agent definition. Its environment is what `readAgentConfig()` reads. Its
 * role may write its own logs, read and write checkpoints, and (with Bedrock) invoke the one
 * foundation model of the agent's tier.
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

  public constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    super(scope, id);
    const { settings, table } = props;
    const { agent, team: teamName } = settings;
    this.agent = agent;
    const modelProvider = props.modelProvider ?? 'bedrock';
    const modelIds = props.modelIds ?? DEFAULT_MODEL_IDS;
    const knownEnvironment = {
      [ENV.modelProvider]: modelProvider,
      [ENV.modelIds]: JSON.stringify(modelIds),
      // The bundle ships a source map; this makes stack traces point at the TypeScript sources.
      NODE_OPTIONS: '--enable-source-maps',
    };
    assertEnvironmentFits(teamName, agent.id, {
      ...knownEnvironment,
      [ENV.tableName]: 'x'.repeat(DEPLOY_TIME_SIZES.tableName),
      [ENV.agent]: withDeployTimeSizes(JSON.stringify(settings)),
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Legion agent ${teamName}/${agent.id}`,
    });
    // Its own log group only, instead of AWSLambdaBasicExecutionRole (logs:* on every group).
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      description: `Legion agent ${teamName}/${agent.id} (${agent.role})`,
      entry: AGENT_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: agent.memoryMb,
      timeout: Duration.seconds(agent.timeoutSeconds),
      reservedConcurrentExecutions: agent.reservedConcurrency,
      role: this.role,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: {
        [ENV.tableName]: table.tableName,
        // The roster holds function ARN tokens: toJsonString resolves them inside the JSON.
        [ENV.agent]: Stack.of(this).toJsonString(settings),
        ...knownEnvironment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        target: 'node22',
        minify: true,
        sourceMap: true,
        banner: ESM_REQUIRE_BANNER,
        // Bundle the AWS SDK too: pinned versions, and a faster cold start than loading it from disk.
        externalModules: [],
      },
    });

    table.grant(this.function, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query');

    if (modelProvider === 'bedrock') {
      iam.Grant.addToPrincipal({
        grantee: this.function,
        actions: ['bedrock:InvokeModel'],
        resourceArns: [
          Stack.of(this).formatArn({
            service: 'bedrock',
            account: '',
            resource: 'foundation-model',
            resourceName: modelIds[agent.modelTier],
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
      });
    }

    this.acknowledgeFindings();
  }

  /** cdk-nag findings that are deliberate, with the reason. */
  private acknowledgeFindings(): void {
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (added by tracing: ACTIVE).',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 is the runtime the bundle targets and the handlers are tested on.',
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'Agents are invoked synchronously by Step Functions, which retries and catches failures; there are no async events to dead-letter.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason: 'Node.js 22 is the runtime the bundle targets and the handlers are tested on.',
      },
    );
  }
}

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
