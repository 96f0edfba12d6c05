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
import { LAMBDA_INVOKE_RESOURCE } from '../functions/core/contract.ts';
import { START_EXECUTION_SYNC_RESOURCE } from '../functions/patterns/hierarchical/contract.ts';
import { LegionError, UnboundTaskError } from '../functions/core/errors.ts';
import { applySubstitutions, placeholdersIn } from '../functions/patterns/index.ts';
import { type AslMachine, type AslState, allStates } from './asl.ts';
import type { LocalEventBus } from './local-event-bus.ts';
import type { LocalLambda } from './local-lambda.ts';
import type { LocalTaskTokens } from './local-task-tokens.ts';

export { allStates } from './asl.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A state machine the local runtime can start as a nested execution: resolves with the execution's
 * output, rejects with {@link ExecutionFailedError} when it fails.
 */
export type NestedMachineRunner = (input: JsonValue, executionName: string) => Promise<JsonValue>;

/** Step Functions resource of a Lambda Task that waits for its callback token (every pattern's Escalate). */
export const WAIT_FOR_TASK_TOKEN_RESOURCE = `${LAMBDA_INVOKE_RESOURCE}.waitForTaskToken`;

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

/** What a machine's Task states are bound to, besides Lambda functions. */
export interface LocalBindings {
  /** `states:startExecution.sync:2` Tasks, by state machine ARN. @default none */
  nestedMachines?: ReadonlyMap<string, NestedMachineRunner>;
  /** `events:putEvents` Tasks. @default none */
  eventBus?: LocalEventBus | undefined;
  /** `.waitForTaskToken` Tasks: where their tokens are answered. @default none */
  taskTokens?: LocalTaskTokens | undefined;
  /**
   * How long a `.waitForTaskToken` Task waits for its answer in this process before the execution
   * stops there, waiting (`onTaskTokenPending`). @default 0
   */
  taskTokenWaitMs?: number | undefined;
  /** Called when a Task's token was not answered in time (the caller then aborts the execution). */
  onTaskTokenPending?: ((pending: TaskTokenPendingError) => void) | undefined;
}

/** The token a `.waitForTaskToken` Task passes its function was not answered in time: the execution waits. */
export class TaskTokenPendingError extends LegionError {
  public constructor(
    public readonly stateName: string,
    public readonly taskToken: string,
  ) {
    super(`${stateName} waits for its task token to be answered`, { stateName, taskToken });
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
   * `lambdas` (by function ARN), and the other integrations to `bindings`: nested-execution Tasks
   * to `nestedMachines` (by state machine ARN), `events:putEvents` Tasks to `eventBus`,
   * `.waitForTaskToken` Tasks to `taskTokens`.
   *
   * @throws {UnboundTaskError} when a Task cannot be bound, or a placeholder has no value
   */
  public static async fromFile(
    aslFile: string,
    substitutions: Record<string, string>,
    lambdas: readonly LocalLambda[],
    bindings: LocalBindings = {},
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
      handlers[stateName] = bind(stateName, state, byArn, bindings);
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
        taskResourceLocalHandlers: options.signal ? stoppingWith(options.signal, this.handlers) : this.handlers,
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
        // One token per execution: a `.waitForTaskToken` Task (Escalate) ends its execution.
        Task: { Token: `${options.executionName}#${randomUUID()}` },
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
 * The Task handlers of an execution that `signal` can stop as a state starts. `onStateEntered`
 * hears of a state from the interpreter's event log, a step behind the interpreter, which has
 * called the state's handler by then: each handler first lets the event log catch up, and does
 * nothing if the execution was stopped meanwhile. So a crash injected as a Task state starts
 * (an abort here, SIGKILL with `--inject crash:`) happens before the state's work, as the name says:
 * no announcement put on the bus, no approval requested.
 */
function stoppingWith(signal: AbortSignal, handlers: Record<string, TaskHandler>): Record<string, TaskHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([stateName, handler]) => [
      stateName,
      async (input: JsonValue): Promise<JsonValue> => {
        await new Promise((resolve) => setImmediate(resolve));
        if (signal.aborted) throw new StateNotStartedError(stateName);
        return handler(input);
      },
    ]),
  );
}

/** A Task state's work was not started: its execution was stopped as the state started. */
export class StateNotStartedError extends LegionError {
  public constructor(public readonly stateName: string) {
    super(`${stateName} was not started: its execution was stopped`, { stateName });
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

type TaskHandler = (input: JsonValue) => Promise<JsonValue>;

function bind(stateName: string, state: AslState, byArn: Map<string, LocalLambda>, bindings: LocalBindings): TaskHandler {
  switch (state.Resource) {
    case START_EXECUTION_SYNC_RESOURCE:
      return bindNestedExecution(stateName, state, bindings.nestedMachines ?? new Map());
    case PUT_EVENTS_RESOURCE:
      return bindPutEvents(stateName, bindings.eventBus);
    case WAIT_FOR_TASK_TOKEN_RESOURCE:
      return bindWaitForTaskToken(stateName, bindTask(stateName, { ...state, Resource: LAMBDA_INVOKE_RESOURCE }, byArn), bindings);
    default:
      return bindTask(stateName, state, byArn);
  }
}

/**
 * Emulates `lambda:invoke.waitForTaskToken`: invokes the function (its payload carries the token
 * as `taskToken`), then waits for the token's answer: the output of SendTaskSuccess, or the error
 * of SendTaskFailure. Unanswered after `taskTokenWaitMs`, the execution stops there, waiting.
 */
function bindWaitForTaskToken(stateName: string, invoke: TaskHandler, bindings: LocalBindings): TaskHandler {
  const { taskTokens } = bindings;
  if (!taskTokens) throw new UnboundTaskError(stateName, '.waitForTaskToken needs a local task token registry');
  return async (input) => {
    const taskToken = (input as { Payload?: { taskToken?: unknown } }).Payload?.taskToken;
    if (typeof taskToken !== 'string') throw new UnboundTaskError(stateName, 'the payload of a .waitForTaskToken Task must carry "taskToken.$": "$$.Task.Token"');
    await invoke(input);
    const answer = await taskTokens.wait(taskToken, bindings.taskTokenWaitMs ?? 0);
    if (answer.answered) return answer.output as JsonValue;
    const pending = new TaskTokenPendingError(stateName, taskToken);
    bindings.onTaskTokenPending?.(pending);
    // The caller has aborted the execution by now. The Task must still settle: the interpreter
    // clears the state's timer (TimeoutSeconds: a day) only then, and a live timer keeps the
    // process from exiting.
    await new Promise((resolve) => setImmediate(resolve));
    throw pending;
  };
}

function bindTask(stateName: string, state: AslState, byArn: Map<string, LocalLambda>): TaskHandler {
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
