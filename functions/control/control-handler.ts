/**
 * The middy wrapper every control function shares: Lambda context in the logs, metrics flushed,
 * and the event validated against the function's schema (an `InvalidEventError` naming each
 * problem) before the pure function runs.
 *
 * @example
 * ```ts
 * export const createBeginTaskHandler = (deps: BeginTaskDependencies) =>
 *   createControlHandler('begin-task', BeginTaskEventSchema, (event) => beginTask(event, deps), deps);
 * ```
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { METRICS } from '../shared/contract.ts';
import { validateEvent } from '../shared/middlewares/validate-event.ts';

/** The logger and metrics of one control function, named after it (its Lambda entry point builds them once). */
export function controlTelemetry(serviceName: string): { logger: Logger; metrics: Metrics } {
  return { logger: new Logger({ serviceName }), metrics: new Metrics({ namespace: METRICS.namespace, serviceName }) };
}

export type ControlHandler<R> = (event: unknown, context: Context) => Promise<R>;

export function createControlHandler<E, R>(
  handlerName: string,
  schema: z.ZodType<E>,
  run: (event: E) => Promise<R>,
  telemetry: { logger: Logger; metrics: Metrics },
): ControlHandler<R> {
  const handler = middy<E, R>((event: E) => run(event))
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .use(validateEvent({ schema, handlerName }));
  return handler as unknown as ControlHandler<R>;
}
