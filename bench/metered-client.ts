/**
 * A document client that asks DynamoDB for the capacity each request consumed
 * (`ReturnConsumedCapacity: TOTAL`) and adds it up. DynamoDB Local computes consumed capacity by
 * the same rules as AWS, which gives a measured count of request units per checkpoint operation.
 * It has its own low-level client: a document client shares its client's middleware stack, so
 * metering the timed clients would change what is timed.
 *
 * @example
 * ```ts
 * const metered = MeteredClient.connect(db.endpoint);
 * await new CheckpointManager({ client: metered.documentClient, tableName, team: 'bench' }).save(input);
 * metered.take(); // { readUnits: 1, writeUnits: 5, requests: 3 }
 * metered.destroy();
 * ```
 */
import { type ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface Consumption {
  readUnits: number;
  writeUnits: number;
  requests: number;
}

const READ_COMMAND = /^(Get|BatchGet|TransactGet|Query|Scan)/;

export class MeteredClient {
  private consumed: Consumption = { readUnits: 0, writeUnits: 0, requests: 0 };

  private constructor(
    private readonly client: DynamoDBClient,
    public readonly documentClient: DynamoDBDocumentClient,
  ) {}

  public static connect(endpoint: string): MeteredClient {
    const client = new DynamoDBClient({
      endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const documentClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const metered = new MeteredClient(client, documentClient);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        Object.assign(args.input, { ReturnConsumedCapacity: 'TOTAL' });
        const result = await next(args);
        const output: object = result.output;
        const consumed = 'ConsumedCapacity' in output ? (output.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined) : undefined;
        metered.record(context.commandName ?? '', consumed);
        return result;
      },
      { step: 'initialize', name: 'benchConsumedCapacity' },
    );
    return metered;
  }

  /** What was consumed since the last `take()`, and starts counting again. */
  public take(): Consumption {
    const consumed = this.consumed;
    this.consumed = { readUnits: 0, writeUnits: 0, requests: 0 };
    return consumed;
  }

  public destroy(): void {
    this.client.destroy();
  }

  private record(commandName: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    const units = entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    this.consumed.requests += 1;
    if (READ_COMMAND.test(commandName)) this.consumed.readUnits += units;
    else this.consumed.writeUnits += units;
  }
}
