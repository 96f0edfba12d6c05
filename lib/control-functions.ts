/**
 * The non-agent functions state machines call, one of each per stack: begin-task (starts or resumes
 * a task, storing its input and raising its epoch), rollback-task (rolls a task back after an
 * inconsistent step result) and request-approval (an escalated run waits for a human), which every
 * pattern calls, and the auction's open-auction, close-auction and settle-award. Each pattern's
 * state machine may invoke only those its spec names (`PatternSpec.controlFunctions`).
 */
import { packageModule } from '../functions/core/package-files.ts';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CONTROL_FUNCTIONS, type ControlFunctionName, ENV } from '../functions/core/contract.ts';
import { CHECKPOINT_PARTITIONS, type ItemGrant, grantItems } from './checkpoint-table.ts';
import { GrowingStatement } from './growing-statement.ts';
import { LegionFunction, type LegionLogOptions } from './legion-function.ts';

/** The Step Functions actions that answer a callback token (`.waitForTaskToken`). */
export const CALLBACK_ACTIONS = ['states:SendTaskSuccess', 'states:SendTaskFailure'] as const;

export interface ControlFunctionsProps extends LegionLogOptions {
  /** The checkpoint table; each function gets only the item actions it uses on it, each on the partitions it uses it on. */
  readonly table: dynamodb.ITable;
  /**
   * The Legion event bus. request-approval puts its `ApprovalRequested` events on it: it is told
   * the bus's name (`LEGION_EVENT_BUS_NAME`) and may put events on this bus only. The other
   * control functions neither know it nor may use it.
   */
  readonly eventBus: events.IEventBus;
}

interface ControlFunctionSpec {
  id: string;
  entry: string;
  description: string;
  /**
   * Its grants on the checkpoint table, one statement each: the item actions its code makes on
   * each kind of partition (`dynamodb:LeadingKeys` patterns), and nothing else. Every team's
   * partitions; the approvals and the task owners only with the actions the function uses on them.
   */
  tableGrants: ItemGrant[];
  /** It puts events on the Legion bus: it is told the bus's name and may put events on it. */
  putsEvents?: boolean;
  /** It answers the callback tokens of waiting executions (of the machines given to `allowCallbacksFrom`). */
  answersCallbacks?: boolean;
}

/** A handler's entry, by its path under functions/. */
const entryOf = (file: string): string => packageModule(`functions/${file}`);

const CONTROL_FUNCTION_SPECS: Record<ControlFunctionName, ControlFunctionSpec> = {
  'begin-task': {
    id: 'BeginTask',
    entry: entryOf('control/begin-task.lambda.ts'),
    description: 'Legion: starts or resumes a task (stores its input, raises its epoch)',
    tableGrants: [
      // The task's input (Put, in the start's transaction), head (Update: the epoch) and status item
      // (Update: RUNNING; a nested task is added to its parent's); a resume reads the input.
      { actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] },
      // Its owner, claimed in the same transaction (Put); read when a start is refused, a resumed task is not found, or a nested task's parent is checked.
      { actions: ['dynamodb:PutItem', 'dynamodb:GetItem'], partitions: [CHECKPOINT_PARTITIONS.taskOwners] },
      // A resumed task's approval: whether it escalated before.
      { actions: ['dynamodb:GetItem'], partitions: [CHECKPOINT_PARTITIONS.approvals] },
    ],
  },
  'rollback-task': {
    id: 'RollbackTask',
    entry: entryOf('control/rollback-task.lambda.ts'),
    description: 'Legion: rolls a task back to its last valid checkpoint after an inconsistent step result',
    tableGrants: [
      // Query and GetItem find the latest valid checkpoint; UpdateItem marks corrupt ones and counts the rollback; DeleteItem forgets a corrupt step's marker.
      { actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] },
      // Past the rollback limit: the task's owner gives the escalation its pattern ...
      { actions: ['dynamodb:GetItem'], partitions: [CHECKPOINT_PARTITIONS.taskOwners] },
      // ... and the escalation is recorded on the task's approval (record-escalation.ts).
      { actions: ['dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.approvals] },
    ],
  },
  'request-approval': {
    id: 'RequestApproval',
    entry: entryOf('control/request-approval.lambda.ts'),
    description: 'Legion: an escalated run waits for a human (stores the request, puts ApprovalRequested on the bus)',
    tableGrants: [
      // UpdateItem stores the request (ReturnValues ALL_NEW: the approval as stored, with an earlier
      // decision if there is one); GetItem reads an approval.
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.approvals] },
      // UpdateItem sets the task's status item WAITING.
      { actions: ['dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] },
    ],
    putsEvents: true,
    // A task decided before (a resume) is answered at once, on the new execution's token.
    answersCallbacks: true,
  },
  'record-detection': {
    id: 'RecordDetection',
    entry: entryOf('control/record-detection.lambda.ts'),
    description: 'Legion: records a detected loop, hallucinated consensus or deadlock (stores it once, counts it, puts FailureDetected on the bus)',
    // UpdateItem stores the detection once (if_not_exists on every field) and marks its event announced.
    tableGrants: [{ actions: ['dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] }],
    putsEvents: true,
  },
  // The auction store writes with TransactWriteItems, which IAM authorizes item by item (a Put needs
  // PutItem, an Update UpdateItem): there is no action of its own to grant.
  'open-auction': {
    id: 'OpenAuction',
    entry: entryOf('patterns/auction/open-auction.lambda.ts'),
    description: 'Legion: opens a round of an auction (stores the announcement and its bidding window)',
    // PutItem stores the round (once: conditional); GetItem reads a round opened before (a replay);
    // UpdateItem gives a round never announced a fresh window when it is reopened past its deadline (a resume).
    tableGrants: [{ actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] }],
  },
  'close-auction': {
    id: 'CloseAuction',
    entry: entryOf('patterns/auction/close-auction.lambda.ts'),
    description: 'Legion: closes a round of an auction, ranks the valid bids and awards the best one',
    // GetItem reads the round, Query its bids; the transaction closes it (Update), records the award and the winner's capacity lease (Put).
    tableGrants: [{ actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] }],
  },
  'settle-award': {
    id: 'SettleAward',
    entry: entryOf('patterns/auction/settle-award.lambda.ts'),
    description: "Legion: settles an auction's award (completed, or failed and handed to the runner-up)",
    tableGrants: [
      // GetItem reads the award and its round, Query the failed awards; the transaction settles it (Update), frees the bidder's lease (Delete), and awards a runner-up with its lease (Put).
      { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], partitions: [CHECKPOINT_PARTITIONS.anyTeam] },
      // No award left (AwardsExhaustedError): the escalation is recorded on the task's approval (record-escalation.ts).
      { actions: ['dynamodb:UpdateItem'], partitions: [CHECKPOINT_PARTITIONS.approvals] },
    ],
  },
};

