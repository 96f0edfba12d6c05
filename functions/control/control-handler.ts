/**
 * The middy wrapper every control function shares: Lambda context in the logs, metrics flushed,
 * the event validated against the function's schema (an `InvalidEventError` naming each problem)
 * before the pure function runs, and its errors classified as the agents' are (`classifyErrors`):
 * an AWS error of Legion's stores leaves the Lambda as `InfrastructureThrottledError` (which the
 * state machines retry with backoff) or `InfrastructureError` (the original name in its message),
 * never under its raw name. Legion's own errors that the state machines, the CLI or the tests match
 * by name keep it (`RollbackLimitExceededError`, `NoValidBidsError`, `AwardsExhaustedError` are
 * not infrastructure and pass anyway; the task-state errors in CONTROL_KEPT_ERRORS are kept).
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
import { METRICS, METRICS_SERVICE } from '../core/contract.ts';
import { classifyErrors } from '../middlewares/classify-errors.ts';
import { validateEvent } from '../middlewares/validate-event.ts';

/**
 * CheckpointError subclasses and EventPublishError that a control function raises under their own
 * name, though classification would make them `InfrastructureError`: the task's state (another
 * input, no such task, another team's id, nothing to roll back to) or a refused event, which
 * `legion`, its users and the handlers' callers tell apart by name. None is retried; every one fails
 * the run (the control Tasks catch `States.ALL` into Fail states), and a hierarchical parent treats
 * a sub-team that ended with one as an infrastructure failure (it is not in AGENT_FAILURE_ERRORS).
 */
export const CONTROL_KEPT_ERRORS = ['TaskConflictError', 'TaskNotFoundError', 'TaskOwnedByAnotherTeamError', 'NoValidCheckpointError', 'EventPublishError'] as const;

export interface ControlHandlerOptions {
  /**
   * Classify the errors (see above). Off only for a function no state machine invokes, whose
   * caller (EventBridge's asynchronous invoke) retries whatever the name. @default true
   */
  classifyErrors?: boolean;
}

/** The logger and metrics of one control function, named after it (its Lambda entry point builds them once). */
export function controlTelemetry(serviceName: string): { logger: Logger; metrics: Metrics } {
  return { logger: new Logger({ serviceName }), metrics: new Metrics({ namespace: METRICS.namespace, serviceName: METRICS_SERVICE }) };
}

export type ControlHandler<R> = (event: unknown, context: Context) => Promise<R>;

export function createControlHandler<E, R>(
  handlerName: string,
  schema: z.ZodType<E>,
  run: (event: E) => Promise<R>,
  telemetry: { logger: Logger; metrics: Metrics },
  options: ControlHandlerOptions = {},
): ControlHandler<R> {
  const handler = middy<E, R>((event: E) => run(event))
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .use(validateEvent({ schema, handlerName }));
  if (options.classifyErrors ?? true) {
    handler.use(
      classifyErrors({
        keep: CONTROL_KEPT_ERRORS,
        onInfrastructureError: (error) => {
          telemetry.logger.error(`infrastructure error in ${handlerName}`, { error });
        },
      }),
    );
  }
  return handler as unknown as ControlHandler<R>;
}
