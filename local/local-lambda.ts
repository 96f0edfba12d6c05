/**
 * Lambda in the local runtime: a handler module called in-process with a Lambda-shaped context
 * and its configured timeout, answering the way the Step Functions Lambda integration does
 * (`{ StatusCode, Payload }`, or an error whose `name` is the function's error type).
 *
 * @example
 * ```ts
 * const fn = new LocalLambda({ functionName: 'legion-telecom-billing', handler, timeoutSeconds: 30 });
 * const { Payload } = await fn.invoke({ step: 'work', ... });
 * ```
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LegionError } from '../functions/core/errors.ts';

export type LocalHandler = (event: unknown, context: Context) => Promise<unknown>;

/** The local function an invocation runs, as {@link runningLocalFunction} reports it. */
export interface RunningLocalFunction {
  functionName: string;
  functionArn: string;
}

/**
 * Which local function the code running now belongs to, so that its AWS calls can be told apart
 * from other functions' (the IAM conformance test checks each against its function's role). Off
 * by default: once on, Node hooks every promise, which costs every run some CPU.
 */
const invocations = new AsyncLocalStorage<RunningLocalFunction>();
let attributing = false;

/** Turns on {@link runningLocalFunction} for the invocations that start from now on, in this process. */
export function attributeWorkToLocalFunctions(): void {
  attributing = true;
}

/** The local function whose invocation the caller runs in; undefined outside one, or when attribution is off. */
export function runningLocalFunction(): RunningLocalFunction | undefined {
  return invocations.getStore();
}

export interface LocalLambdaOptions {
  functionName: string;
  functionArn: string;
  handler: LocalHandler;
  timeoutSeconds: number;
  memoryMb: number;
}

/** The invocation ran past the function's timeout (Lambda reports `Sandbox.Timedout`). */
export class LocalLambdaTimeoutError extends LegionError {
  public constructor(functionName: string, timeoutSeconds: number) {
    super(`${functionName} timed out after ${timeoutSeconds} s`, { functionName, timeoutSeconds });
    this.name = 'Sandbox.Timedout';
  }
}

export class LocalLambda {
  public constructor(public readonly options: LocalLambdaOptions) {}

  public async invoke(payload: unknown): Promise<{ StatusCode: number; ExecutedVersion: string; Payload: unknown }> {
    const { functionName, functionArn, timeoutSeconds, memoryMb, handler } = this.options;
    const deadline = Date.now() + timeoutSeconds * 1000;
    // The deprecated callback-style members (done/fail/succeed) are left out: no handler uses them.
    const context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: functionArn,
      memoryLimitInMB: String(memoryMb),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    } as Context;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new LocalLambdaTimeoutError(functionName, timeoutSeconds));
      }, timeoutSeconds * 1000);
    });
    try {
      // A round trip through JSON, as the real service serialises the payload both ways.
      const event: unknown = JSON.parse(JSON.stringify(payload ?? null));
      const running = attributing ? invocations.run({ functionName, functionArn }, () => handler(event, context)) : handler(event, context);
      const result = await Promise.race([running, timeout]);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: JSON.parse(JSON.stringify(result ?? null)) as unknown };
    } finally {
      clearTimeout(timer);
    }
  }
}
