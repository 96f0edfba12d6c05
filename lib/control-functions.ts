/**
 * The non-agent functions every pattern's state machine calls, one of each per stack: today the
 * begin-task function (starts or resumes a task, storing its input and raising its epoch).
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

const BEGIN_TASK_ENTRY = fileURLToPath(new URL('../functions/control/begin-task.lambda.ts', import.meta.url));

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
    const beginTask = new LegionFunction(this, 'BeginTask', {
      ...logOptions,
      entry: BEGIN_TASK_ENTRY,
      description: 'Legion: starts or resumes a task (stores its input, raises its epoch)',
      environment: { [ENV.tableName]: table.tableName },
    });
    table.grant(beginTask.function, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    this.functions = { 'begin-task': beginTask.function };
  }
}
