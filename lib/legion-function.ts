/**
 * A Legion Lambda function with the project's secure defaults, shared by agent and control
 * functions: Node.js 22 on arm64, an ESM bundle made by the local esbuild, active X-Ray tracing,
 * JSON logs in its own log group with retention, and its own role that may write only that group.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../functions/core/contract.ts';
import { bundlingProject } from './bundling-project.ts';

/**
 * The esbuild banner that gives an ESM bundle a working `require`, needed by the CommonJS code it
 * contains (the AWS SDK, the X-Ray SDK): without it, invoking fails with `Dynamic require of ...`.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** Log options every Legion function (and state machine) takes. */
export interface LegionLogOptions {
  /**
   * How long the logs are kept.
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
  /**
   * Agents: log each model call's prompt and reply (`LEGION_LOG_MODEL_IO`). They hold customer
   * text: off by default, for debugging.
   *
   * @default false
   */
  readonly logModelIo?: boolean;
  /**
   * Days DynamoDB keeps a task's items (checkpoints, statuses, approvals, detections, journals)
   * before its TTL may delete them (`LEGION_TTL_DAYS`, read by the functions that write them).
   *
   * @default CHECKPOINT_TABLE.retentionDays (7)
   */
  readonly ttlDays?: number;
}

export interface LegionFunctionProps extends LegionLogOptions {
  /** The handler module (a `*.lambda.ts` file exporting `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  /** @default 256 */
  readonly memoryMb?: number;
  /** @default 30 */
  readonly timeoutSeconds?: number;
  /** @default no reserved concurrency */
  readonly reservedConcurrency?: number;
}

/**
 * @example
 * ```ts
 * const begin = new LegionFunction(this, 'BeginTask', {
 *   entry: 'functions/control/begin-task.lambda.ts',
 *   description: 'Legion: starts or resumes a task',
 *   environment: { LEGION_TABLE_NAME: table.tableName },
 * });
 * table.grant(begin.function, 'dynamodb:GetItem');
 * ```
 */
export class LegionFunction extends Construct {
  /** The Lambda function. */
  public readonly function: NodejsFunction;
  /** The function's execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;

  public constructor(scope: Construct, id: string, props: LegionFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    // Its own log group only, instead of AWSLambdaBasicExecutionRole (logs:* on every group).
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      description: props.description,
      entry: props.entry,
      handler: 'handler',
      projectRoot: bundlingProject().root,
      depsLockFilePath: bundlingProject().lockFile,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMb ?? 256,
      timeout: Duration.seconds(props.timeoutSeconds ?? 30),
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: this.role,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: {
        ...props.environment,
        ...(props.ttlDays === undefined ? {} : { [ENV.ttlDays]: String(props.ttlDays) }),
        // The bundle ships a source map; this makes stack traces point at the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
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
        reason: 'Invoked synchronously by Step Functions, which retries and catches failures; there are no async events to dead-letter.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason: 'Node.js 22 is the runtime the bundle targets and the handlers are tested on.',
      },
    );
  }
}
