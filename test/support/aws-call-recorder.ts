/**
 * Test support: records the AWS calls each local function makes, as IAM would authorize them.
 * DynamoDB Local enforces no IAM, so a call the deployed role would refuse passes every local
 * test; recorded here, the IAM conformance test (test/infra/iam-conformance.test.ts) checks each
 * against the role of the function's Lambda in the synthesized stack.
 *
 * A call is attributed to the local function whose invocation is running
 * (`runningLocalFunction()`); calls made outside any function (the runtime's own reads for the run
 * result, a test arranging data) belong to no role and are counted apart.
 *
 * @example
 * ```ts
 * const recorder = new AwsCallRecorder();
 * const runtime = await LocalRuntime.connect(endpoint, { eventBus: recorder.eventBus(), model: recorder.model(new ScriptedModel()) });
 * recorder.watch(runtime);
 * await runtime.run({ team, input, taskId });
 * recorder.calls; // [{ caller: 'legion-telecom-support-billing', action: 'dynamodb:PutItem', ... }, ...]
 * ```
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, type SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { CHECKPOINT_TABLE, DEFAULT_MODEL_IDS, PENDING_APPROVALS_INDEX } from '../../functions/core/contract.ts';
import type { PutEventsEntry } from '../../functions/core/events.ts';
import { bedrockModelTarget } from '../../functions/models/bedrock-model-id.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { LocalEventBus, type PutEventsResult } from '../../local/local-event-bus.ts';
import { attributeWorkToLocalFunctions, runningLocalFunction } from '../../local/local-lambda.ts';
import type { LocalRuntime } from '../../local/local-runtime.ts';
import { inferenceProfileArn } from './deployed-roles.ts';

/** What an AWS call acts on, before it is named by an ARN of the deployment it is checked against. */
export type CallTarget =
  | { kind: 'table'; table: string; index?: string }
  | { kind: 'event-bus'; bus: string }
  /** A callback token's answer: IAM checks it against the state machine whose execution issued the token. */
  | { kind: 'task-token'; token: string }
  | { kind: 'foundation-model'; modelId: string }
  | { kind: 'inference-profile'; profileId: string };

/** One AWS call as IAM authorizes it: a TransactWriteItems is one call per contained item. */
export interface RecordedCall {
  /** The local function name (`legion-<team>-<agent>`, `legion-control-<name>`, `legion-<team>-collect-bid`). */
  caller: string;
  /** The IAM action, e.g. `dynamodb:PutItem`. */
  action: string;
  target: CallTarget;
  /** The condition keys IAM would see (e.g. `dynamodb:LeadingKeys`: the partition key values of the request). */
  context: Record<string, string[]>;
  /** The API operation that made it (e.g. `TransactWriteItemsCommand`). */
  operation: string;
}

/** The DynamoDB operations whose IAM action is `dynamodb:<operation>` (single table, one key or a key condition). */
const SINGLE_ITEM_OPERATIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] as const;

/** IAM's action for each kind of item in a transaction (transaction-apis-iam in the DynamoDB guide). */
const TRANSACT_ITEM_ACTIONS = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' } as const;

type TransactEntry = Partial<Record<keyof typeof TRANSACT_ITEM_ACTIONS, { TableName?: string; Key?: Record<string, AttributeValue>; Item?: Record<string, AttributeValue> }>>;

interface DynamoDbInput {
  TableName?: string;
  IndexName?: string;
  Key?: Record<string, AttributeValue>;
  Item?: Record<string, AttributeValue>;
  KeyConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
  TransactItems?: TransactEntry[];
  RequestItems?: Record<string, unknown>;
}

export class AwsCallRecorder {
  /** Every call a local function made, in order. */
  public readonly calls: RecordedCall[] = [];
  /** Calls made outside every local function (the runtime's own reads, the tests' set-up): no role is checked for them. */
  public unattributed = 0;

  public constructor() {
    attributeWorkToLocalFunctions();
  }

