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
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LegionError } from '../functions/shared/errors.ts';

export type LocalHandler = (event: unknown, context: Context) => Promise<unknown>;

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
      const result = await Promise.race([handler(event, context), timeout]);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: JSON.parse(JSON.stringify(result ?? null)) as unknown };
    } finally {
      clearTimeout(timer);
    }
  }
}
