/**
 * The DynamoDB table that holds every checkpoint, the per-task sequence counters and anything else
 * Legion stores per task. Its key schema and TTL attribute come from `CHECKPOINT_TABLE` in the
 * contract, which the handlers and the local runtime import too.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CHECKPOINT_TABLE } from '../functions/shared/contract.ts';

export interface CheckpointTableProps {
  /**
   * What happens to the table (and its checkpoints) when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether point-in-time recovery is on.
   *
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * Whether CloudFormation refuses to delete the table.
   *
   * @default false
   */
  readonly deletionProtection?: boolean;
}

/**
 * An on-demand DynamoDB table with the checkpoint key schema (`pk`/`sk` strings), a TTL on
 * `expiresAt`, point-in-time recovery, AWS-managed encryption, and RETAIN on removal.
 *
 * Grant access through `table` with the narrowest grant that fits (e.g.
 * `checkpoints.table.grant(fn, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query')`).
 *
 * @example
 * ```ts
 * const checkpoints = new CheckpointTable(this, 'Checkpoints');
 * new CfnOutput(this, 'TableName', { value: checkpoints.table.tableName });
 * ```
 */
export class CheckpointTable extends Construct {
  /** The DynamoDB table. */
  public readonly table: dynamodb.Table;

  public constructor(scope: Construct, id: string, props: CheckpointTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: CHECKPOINT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CHECKPOINT_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: CHECKPOINT_TABLE.ttlAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