  /**
   * Records the DynamoDB calls of every store of the runtime (they share its client's middleware
   * stack) and the answers to callback tokens (SendTaskSuccess / Failure / Heartbeat).
   */
  public watch(runtime: LocalRuntime): void {
    // At the build step the input is marshalled, whether a document client or a plain one sent it.
    runtime.db.client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = context.commandName ?? 'unknown';
        for (const call of dynamoDbCalls(operation.replace(/Command$/, ''), args.input as DynamoDbInput)) this.record(call.action, call.target, call.context, operation);
        return next(args);
      },
      { step: 'build', name: 'legionIamRecorder', override: true },
    );
    const tokens = runtime.taskTokens;
    const send = tokens.send.bind(tokens);
    // The runtime hands this one instance to request-approval and the approval keeper.
    tokens.send = (command: SendTaskSuccessCommand | SendTaskFailureCommand | SendTaskHeartbeatCommand): Promise<unknown> => {
      const action = command instanceof SendTaskHeartbeatCommand ? 'SendTaskHeartbeat' : command instanceof SendTaskFailureCommand ? 'SendTaskFailure' : 'SendTaskSuccess';
      this.record(`states:${action}`, { kind: 'task-token', token: command.input.taskToken ?? '' }, {}, `${action}Command`);
      return send(command);
    };
  }

  /** A local event bus whose PutEvents are recorded (give it to the runtime as `eventBus`). */
  public eventBus(): LocalEventBus {
    const record = (entries: readonly PutEventsEntry[], bus: string): void => {
      // One PutEvents call, whatever the number of entries; each entry names its bus.
      const buses = new Set(entries.map((entry) => entry.EventBusName ?? bus));
      for (const name of buses) this.record('events:PutEvents', { kind: 'event-bus', bus: name }, {}, 'PutEventsCommand');
    };
    return new (class RecordingEventBus extends LocalEventBus {
      public override putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventsResult> {
        record(entries, this.name);
        return super.putEvents(entries);
      }
    })();
  }

  /**
   * The runtime's model, recording each call as the `bedrock:InvokeModel` checks that Bedrock's
   * Converse makes, on the model of the request's tier (`DEFAULT_MODEL_IDS`) or the agent's own:
   * what an agent deployed with Bedrock calls instead of the scripted model. Through an inference
   * profile, Bedrock authorizes two: the profile, then the foundation model it routes to, with the
   * profile's ARN in `bedrock:InferenceProfileArn`.
   */
  public model(inner: ModelProvider): ModelProvider {
    return {
      converse: (request: ModelRequest): Promise<ModelReply> => {
        const target = bedrockModelTarget(request.modelId ?? DEFAULT_MODEL_IDS[request.modelTier]);
        if (target.kind === 'foundation-model') this.record('bedrock:InvokeModel', { kind: 'foundation-model', modelId: target.modelId }, {}, 'ConverseCommand');
        if (target.kind === 'inference-profile') {
          this.record('bedrock:InvokeModel', { kind: 'inference-profile', profileId: target.profileId }, {}, 'ConverseCommand');
          const routedThrough = { 'bedrock:InferenceProfileArn': [inferenceProfileArn(target.profileId)] };
          this.record('bedrock:InvokeModel', { kind: 'foundation-model', modelId: target.foundationModelId }, routedThrough, 'ConverseCommand');
        }
        return inner.converse(request);
      },
    };
  }

  /** The calls of one local function. */
  public callsOf(caller: string): RecordedCall[] {
    return this.calls.filter((call) => call.caller === caller);
  }

  private record(action: string, target: CallTarget, context: Record<string, string[]>, operation: string): void {
    const caller = runningLocalFunction()?.functionName;
    if (caller === undefined) this.unattributed += 1;
    else this.calls.push({ caller, action, target, context, operation });
  }
}

/** The IAM authorizations one DynamoDB request needs (its input already marshalled). */
function dynamoDbCalls(operation: string, input: DynamoDbInput): Pick<RecordedCall, 'action' | 'target' | 'context'>[] {
  const table = input.TableName ?? '';
  if ((SINGLE_ITEM_OPERATIONS as readonly string[]).includes(operation)) {
    return [{ action: `dynamodb:${operation}`, target: { kind: 'table', table }, context: leadingKeys(partitionValue(input.Key ?? input.Item)) }];
  }
  if (operation === 'Query') {
    const index = input.IndexName;
    // A query's leading key is the partition key of what it reads: the index's for an index (the
    // request names no table key there). No grant conditions an index query on it today.
    const keyName = index === PENDING_APPROVALS_INDEX.indexName ? PENDING_APPROVALS_INDEX.partitionKey : CHECKPOINT_TABLE.partitionKey;
    return [{ action: 'dynamodb:Query', target: { kind: 'table', table, ...(index ? { index } : {}) }, context: leadingKeys(queriedPartition(input, keyName)) }];
  }
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    return (input.TransactItems ?? []).flatMap((entry) =>
      Object.entries(entry).map(([kind, item]) => ({
        action: `dynamodb:${TRANSACT_ITEM_ACTIONS[kind as keyof typeof TRANSACT_ITEM_ACTIONS]}`,
        target: { kind: 'table' as const, table: item.TableName ?? '' },
        context: { ...leadingKeys(partitionValue(item.Key ?? item.Item)), 'dynamodb:EnclosingOperation': [operation] },
      })),
    );
  }
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
    return Object.keys(input.RequestItems ?? {}).map((name) => ({ action: `dynamodb:${operation}`, target: { kind: 'table' as const, table: name }, context: {} }));
  }
  // Scan, DescribeTable and the rest: authorized by their own action, without leading keys.
  return [{ action: `dynamodb:${operation}`, target: { kind: 'table', table }, context: {} }];
}

function leadingKeys(value: string | undefined): Record<string, string[]> {
  return value === undefined ? {} : { 'dynamodb:LeadingKeys': [value] };
}

function partitionValue(key: Record<string, AttributeValue> | undefined): string | undefined {
  return key?.[CHECKPOINT_TABLE.partitionKey]?.S;
}

/** The value the key condition gives the partition key (`#pk = :pk`, names resolved). */
function queriedPartition(input: DynamoDbInput, keyName: string): string | undefined {
  const names = input.ExpressionAttributeNames ?? {};
  for (const match of (input.KeyConditionExpression ?? '').matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const [, name = '', placeholder = ''] = match;
    if ((names[name] ?? name) === keyName) return input.ExpressionAttributeValues?.[placeholder]?.S;
  }
  return undefined;
}
