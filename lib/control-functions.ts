/**
 * The non-agent functions every pattern's state machine calls, one of each per stack: begin-task
 * (starts or resumes a task, storing its input and raising its epoch) and rollback-task (rolls a
 * task back after an inconsistent step result).
 */
import { fileURLToPath } from 'node:url';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { type ControlFunctionName, ENV } from '../functions/shared/contract.ts';
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
    this.functions = {
      'begin-task': build(CONTROL_FUNCTION_SPECS['begin-task']),
      'rollback-task': build(CONTROL_FUNCTION_SPECS['rollback-task']),
    };
  }
}
