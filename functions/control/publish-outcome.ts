/**
 * Publishes how a run ended, without a single state in any ASL file: Step Functions itself puts a
 * "Step Functions Execution Status Change" event on the default bus when an execution ends; a rule
 * matching Legion's state machines delivers it here, and this function puts `RunSucceeded`,
 * `RunFailed` or `RunEscalated` (see `outcomeOf` in events.ts) on the Legion bus with the task id
 * and a short summary. The task id is the execution name, or for a resume execution
 * (`{ "resume": { "taskId" } }`) the task it resumed. Nested executions (a hierarchical team's
 * sub-teams) publish nothing: they are part of their parent's run, which reports the outcome.
 *
 * Every execution's end, nested ones too, is recorded on its task's status item (only by the
 * execution the task runs under: a late report of an execution a resume replaced changes nothing)
 * and counted in `RunsCompleted` by team and status (dimension sets [service, team, status] and
 * [service]). The outcome event carries the run's `totals`, sub-teams included
 * (TaskStatusStore.totals).
 *
 * @example
 * ```ts
 * const handler = createPublishOutcomeHandler({ events: new EventBridgeClient({}), sfn: new SFNClient({}), eventBusName, machines, statuses, logger, metrics });
 * await handler(statusChangeEvent, context); // → RunSucceeded on the bus
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { DeployedMachine } from '../core/config.ts';
import { METRICS } from '../core/contract.ts';
import { InvalidEventError } from '../core/errors.ts';
import {
  EXECUTION_STATUS_CHANGE,
  ExecutionStatusChangeDetailSchema,
  FINAL_EXECUTION_STATUSES,
  type FinalExecutionStatus,
  type RunOutcomeDetail,
  outcomeEntry,
  outcomeOf,
} from '../core/events.ts';
import { NestedTaskInputSchema, ResumeInputSchema } from './begin-task.ts';
import { type PutEventsClient, putEvent } from '../core/put-event.ts';
import type { TaskStatusStore } from '../observability/task-status-store.ts';
import { type ControlHandler, createControlHandler } from './control-handler.ts';

const HANDLER_NAME = 'publish-outcome';

export const ExecutionStatusChangeEventSchema = z.looseObject({
  source: z.literal(EXECUTION_STATUS_CHANGE.source),
  'detail-type': z.literal(EXECUTION_STATUS_CHANGE.detailType),
  detail: ExecutionStatusChangeDetailSchema,
});
export type ExecutionStatusChangeEvent = z.infer<typeof ExecutionStatusChangeEventSchema>;

export type { PutEventsClient } from '../core/put-event.ts';

/** The part of the SFN client publish-outcome uses, for input/output too large for the event. */
export interface DescribeExecutionClient {
  send(command: DescribeExecutionCommand): Promise<DescribeExecutionCommandOutput>;
}

export interface PublishOutcomeDependencies {
  events: PutEventsClient;
  sfn: DescribeExecutionClient;
  eventBusName: string;
  machines: readonly DeployedMachine[];
  /** The tasks' status items: how each execution ended, and the run's totals. */
  statuses: { forTeam(team: string): Pick<TaskStatusStore, 'finish' | 'totals'> };
  logger: Logger;
  metrics: Metrics;
}

export type PublishOutcomeResult =
  | { published: true; detailType: string; detail: RunOutcomeDetail }
  | { published: false; reason: string };

/** Publishes the outcome of one finished execution (pure; no middlewares). */
export async function publishOutcome(event: ExecutionStatusChangeEvent, deps: PublishOutcomeDependencies): Promise<PublishOutcomeResult> {
  const { detail } = event;
  const machine = deps.machines.find((candidate) => candidate.stateMachineArn === detail.stateMachineArn);
  if (!machine) throw new InvalidEventError(HANDLER_NAME, [`detail.stateMachineArn: ${detail.stateMachineArn} is not one of Legion's state machines`]);
  if (!(FINAL_EXECUTION_STATUSES as readonly string[]).includes(detail.status)) {
    throw new InvalidEventError(HANDLER_NAME, [`detail.status: ${detail.status} is not a final status (${FINAL_EXECUTION_STATUSES.join(', ')})`]);
  }
  const status = detail.status as FinalExecutionStatus;
  let { input, output } = detail;
  // The event leaves out an input or output too large for it; DescribeExecution has them.
  if (input == null || (status === 'SUCCEEDED' && output == null)) {
    const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: detail.executionArn }));
    input ??= described.input;
    output ??= described.output;
  }
  const parsedInput = parseJson(input);
  const nested = NestedTaskInputSchema.safeParse(parsedInput);
  const resume = ResumeInputSchema.safeParse(parsedInput);
  const taskId = nested.success ? nested.data.nestedTask.taskId : resume.success ? resume.data.resume.taskId : detail.name;
  const run = {
    taskId,
    pattern: machine.pattern,
    team: machine.team,
    status,
    output: parseJson(output),
    error: detail.error == null ? undefined : { error: detail.error, cause: detail.cause ?? '' },
  };
  const statuses = deps.statuses.forTeam(machine.team);
  const ended = outcomeOf(run).detail.status;
  const recorded = await statuses.finish(taskId, ended, { executionName: detail.name });
  if (!recorded) deps.logger.info('status not recorded: another execution runs the task, or it never began', { taskId, executionName: detail.name, status: ended });
  // Both dimension sets (Powertools clears them after each invocation): by team and status, and [service] alone.
  deps.metrics.addDimensions({ team: machine.team, status: ended });
  deps.metrics.addDimensions({});
  if (nested.success) {
    deps.metrics.addMetric(METRICS.runsCompleted, MetricUnit.Count, 1);
    deps.logger.info('nested execution: its parent run reports the outcome', { executionArn: detail.executionArn });
    return { published: false, reason: 'nested execution' };
  }
  const entry = outcomeEntry({ ...run, totals: await statuses.totals(taskId) }, deps.eventBusName);
  // A refused entry throws EventPublishError: the Lambda retries, then dead-letters it.
  await putEvent(entry, deps);
  const outcome = { detailType: entry.DetailType, detail: JSON.parse(entry.Detail) as RunOutcomeDetail };
  deps.logger.info('run outcome published', { ...outcome.detail, detailType: outcome.detailType });
  deps.metrics.addMetric(METRICS.runOutcomesPublished, MetricUnit.Count, 1);
  // After the put: a put that fails is retried, and the run must not be counted twice.
  deps.metrics.addMetric(METRICS.runsCompleted, MetricUnit.Count, 1);
  // A success with a part missing is counted apart: it must not pass for a whole answer.
  if (outcome.detail.degraded !== undefined && outcome.detail.degraded.length > 0) deps.metrics.addMetric(METRICS.degradedRuns, MetricUnit.Count, 1);
  return { published: true, ...outcome };
}

function parseJson(text: string | null | undefined): unknown {
  if (text == null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function createPublishOutcomeHandler(deps: PublishOutcomeDependencies): ControlHandler<PublishOutcomeResult> {
  return createControlHandler(HANDLER_NAME, ExecutionStatusChangeEventSchema, (event) => publishOutcome(event, deps), deps);
}
