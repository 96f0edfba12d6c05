/**
 * Rejects an event that does not match the agent contract before any model is called, with an
 * `InvalidEventError` that names each problem. The parsed (defaulted) event replaces the raw one.
 *
 * @example
 * ```ts
 * middy(runStep).use(validateEvent({ schema: AgentEventSchema, handlerName: 'billing' }));
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import type { z } from 'zod';
import { InvalidEventError, describeIssues } from '../core/errors.ts';

export interface ValidateEventOptions<T> {
  schema: z.ZodType<T>;
  /** Quoted in the error so the failing function is obvious in logs. */
  handlerName: string;
}

export function validateEvent<T>(options: ValidateEventOptions<T>): MiddlewareObj<T> {
  return {
    before: (request) => {
      const parsed = options.schema.safeParse(request.event);
      if (!parsed.success) throw new InvalidEventError(options.handlerName, describeIssues(parsed.error.issues));
      request.event = parsed.data;
    },
  };
}