/**
 * Every control function of the contract, each with only the table actions it uses. The functions
 * that answer callback tokens (request-approval) may do so only for the machines given to
 * {@link ControlFunctions.allowCallbacksFrom}: the machines are built after these functions, since
 * they invoke them.
 *
 * @example
 * ```ts
 * const control = new ControlFunctions(this, 'Control', { table: checkpoints.table, eventBus: bus });
 * control.functions['begin-task'].grantInvoke(stateMachine);
 * control.allowCallbacksFrom([stateMachine]);
 * ```
 */
export class ControlFunctions extends Construct {
  /** Each control function, by name (the names of `CONTROL_FUNCTIONS` in the contract). */
  public readonly functions: Record<ControlFunctionName, lambda.IFunction>;
  /** The functions that answer callback tokens: their roles, and the statement `allowCallbacksFrom` gives them (one, growing). */
  private readonly callbacks: GrowingStatement[] = [];

  public constructor(scope: Construct, id: string, props: ControlFunctionsProps) {
    super(scope, id);
    const { table, eventBus, ...logOptions } = props;
    const build = (spec: ControlFunctionSpec): lambda.IFunction => {
      const built = new LegionFunction(this, spec.id, {
        ...logOptions,
        entry: spec.entry,
        description: spec.description,
        environment: { [ENV.tableName]: table.tableName, ...(spec.putsEvents ? { [ENV.eventBusName]: eventBus.eventBusName } : {}) },
      });
      const fn = built.function;
      for (const grant of spec.tableGrants) grantItems(table, fn, grant.actions, grant.partitions);
      if (spec.putsEvents) eventBus.grantPutEventsTo(fn);
      // Not `machine.grants.actions(fn, ...)`: that writes to the role's default policy, which the
      // function depends on, while the machines refer to the function's ARN: a dependency cycle.
      // A policy of its own, attached to the role, comes after the function instead.
      if (spec.answersCallbacks) {
        this.callbacks.push(new GrowingStatement(CALLBACK_ACTIONS, (statement) => new iam.Policy(this, `${spec.id}Callbacks`, { roles: [built.role], statements: [statement] })));
      }
      return fn;
    };
    // Every function of the contract, so that a new name fails to compile until it has a spec here.
    this.functions = Object.fromEntries(CONTROL_FUNCTIONS.map((name) => [name, build(CONTROL_FUNCTION_SPECS[name])])) as Record<
      ControlFunctionName,
      lambda.IFunction
    >;
  }

  /**
   * Lets the functions that answer callback tokens (request-approval) answer those of these
   * machines' executions: SendTaskSuccess and SendTaskFailure, on each machine's ARN (IAM
   * authorizes the answer to a token against the state machine whose execution issued it). May be
   * called again with more machines.
   */
  public allowCallbacksFrom(machines: readonly sfn.IStateMachine[]): void {
    if (machines.length === 0) return;
    const arns = machines.map((machine) => machine.stateMachineArn);
    for (const callbacks of this.callbacks) callbacks.add(...arns);
  }
}
