/**
 * Step Functions in the local runtime: the real ASL file, after the same definition substitutions
 * CDK deploys, run by aws-local-stepfunctions. Every Task state is bound to a local function, or
 * (`states:startExecution.sync:2`) to a local state machine run as a nested execution, before the
 * first run; a Task the runtime cannot bind is an error, never a silent call to AWS.
 *
 * @example
 * ```ts
 * const machine = await LocalStateMachine.fromFile(aslFile, substitutions, lambdas);
 * const output = await machine.run(input, { executionName: 'task-1' });
 * ```
 */
import './polyfills.ts';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { LAMBDA_INVOKE_RESOURCE } from '../functions/shared/contract.ts';
import { START_EXECUTION_SYNC_RESOURCE } from '../functions/shared/contracts/hierarchical.ts';
import { LegionError, UnboundTaskError } from '../functions/shared/errors.ts';
import { applySubstitutions, placeholdersIn } from '../functions/shared/patterns.ts';
import { type AslMachine, type AslState, allStates } from './asl.ts';
import type { LocalEventBus } from './local-event-bus.ts';
import type { LocalLambda } from './local-lambda.ts';

export { allStates } from './asl.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A state machine the local runtime can start as a nested execution: resolves with the execution's
 * output, rejects with {@link ExecutionFailedError} when it fails.
 */
export type NestedMachineRunner = (input: JsonValue, executionName: string) => Promise<JsonValue>;

/** Step Functions resource of the optimised EventBridge integration (the auction's announcement). */
export const PUT_EVENTS_RESOURCE = 'arn:aws:states:::events:putEvents';

/** PutEvents refused an entry: as in AWS, the Task fails with `EventBridge.FailedEntry`. */
export class PutEventsFailedEntryError extends LegionError {
  public constructor(reason: string) {
    super(reason, { reason });
    this.name = 'EventBridge.FailedEntry';
  }
}

/** The execution failed: `error` and `cause` as Step Functions reports them. */
export class ExecutionFailedError extends LegionError {
  public constructor(
    public readonly errorName: string,
    public readonly errorCause: string,
  ) {
    super(`${errorName}: ${errorCause}`, { errorName, errorCause });
  }
}

/** A Task state tried to invoke a function the local runtime does not have (AWS would answer the same). */
export class LocalFunctionNotFoundError extends LegionError {
  public constructor(functionName: string) {
    super(`Function not found: ${functionName}`, { functionName });
    this.name = 'Lambda.ResourceNotFoundException';
  }
}

/** A nested execution's state machine is not one the local runtime has (AWS answers the same). */
export class LocalStateMachineNotFoundError extends LegionError {
  public constructor(stateMachineArn: string) {
    super(`State machine does not exist: ${stateMachineArn}`, { stateMachineArn });
    this.name = 'StepFunctions.StateMachineDoesNotExistException';
  }
}

/**
 * A nested execution failed: as with `.sync:2` in AWS, the Task fails with `States.TaskFailed` and
 * the cause is the child's describe-execution output (JSON) holding the child's own Error and Cause.
 */
export class NestedExecutionFailedError extends LegionError {
  public constructor(cause: string) {
    super(cause, {});
    this.name = 'States.TaskFailed';
  }
}

export interface RunOptions {
  executionName: string;
  /** Called as each state starts, from the interpreter's event log. */
  onStateEntered?: ((stateName: string) => void) | undefined;
  /** Aborting it stops the execution where it is, as a crashed process would leave it. */
  signal?: AbortSignal | undefined;
}

/** The execution was aborted through its signal. */
export class ExecutionAbortedError extends LegionError {
  public constructor(public readonly executionName: string) {
    super(`Execution ${executionName} was aborted`, { executionName });
  }
}

export class LocalStateMachine {
  private constructor(
    private readonly machine: StateMachine,
    private readonly handlers: Record<string, (input: JsonValue) => Promise<JsonValue>>,
    private readonly retryStates: string[],
    public readonly name: string,
  ) {}

