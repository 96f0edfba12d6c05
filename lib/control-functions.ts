/**
 * The non-agent functions state machines call, one of each per stack: begin-task (starts or resumes
 * a task, storing its input and raising its epoch) and rollback-task (rolls a task back after an
 * inconsistent step result), which every pattern calls, and the auction's open-auction,
 * close-auction and settle-award. Each pattern's state machine may invoke only those its spec names
 * (`PatternSpec.controlFunctions`).
 */
import { fileURLToPath } from 'node:url';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CONTROL_FUNCTIONS, type ControlFunctionName, ENV } from '../functions/shared/contract.ts';
import { LegionFunction, type LegionLogOptions } from './legion-function.ts';

export interface ControlFunctionsProps extends LegionLogOptions {
  /** The checkpoint table; each function gets only the item actions it uses on it. */
  readonly table: dynamodb.ITable;
}

interface ControlFunctionSpec {
  id: string;
  entry: string;
  description: string;
  /** The item actions it needs on the checkpoint table, and nothing else. */
  tableActions: string[];
}

const entryOf = (file: string): string => fileURLToPath(new URL(`../functions/control/${file}`, import.meta.url));

const CONTROL_FUNCTION_SPECS: Record<ControlFunctionName, ControlFunctionSpec> = {
  'begin-task': {
    id: 'BeginTask',
    entry: entryOf('begin-task.lambda.ts'),
    description: 'Legion: starts or resumes a task (stores its input, raises its epoch)',
    tableActions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
  },
  'rollback-task': {
    id: 'RollbackTask',
    entry: entryOf('rollback-task.lambda.ts'),
    description: 'Legion: rolls a task back to its last valid checkpoint after an inconsistent step result',
    // Query and GetItem find the latest valid checkpoint; UpdateItem marks corrupt ones and counts the rollback.
    tableActions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  },
  // The auction store writes with TransactWriteItems, which IAM authorizes item by item (a Put needs
  // PutItem, an Update UpdateItem): there is no action of its own to grant.
  'open-auction': {
    id: 'OpenAuction',
    entry: entryOf('open-auction.lambda.ts'),
    description: 'Legion: opens a round of an auction (stores the announcement and its bidding window)',
    // PutItem stores the round (once: conditional); GetItem reads a round opened before (a replay).
    tableActions: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  'close-auction': {
    id: 'CloseAuction',
    entry: entryOf('close-auction.lambda.ts'),
    description: 'Legion: closes a round of an auction, ranks the valid bids and awards the best one',
    // GetItem reads the round, Query its bids; the transaction closes it (Update), records the award and the winner's capacity lease (Put).
    tableActions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
  },
  'settle-award': {
    id: 'SettleAward',
    entry: entryOf('settle-award.lambda.ts'),
    description: "Legion: settles an auction's award (completed, or failed and handed to the runner-up)",
    // GetItem reads the award and its round, Query the failed awards; the transaction settles it (Update), frees the bidder's lease (Delete), and awards a runner-up with its lease (Put).
    tableActions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  },
};

/**
 * @example
 * ```ts
 * const control = new ControlFunctions(this, 'Control', { table: checkpoints.table });
 * control.functions['begin-task'].grantInvoke(stateMachine);
 * ```
 */
export class ControlFunctions extends Construct {
  /** Each control function, by name (the names of `CONTROL_FUNCTIONS` in the contract). */
  public readonly functions: Record<ControlFunctionName, lambda.IFunction>;

  public constructor(scope: Construct, id: string, props: ControlFunctionsProps) {
    super(scope, id);
    const { table, ...logOptions } = props;
    const build = (spec: ControlFunctionSpec): lambda.IFunction => {
      const fn = new LegionFunction(this, spec.id, {
        ...logOptions,
        entry: spec.entry,
        description: spec.description,
        environment: { [ENV.tableName]: table.tableName },
      }).function;
      table.grant(fn, ...spec.tableActions);
      return fn;
    };
    // Every function of the contract, so that a new name fails to compile until it has a spec here.
    this.functions = Object.fromEntries(CONTROL_FUNCTIONS.map((name) => [name, build(CONTROL_FUNCTION_SPECS[name])])) as Record<
      ControlFunctionName,
      lambda.IFunction
    >;
  }
}
