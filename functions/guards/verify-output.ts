/**
 * Checks a step's result before anything else sees it: a result that breaks the step's invariants
 * is refused with a `ConsistencyViolationError`, so it is never checkpointed and the state machine
 * rolls back and runs the step again. Use it after `checkpoint()`, so that its `after` runs first.
 *
 * @example
 * ```ts
 * middy(runStep)
 *   .use(checkpoint({ store, agentId: 'billing', metrics }))
 *   .use(verifyOutput({ agentId: 'billing', check: (event, result) => checkAgentResult(event, result, config) }));
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import { ConsistencyViolationError } from '../core/errors.ts';

export interface VerifyOutputOptions<E, R> {
  agentId: string;
  /** Lists what is wrong with a result; an empty list means it is consistent. */
  check: (event: E, result: R) => string[];
}

export function verifyOutput<E extends { stateName: string }, R>(options: VerifyOutputOptions<E, R>): MiddlewareObj<E, R> {
  return {
    after: (request) => {
      const problems = options.check(request.event, request.response as R);
      if (problems.length > 0) throw new ConsistencyViolationError(options.agentId, request.event.stateName, problems);
    },
  };
}
