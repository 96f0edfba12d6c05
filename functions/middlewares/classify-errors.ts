/**
 * Raises an infrastructure failure under a step (checkpoint store, throttling, permissions,
 * configuration) under a name the state machines match in INFRASTRUCTURE_ERRORS, so that it fails
 * the run instead of taking the graceful path meant for an agent that failed. The agent's own
 * errors pass unchanged. See functions/core/infrastructure-errors.ts.
 *
 * @example
 * ```ts
 * middy(runStep).use(classifyErrors({ onInfrastructureError: (error) => logger.error('infrastructure', { error }) }));
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import type { LegionError } from '../core/errors.ts';
import { classifyInfrastructureError } from '../core/infrastructure-errors.ts';

export interface ClassifyErrorsOptions {
  /** Told of every infrastructure error (after classification), e.g. to log or count it. @default nothing */
  onInfrastructureError?: ((error: LegionError) => void) | undefined;
  /**
   * Names of errors that pass unchanged, though classification would rename them: errors whose
   * own name a state machine, the CLI or a caller matches (a control function's `TaskConflictError`).
   * They are still infrastructure for a hierarchical parent (not in AGENT_FAILURE_ERRORS). @default none
   */
  keep?: readonly string[] | undefined;
}

export function classifyErrors<E, R>(options: ClassifyErrorsOptions = {}): MiddlewareObj<E, R> {
  return {
    onError: (request) => {
      if (request.error && options.keep?.includes(request.error.name)) return;
      const classified = classifyInfrastructureError(request.error);
      if (!classified) return;
      request.error = classified;
      options.onInfrastructureError?.(classified);
    },
  };
}
