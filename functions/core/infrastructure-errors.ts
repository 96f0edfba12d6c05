/**
 * Tells an infrastructure failure under an agent step apart from the agent's own failure. The
 * state machines give an agent that failed (its model, its step's logic, its Lambda timing out) a
 * graceful path where the pattern has one (a worker the synthesis names as missing, a peer sitting
 * a round out); an infrastructure failure must fail the run instead, or a run would succeed with a
 * part silently missing. ASL matches error names only, so the agent handler turns every
 * infrastructure error into one of the names in INFRASTRUCTURE_ERRORS before it leaves the Lambda.
 *
 * @example
 * ```ts
 * classifyInfrastructureError(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }));
 * // InfrastructureError, originalName 'AccessDeniedException'
 * classifyInfrastructureError(new ModelInvocationError('m', 'down')); // undefined: the agent failed
 * ```
 */
import { AWS_PERMISSION_ERRORS, AWS_THROTTLING_ERRORS, INFRASTRUCTURE_ERRORS } from './contract.ts';
import {
  CheckpointError,
  ConfigurationError,
  EventPublishError,
  InfrastructureError,
  InfrastructureThrottledError,
  LegionError,
  TaskStatusError,
} from './errors.ts';

/** Reasons in a TransactionCanceledException that pass by themselves. */
const TRANSIENT_CANCELLATION_CODES = new Set(['ThrottlingError', 'TransactionConflict', 'ProvisionedThroughputExceeded']);

const includes = (names: readonly string[], name: string): boolean => names.includes(name);

/** An error of an AWS SDK client (a service answered with an error): it carries `$metadata`. */
function isAwsServiceError(error: Error): boolean {
  return typeof (error as { $metadata?: unknown }).$metadata === 'object';
}

/** Whether an AWS error is throttling or a lost race: by its name, or by a cancelled transaction's reasons. */
function isTransient(error: Error): boolean {
  if (includes(AWS_THROTTLING_ERRORS, error.name)) return true;
  if (error.name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code !== undefined && TRANSIENT_CANCELLATION_CODES.has(reason.Code));
}

/** The errors an error was made from, itself first (`cause` chain, at most a few deep). */
function causeChain(error: Error): Error[] {
  const chain: Error[] = [];
  for (let current: unknown = error; current instanceof Error && chain.length < 5; current = current.cause) chain.push(current);
  return chain;
}

/** Legion errors that mean its infrastructure failed: the checkpoint store, a task's status item, configuration, the event bus. */
function isLegionInfrastructureError(error: LegionError): boolean {
  return (
    error instanceof CheckpointError ||
    error instanceof TaskStatusError ||
    error instanceof ConfigurationError ||
    error instanceof EventPublishError ||
    error instanceof InfrastructureError
  );
}

/**
 * The error an agent Lambda raises in place of `error` when it is an infrastructure failure, or
 * undefined when it is the agent's own failure (kept as it is, its graceful path intact).
 *
 * - Throttling or a lost transaction race (anywhere in the cause chain of an infrastructure error):
 *   `InfrastructureThrottledError`, which the state machines retry with backoff.
 * - `CheckpointError`, `StaleWriterError`, `ConfigurationError`: themselves (their names are in
 *   INFRASTRUCTURE_ERRORS, and say more than a wrapper would).
 * - Other Legion infrastructure errors (a CheckpointError subclass, TaskStatusError, EventPublishError), AWS
 *   permission errors and any other AWS service error of Legion's stores: `InfrastructureError`.
 *   The model's errors never get here as AWS errors: model providers raise ModelInvocationError.
 * - Anything else (ModelInvocationError, AgentOutputError, BudgetExceededError, a bug in a step):
 *   undefined.
 */
export function classifyInfrastructureError(error: unknown): LegionError | undefined {
  if (!(error instanceof Error)) return undefined;
  const legion = error instanceof LegionError;
  if (legion && !isLegionInfrastructureError(error)) return undefined;
  if (!legion && !isAwsServiceError(error) && !includes(AWS_PERMISSION_ERRORS, error.name) && !includes(AWS_THROTTLING_ERRORS, error.name)) return undefined;
  if (error instanceof InfrastructureError) return error;
  const chain = causeChain(error);
  const transient = chain.find(isTransient);
  if (transient) return new InfrastructureThrottledError(transient.name, error.message, { cause: error });
  if (legion && includes(INFRASTRUCTURE_ERRORS, error.name)) return error;
  return new InfrastructureError(error.name, error.message, { cause: error });
}
