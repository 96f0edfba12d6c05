/**
 * The target of each pattern's `RunRequested` rule: starts the requested team's state machine,
 * once per idempotency key. The execution name is the request's `idempotencyKey` (or, without one,
 * the EventBridge event id, so that a redelivery of the same event, which EventBridge's
 * at-least-once delivery allows, starts nothing new either). A Standard state machine refuses a
 * second execution of a name it has seen (`ExecutionAlreadyExists`), or answers a repeat with the
 * same input by returning the running execution: both mean the run already exists. A duplicate is
 * logged and counted (metric `DuplicateRunRequests`), never thrown, so EventBridge does not retry it.
 *
 * @example
 * ```ts
 * const handler = createStartRunHandler({ sfn: new SFNClient({}), machines, logger, metrics });
 * await handler({ id: 'e-1', source: 'legion', 'detail-type': 'RunRequested', time: '2026-01-01T00:00:00Z',
 *   detail: { pattern: 'supervisor-worker', input: { request: 'my bill is wrong' }, idempotencyKey: 'ticket-42' } }, context);
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { StartExecutionCommand, type StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { DeployedMachine } from '../core/config.ts';
import { METRICS } from '../core/contract.ts';
import { InvalidEventError } from '../core/errors.ts';
import { DETAIL_TYPES, RunRequestedDetailSchema, type RunRequestedDetail, legionEventSchema } from '../core/events.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';

const HANDLER_NAME = 'start-run';

/** The EventBridge event the rule delivers (the fields start-run reads). */
export const RunRequestedEventSchema = legionEventSchema(DETAIL_TYPES.runRequested, RunRequestedDetailSchema);
export type RunRequestedEvent = z.infer<typeof RunRequestedEventSchema>;

/** The part of the SFN client start-run uses (the real SFNClient fits it). */
export interface StartExecutionClient {
  send(command: StartExecutionCommand): Promise<StartExecutionCommandOutput>;
}

export interface StartRunDependencies {
  sfn: StartExecutionClient;
  /** The deployed state machines (from the environment CDK sets). */
  machines: readonly DeployedMachine[];
  logger: Logger;
  metrics: Metrics;
}

export interface StartRunResult {
  /** STARTED: a new execution; DUPLICATE: the task already had one, nothing was started. */
  status: 'STARTED' | 'DUPLICATE';
  taskId: string;
  pattern: string;
  team: string;
  executionArn?: string | undefined;
}

/**
 * The team a request runs: the one it names, or the pattern's default team.
 *
 * @throws {InvalidEventError} when the pattern has no team, the named team is not one of the
 *   pattern's, or no team is named and the pattern has no default
 * @example
 * ```ts
 * chooseTeam(machines, { pattern: 'supervisor-worker' }).team; // 'telecom-support' (the default)
 * chooseTeam(machines, { pattern: 'supervisor-worker', team: 'market-research' }).stateMachineArn;
 * ```
 */
export function chooseTeam<T extends Pick<DeployedMachine, 'team' | 'pattern' | 'isDefault'>>(machines: readonly T[], detail: Pick<RunRequestedDetail, 'pattern' | 'team'>): T {
  const ofPattern = machines.filter((machine) => machine.pattern === detail.pattern);
  const names = ofPattern.map((machine) => machine.team).join(', ');
  if (ofPattern.length === 0) throw new InvalidEventError(HANDLER_NAME, [`detail.pattern: no team of pattern "${detail.pattern}" is deployed`]);
  if (detail.team !== undefined) {
    const named = ofPattern.find((machine) => machine.team === detail.team);
    if (!named) throw new InvalidEventError(HANDLER_NAME, [`detail.team: "${detail.team}" is not a deployed team of pattern ${detail.pattern} (deployed: ${names})`]);
    return named;
  }
  const chosen = ofPattern.find((machine) => machine.isDefault) ?? (ofPattern.length === 1 ? ofPattern[0] : undefined);
  if (!chosen) throw new InvalidEventError(HANDLER_NAME, [`detail.team: required, pattern ${detail.pattern} has several teams (${names})`]);
  return chosen;
}

/**
 * The task id (execution name) of a request: its idempotency key, else one derived from the event id.
 *
 * @example
 * ```ts
 * taskIdOf({ id: '6a7e-...', detail: { pattern: 'pipeline', input, idempotencyKey: 'order-7' } }); // 'order-7'
 * taskIdOf({ id: '6a7e-...', detail: { pattern: 'pipeline', input } }); // 'run-6a7e-...'
 * ```
 */
export function taskIdOf(event: Pick<RunRequestedEvent, 'id' | 'detail'>): string {
  return event.detail.idempotencyKey ?? `run-${event.id}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

/** Starts the run (pure; no middlewares). */
export async function startRun(event: RunRequestedEvent, deps: StartRunDependencies): Promise<StartRunResult> {
  const machine = chooseTeam(deps.machines, event.detail);
  const taskId = taskIdOf(event);
  const base = { taskId, pattern: machine.pattern, team: machine.team };
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, name: taskId, input: JSON.stringify(event.detail.input) }),
    );
    // A repeat with the same name and input while the first execution runs returns that execution:
    // it started before this event was put, so it is not this request's run.
    const requestedAt = event.time === undefined ? Number.NaN : Date.parse(event.time);
    if (started.startDate !== undefined && started.startDate.getTime() < requestedAt) return duplicate(base, started.executionArn, deps);
    deps.logger.info('run started', { ...base, executionArn: started.executionArn });
    deps.metrics.addMetric(METRICS.runsRequested, MetricUnit.Count, 1);
    return { status: 'STARTED', ...base, executionArn: started.executionArn };
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name === 'ExecutionAlreadyExists') return duplicate(base, undefined, deps);
    throw error;
  }
}

function duplicate(base: Omit<StartRunResult, 'status'>, executionArn: string | undefined, deps: StartRunDependencies): StartRunResult {
  deps.logger.warn('duplicate run request: the task already has an execution, none started', { ...base, executionArn });
  deps.metrics.addMetric(METRICS.duplicateRunRequests, MetricUnit.Count, 1);
  return { status: 'DUPLICATE', ...base, executionArn };
}

export function createStartRunHandler(deps: StartRunDependencies): ControlHandler<StartRunResult> {
  // No state machine invokes it: EventBridge retries its errors whatever their name, kept as they are.
  return createControlHandler(HANDLER_NAME, RunRequestedEventSchema, (event) => startRun(event, deps), deps, { classifyErrors: false });
}