  /**
   * Reads an ASL file, applies the substitutions and binds every Task state: Lambda Tasks to
   * `lambdas` (by function ARN), nested-execution Tasks to `nestedMachines` (by state machine ARN),
   * `events:putEvents` Tasks to `eventBus`.
   *
   * @throws {UnboundTaskError} when a Task cannot be bound, or a placeholder has no value
   */
  public static async fromFile(
    aslFile: string,
    substitutions: Record<string, string>,
    lambdas: readonly LocalLambda[],
    nestedMachines: ReadonlyMap<string, NestedMachineRunner> = new Map(),
    eventBus?: LocalEventBus,
  ): Promise<LocalStateMachine> {
    const text = await readFile(aslFile, 'utf8');
    const missing = placeholdersIn(text).filter((name) => !(name in substitutions));
    if (missing.length > 0) throw new UnboundTaskError(aslFile, `no substitution for ${missing.map((n) => `\${${n}}`).join(', ')}`);
    const substituted = applySubstitutions(text, substitutions);
    const definition = JSON.parse(substituted) as AslMachine;
    const byArn = new Map(lambdas.map((fn) => [fn.options.functionArn, fn]));
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    const retryStates: string[] = [];
    for (const [stateName, state] of allStates(definition)) {
      if ('Retry' in state) retryStates.push(stateName);
      if (state.Type !== 'Task') continue;
      handlers[stateName] =
        state.Resource === START_EXECUTION_SYNC_RESOURCE
          ? bindNestedExecution(stateName, state, nestedMachines)
          : state.Resource === PUT_EVENTS_RESOURCE
            ? bindPutEvents(stateName, eventBus)
            : bindTask(stateName, state, byArn);
    }
    return new LocalStateMachine(interpreterFor(substituted, definition), handlers, retryStates, aslFile);
  }

  /**
   * Runs one execution to its end.
   *
   * @throws {ExecutionFailedError} when the execution fails
   */
  public async run(input: JsonValue, options: RunOptions): Promise<JsonValue> {
    const execution = this.machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: this.handlers,
        // Retries happen as in AWS, without the back-off waits.
        retryIntervalOverrides: Object.fromEntries(this.retryStates.map((name) => [name, 0])),
      },
      context: {
        Execution: {
          Id: `arn:aws:states:local:000000000000:execution:legion:${options.executionName}`,
          Name: options.executionName,
          Input: input,
          StartTime: new Date().toISOString(),
        },
      },
    });
    const { onStateEntered } = options;
    if (onStateEntered) {
      void (async () => {
        for await (const event of execution.eventLogs) {
          if (event.type === 'StateEntered') onStateEntered(event.state.name);
        }
      })();
    }
    const abort = (): void => {
      execution.abort();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      return await execution.result;
    } catch (error) {
      if (options.signal?.aborted) throw new ExecutionAbortedError(options.executionName);
      throw toExecutionFailure(error);
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }
}

/**
 * Building and validating an interpreter takes about 0.1 s; a definition text always gives the same
 * one (handlers are passed per run), so each text is built once per process.
 */
const interpreters = new Map<string, StateMachine>();

function interpreterFor(text: string, definition: AslMachine): StateMachine {
  let machine = interpreters.get(text);
  if (!machine) {
    machine = new StateMachine(definition as unknown as StateMachineDefinition, { validationOptions: { checkArn: true, checkPaths: true } });
    interpreters.set(text, machine);
  }
  return machine;
}

