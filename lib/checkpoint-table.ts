/**
 * The DynamoDB table that holds every checkpoint, the per-task sequence counters and anything else
 * Legion stores per task. Its key schema and TTL attribute come from `CHECKPOINT_TABLE` in the
 * contract, its sparse index of pending approvals from `PENDING_APPROVALS_INDEX`, which the
 * handlers and the local runtime (local/dynamodb-local.ts) import too.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CHECKPOINT_TABLE, PENDING_APPROVALS_INDEX, approvalItemKey, taskOwnerKey, teamPartitionPrefix } from '../functions/core/contract.ts';

/**
 * The partitions of the checkpoint table a role may reach, as `dynamodb:LeadingKeys` patterns,
 * built from the contract's keys: a team's own (its tasks, its resource pool, its bidders), every
 * team's, the approvals (they hold callback tokens) and the task owners (which team owns a task id).
 */
export const CHECKPOINT_PARTITIONS = {
  team: (team: string): string => `${teamPartitionPrefix(team)}*`,
  anyTeam: `${teamPartitionPrefix('*')}*`,
  approvals: approvalItemKey('*', '*')[CHECKPOINT_TABLE.partitionKey] ?? '',
  taskOwners: taskOwnerKey('*')[CHECKPOINT_TABLE.partitionKey] ?? '',
} as const;

/** One grant on the table: these item actions, on the items of these partitions (`dynamodb:LeadingKeys` patterns). */
export interface ItemGrant {
  readonly actions: readonly string[];
  readonly partitions: readonly string[];
}

/**
 * Grants item actions on the table, not on its indexes, for the items whose partition key matches
 * one of `partitions` (a `ForAllValues:StringLike` condition on `dynamodb:LeadingKeys`). Every
 * item action (GetItem, PutItem, UpdateItem, DeleteItem, Query on the table, and each item of a
 * transaction) carries the key, so nothing else is reachable; Scan carries none: never grant it.
 *
 * One call is one statement: every action on every partition. A role whose actions differ from one
 * partition to the next gets one call per (actions, partitions) pair its code uses ({@link ItemGrant}),
 * so that no action reaches a partition where the code never makes it.
 *
 * @example
 * ```ts
 * grantItems(checkpoints.table, fn, ['dynamodb:GetItem'], [CHECKPOINT_PARTITIONS.team('telecom-support')]);
 * grantItems(checkpoints.table, fn, ['dynamodb:UpdateItem'], [CHECKPOINT_PARTITIONS.approvals]);
 * ```
 */
export function grantItems(table: dynamodb.ITable, grantee: iam.IGrantable, actions: readonly string[], partitions: readonly string[]): iam.Grant {
  if (actions.some((action) => !ITEM_ACTIONS.has(action))) throw new Error(`grantItems grants item actions only (${[...ITEM_ACTIONS].join(', ')}), got ${actions.join(', ')}`);
  if (partitions.length === 0) throw new Error('grantItems needs the partitions the grant may reach');
  return iam.Grant.addToPrincipal({
    grantee,
    actions: [...actions],
    resourceArns: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] } },
  });
}

/** The actions that always carry `dynamodb:LeadingKeys` (a transaction is authorized item by item with these). */
const ITEM_ACTIONS = new Set(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query']);

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
 * `expiresAt`, point-in-time recovery, AWS-managed encryption, RETAIN on removal, and the sparse
 * global secondary index of pending approvals (`pending-approvals`, read by the approval keeper).
 *
 * Grant access with {@link grantItems}: the item actions a role uses, on the partitions it uses
 * them on ({@link CHECKPOINT_PARTITIONS}), one call per (actions, partitions) pair, the table only.
 * The index is granted apart, on {@link pendingApprovalsIndexArn}.
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
  /** The name of the sparse index of pending approvals (PENDING_APPROVALS_INDEX). */
  public readonly pendingApprovalsIndexName: string = PENDING_APPROVALS_INDEX.indexName;
  /** The ARN of that index, for a grant of `dynamodb:Query` on it alone. */
  public readonly pendingApprovalsIndexArn: string;

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
    this.addPendingApprovalsIndex();
    this.pendingApprovalsIndexArn = `${this.table.tableArn}/index/${PENDING_APPROVALS_INDEX.indexName}`;
  }

  /**
   * Adds the index on the CloudFormation resource, not with `table.addGlobalSecondaryIndex`: once
   * the Table construct knows of an index, every `table.grant(...)` of every function also covers
   * `<table ARN>/index/*`, a wildcard that functions do not need (and cdk-nag refuses). Only the
   * approval keeper reads the index, granted on its ARN alone.
   */
  private addPendingApprovalsIndex(): void {
    const resource = this.table.node.defaultChild as dynamodb.CfnTable;
    resource.addPropertyOverride('AttributeDefinitions', [
      { AttributeName: CHECKPOINT_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: CHECKPOINT_TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, AttributeType: 'S' },
      { AttributeName: PENDING_APPROVALS_INDEX.sortKey, AttributeType: 'S' },
    ]);
    resource.addPropertyOverride('GlobalSecondaryIndexes', [
      {
        IndexName: PENDING_APPROVALS_INDEX.indexName,
        KeySchema: [
          { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: PENDING_APPROVALS_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...PENDING_APPROVALS_INDEX.projectedAttributes] },
      },
    ]);
  }
}