function bindTask(stateName: string, state: AslState, byArn: Map<string, LocalLambda>): (input: JsonValue) => Promise<JsonValue> {
  if (state.Resource !== LAMBDA_INVOKE_RESOURCE) {
    throw new UnboundTaskError(stateName, `resource ${String(state.Resource)} has no local implementation`);
  }
  const literalName = state.Parameters?.FunctionName;
  if (typeof literalName === 'string' && !byArn.has(literalName)) {
    throw new UnboundTaskError(stateName, `function ${literalName} is not a local function`);
  }
  if (literalName === undefined && typeof state.Parameters?.['FunctionName.$'] !== 'string') {
    throw new UnboundTaskError(stateName, 'no FunctionName');
  }
  return async (input) => {
    const { FunctionName, Payload } = input as { FunctionName?: unknown; Payload?: unknown };
    const fn = typeof FunctionName === 'string' ? byArn.get(FunctionName) : undefined;
    if (!fn) throw new LocalFunctionNotFoundError(String(FunctionName));
    return (await fn.invoke(Payload)) as JsonValue;
  };
}

/** Emulates `states:startExecution.sync:2`: runs the child machine to its end and answers as AWS does. */
function bindNestedExecution(stateName: string, state: AslState, machines: ReadonlyMap<string, NestedMachineRunner>): (input: JsonValue) => Promise<JsonValue> {
  const literalArn = state.Parameters?.StateMachineArn;
  if (typeof literalArn === 'string' && !machines.has(literalArn)) throw new UnboundTaskError(stateName, `state machine ${literalArn} is not a local state machine`);
  if (literalArn === undefined && typeof state.Parameters?.['StateMachineArn.$'] !== 'string') throw new UnboundTaskError(stateName, 'no StateMachineArn');
  return async (input) => {
    const { StateMachineArn: arn, Name: name, Input: childInput = {} } = input as { StateMachineArn?: unknown; Name?: unknown; Input?: JsonValue };
    const run = typeof arn === 'string' ? machines.get(arn) : undefined;
    if (!run || typeof arn !== 'string') throw new LocalStateMachineNotFoundError(String(arn));
    const executionName = typeof name === 'string' ? name : randomUUID();
    const started = { ExecutionArn: `${arn.replace(':stateMachine:', ':execution:')}:${executionName}`, StateMachineArn: arn, Name: executionName, StartDate: Date.now(), Input: childInput, InputDetails: { Included: true } };
    try {
      const output = await run(childInput, executionName);
      return { ...started, Status: 'SUCCEEDED', StopDate: Date.now(), Output: output, OutputDetails: { Included: true } };
    } catch (error) {
      if (!(error instanceof ExecutionFailedError)) throw error;
      throw new NestedExecutionFailedError(JSON.stringify({ ...started, Status: 'FAILED', StopDate: Date.now(), Error: error.errorName, Cause: error.errorCause }));
    }
  };
}

/**
 * Emulates `events:putEvents`: the entries' `Detail` is JSON in the ASL (the integration
 * serialises it), a refused entry fails the Task with `EventBridge.FailedEntry`, and the answer
 * has PutEvents' shape.
 */
function bindPutEvents(stateName: string, bus: LocalEventBus | undefined): (input: JsonValue) => Promise<JsonValue> {
  if (!bus) throw new UnboundTaskError(stateName, 'events:putEvents needs a local event bus');
  return async (input) => {
    const entries = ((input as { Entries?: unknown }).Entries ?? []) as { Source: string; DetailType: string; EventBusName?: string; Detail?: unknown }[];
    const result = await bus.putEvents(entries.map((entry) => ({ ...entry, Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail ?? {}) })));
    const failed = result.entries.find((entry) => entry.errorCode !== undefined);
    if (failed) throw new PutEventsFailedEntryError(`${failed.errorCode ?? 'failed'}: ${failed.errorMessage ?? ''}`);
    return { FailedEntryCount: 0, Entries: result.entries.map((entry) => ({ EventId: entry.eventId ?? '' })) };
  };
}

function toExecutionFailure(error: unknown): Error {
  if (error instanceof ExecutionError) {
    const inner = (error as Error & { cause?: unknown }).cause;
    const name = inner instanceof Error ? inner.name : 'States.Runtime';
    const message = inner instanceof Error ? inner.message : error.message;
    return new ExecutionFailedError(name, message);
  }
  return error instanceof Error ? error : new Error(String(error));
}
