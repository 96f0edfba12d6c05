/**
 * Every Legion alarm, defined once: the CDK stack builds its CloudWatch alarms from this list
 * (lib/legion-alarms.ts), the tests read their expectations from it, and the local evaluator
 * (local/local-alarms.ts, `legion alarms`) evaluates the same math over the datapoints the local
 * runtime stores. No CDK import here on purpose.
 *
 * Which series: every Legion metric is also emitted with the single dimension `service` =
 * METRICS_SERVICE (see contract.ts), the sum over all functions, teams and agents. Each alarm
 * watches that series; an alarm on a metric without its exact dimensions would see no data.
 *
 * Idle means OK: every alarm treats missing data as not breaching, and the rate alarms compute 0
 * when too few attempts were made in the period.
 *
 * Overrides per alarm come from the CDK context `legion:alarms` (parseAlarmOverrides).
 *
 * @example
 * ```ts
 * const definitions = applyAlarmOverrides(ALARM_DEFINITIONS, parseAlarmOverrides(app.node.tryGetContext('legion:alarms')));
 * ```
 */
import { z } from 'zod';
import { METRICS, METRICS_SERVICE } from '../core/contract.ts';

export type AlarmStatistic = 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount';
export type AlarmComparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

/** One metric an alarm reads. */
export interface AlarmMetric {
  /** Its id in the alarm's math expression (lower case first letter, as CloudWatch requires). */
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: AlarmStatistic;
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface AlarmDefinition {
  /** Unique, PascalCase; the key of `legion:alarms` overrides and the suffix of the CloudWatch alarm name. */
  readonly name: string;
  /** What crossing the threshold means. */
  readonly description: string;
  /** One-line runbook summary; docs/operations.md has the full entry. */
  readonly runbook: string;
  /** The metrics it reads (one, unless {@link expression} combines several). */
  readonly metrics: readonly AlarmMetric[];
  /** Metric math over the metrics' ids; without it, the alarm watches its single metric. @default none */
  readonly expression?: string;
  /** The period of every metric and of the expression, in seconds. */
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly comparison: AlarmComparison;
  readonly threshold: number;
  /** Always `notBreaching`: missing data (an idle stack) never alarms. */
  readonly treatMissingData: 'notBreaching';
  /** Rate alarms: the fewest attempts in a period before the rate can alarm (the expression computes 0 below it). @default none */
  readonly minimumAttempts?: number;
  /** Part of the composite "Legion health" alarm. */
  readonly inHealth: boolean;
  /** @default true */
  readonly enabled?: boolean;
  /**
   * Which resources one alarm of the definition watches:
   * - `stack`: one alarm on the stack-wide series;
   * - `eachDeadLetterQueue`: one alarm per dead-letter queue of the stack, its metrics getting the dimension `QueueName`;
   * - `eachStateMachine`: one alarm per team's state machine, its metrics getting the dimension `StateMachineArn`;
   * - `eachTeamsAgentFunctions`: one alarm per team over all its agent functions (in groups of
   *   {@link AGENT_FUNCTIONS_PER_ALARM}, since an alarm reads at most 10 metrics): the metrics and
   *   expression are repeated per function with the dimension `FunctionName` and added up.
   *
   * The local evaluator evaluates `stack` only: the others read AWS namespaces (AWS/SQS, AWS/States,
   * AWS/Lambda) that only AWS publishes.
   *
   * @default 'stack'
   */
  readonly scope?: AlarmScope;
}

export type AlarmScope = 'stack' | 'eachDeadLetterQueue' | 'eachStateMachine' | 'eachTeamsAgentFunctions';

/**
 * Agent functions per alarm of scope `eachTeamsAgentFunctions`: each adds two metrics (errors and
 * throttles) and an alarm's metric math reads at most 10.
 */
export const AGENT_FUNCTIONS_PER_ALARM = 5;

/** The dimensions of the stack-wide series of every Legion metric. */
export const AGGREGATE_DIMENSIONS: Readonly<Record<string, string>> = { service: METRICS_SERVICE };

function legionMetric(id: string, metricName: string, statistic: AlarmStatistic = 'Sum'): AlarmMetric {
  return { id, namespace: METRICS.namespace, metricName, statistic, dimensions: AGGREGATE_DIMENSIONS };
}

/**
 * 20 attempts in 5 minutes: below it a single failure is already 5 % or more (1 of 19), so a quiet
 * stack would alarm on one throttled write; from 20 on, 5 % means at least one failure in 20, and a
 * sustained problem still shows within one period.
 */
export const CHECKPOINT_MINIMUM_ATTEMPTS = 20;

const FIVE_MINUTES = 300;
const ONE_HOUR = 3600;

function detectionAlarm(name: string, metricName: string, what: string, runbook: string): AlarmDefinition {
  return {
    name,
    description: `Legion detected ${what} in the last 5 minutes`,
    runbook,
    metrics: [legionMetric('detections', metricName)],
    periodSeconds: FIVE_MINUTES,
    evaluationPeriods: 1,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: 1,
    treatMissingData: 'notBreaching',
    inHealth: true,
  };
}

/** A metric of an AWS service; the alarm's scope adds the dimension of each resource it watches. */
function serviceMetric(id: string, namespace: string, metricName: string, statistic: AlarmStatistic = 'Sum'): AlarmMetric {
  return { id, namespace, metricName, statistic, dimensions: {} };
}

/** An alarm per resource of its scope that fires on any occurrence in 5 minutes. */
function resourceAlarm(definition: Pick<AlarmDefinition, 'name' | 'description' | 'runbook' | 'metrics' | 'expression' | 'scope'>): AlarmDefinition {
  return {
    ...definition,
    periodSeconds: FIVE_MINUTES,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold',
    threshold: 0,
    treatMissingData: 'notBreaching',
    inHealth: true,
  };
}

/** Every Legion alarm, with its default settings. */
export const ALARM_DEFINITIONS: readonly AlarmDefinition[] = [
  {
    name: 'CheckpointFailureRate',
    description: `More than 5 % of checkpoint writes failed in 5 minutes (with at least ${CHECKPOINT_MINIMUM_ATTEMPTS} attempts)`,
    runbook: 'Checkpoint writes are failing: check DynamoDB throttling and errors on the checkpoint table and the agents’ logs.',
    metrics: [legionMetric('written', METRICS.checkpointsWritten), legionMetric('failures', METRICS.checkpointFailures)],
    // Percent of failed attempts; 0 (not alarming) while there are fewer than the minimum attempts.
    expression: `IF((FILL(written, 0) + FILL(failures, 0)) >= ${CHECKPOINT_MINIMUM_ATTEMPTS}, 100 * FILL(failures, 0) / (FILL(written, 0) + FILL(failures, 0)), 0)`,
    periodSeconds: FIVE_MINUTES,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold',
    threshold: 5,
    treatMissingData: 'notBreaching',
    minimumAttempts: CHECKPOINT_MINIMUM_ATTEMPTS,
    inHealth: true,
  },
  {
    name: 'Rollbacks',
    description: 'More than 3 automatic rollbacks in one hour',
    runbook: 'Agents keep producing output that fails its consistency check: find the tasks and agents in the rollback-task logs.',
    metrics: [legionMetric('rollbacks', METRICS.rollbacks)],
    periodSeconds: ONE_HOUR,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold',
    threshold: 3,
    treatMissingData: 'notBreaching',
    inHealth: true,
  },
  {
    name: 'TokenBudgetExhaustion',
    description: 'More than 1 % of the runs started in one hour had a model call refused by a token budget',
    runbook: 'Runs hit their token budgets: check which agents refuse calls (BudgetsExceeded by agent) and raise tokenBudget or fix the prompts.',
    // TasksOverBudget counts a task once, at its first refusal, however many calls were refused.
    // Both counts are per task: a hierarchical run's sub-team tasks are runs of their own state machines.
    metrics: [legionMetric('exceeded', METRICS.tasksOverBudget), legionMetric('started', METRICS.tasksStarted)],
    expression: 'IF(FILL(started, 0) > 0, 100 * FILL(exceeded, 0) / FILL(started, 0), 0)',
    periodSeconds: ONE_HOUR,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold',
    threshold: 1,
    treatMissingData: 'notBreaching',
    minimumAttempts: 1,
    inHealth: true,
  },
  detectionAlarm('LoopsDetected', METRICS.loopsDetected, 'a loop', 'A run repeated or oscillated: read the FailureDetected event and the run’s checkpoints, then fix the prompts or the iteration limits.'),
  detectionAlarm(
    'HallucinationsDetected',
    METRICS.hallucinationsDetected,
    'an unverified consensus (possible hallucination)',
    'Agents agreed on a result that failed verification: read the FailureDetected event and compare the result with its source of truth.',
  ),
  detectionAlarm('DeadlocksDetected', METRICS.deadlocksDetected, 'a deadlock', 'Agents waited on each other’s resources: read the FailureDetected event and the resource pool’s leases.'),
  resourceAlarm({
    name: 'ExecutionsFailed',
    description: 'Executions of a team’s state machine failed, timed out or were aborted in the last 5 minutes',
    runbook: 'Open the failed executions in the Step Functions console (their error and cause), then the RunFailed events and the agents’ logs of the task.',
    metrics: [
      serviceMetric('failed', 'AWS/States', 'ExecutionsFailed'),
      serviceMetric('timedOut', 'AWS/States', 'ExecutionsTimedOut'),
      serviceMetric('aborted', 'AWS/States', 'ExecutionsAborted'),
    ],
    expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
    scope: 'eachStateMachine',
  }),
  resourceAlarm({
    name: 'AgentFunctionErrors',
    description: 'Agent Lambda functions of a team failed (errors, timeouts included) or were throttled in the last 5 minutes',
    runbook: 'Read the agents’ logs for the errors; for throttles, raise the account’s concurrency or the agents’ reserved concurrency.',
    metrics: [serviceMetric('errors', 'AWS/Lambda', 'Errors'), serviceMetric('throttles', 'AWS/Lambda', 'Throttles')],
    expression: 'FILL(errors, 0) + FILL(throttles, 0)',
    scope: 'eachTeamsAgentFunctions',
  }),
  {
    name: 'ApprovalWaitAge',
    description: 'A run has waited more than 4 hours for a human decision',
    runbook: 'Find the waiting tasks (the approval topic’s messages, or RunEscalated events) and approve or reject them; tune the threshold (seconds) to your on-call response time.',
    metrics: [legionMetric('oldest', METRICS.oldestPendingApprovalSeconds, 'Maximum')],
    // The approval keeper reports the oldest wait on every sweep (every few minutes).
    periodSeconds: FIVE_MINUTES,
    evaluationPeriods: 1,
    comparison: 'GreaterThanThreshold',
    threshold: 4 * ONE_HOUR,
    treatMissingData: 'notBreaching',
    inHealth: true,
  },
  resourceAlarm({
    name: 'DeadLetterQueueDepth',
    description: 'A dead-letter queue holds messages: events or invocations EventBridge or the scheduler could not deliver',
    runbook: 'Read the messages in the queue (their attributes name the error), fix the cause, then redrive or delete them.',
    metrics: [serviceMetric('visible', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum')],
    scope: 'eachDeadLetterQueue',
  }),
];

/** What `legion:alarms` may change for one alarm. */
export const AlarmOverrideSchema = z.strictObject({
  threshold: z.number().optional(),
  evaluationPeriods: z.number().int().min(1).optional(),
  enabled: z.boolean().optional(),
});
export type AlarmOverride = z.infer<typeof AlarmOverrideSchema>;

/** The definition of that name. @throws {Error} when there is none */
export function alarmDefinition(name: string, definitions: readonly AlarmDefinition[] = ALARM_DEFINITIONS): AlarmDefinition {
  const found = definitions.find((definition) => definition.name === name);
  if (!found) throw new Error(`No alarm definition named ${name}`);
  return found;
}

/** The CDK context key of the overrides. */
export const ALARM_OVERRIDES_CONTEXT = 'legion:alarms';

/**
 * Reads the `legion:alarms` context (an object, or its JSON as given by `cdk -c`): keys are alarm
 * names, values `{ threshold?, evaluationPeriods?, enabled? }`.
 *
 * @throws {Error} naming the key at fault
 */
export function parseAlarmOverrides(raw: unknown, definitions: readonly AlarmDefinition[] = ALARM_DEFINITIONS): Record<string, AlarmOverride> {
  if (raw === undefined || raw === null) return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw new Error(`Context ${ALARM_OVERRIDES_CONTEXT} must be a JSON object; got ${JSON.stringify(raw)}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Context ${ALARM_OVERRIDES_CONTEXT} must be an object of alarm names; got ${JSON.stringify(value)}`);
  }
  const names = definitions.map((definition) => definition.name);
  const overrides: Record<string, AlarmOverride> = {};
  for (const [name, override] of Object.entries(value)) {
    if (!names.includes(name)) throw new Error(`Context ${ALARM_OVERRIDES_CONTEXT}: unknown alarm "${name}"; known alarms: ${names.join(', ')}`);
    const parsed = AlarmOverrideSchema.safeParse(override);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${[name, ...issue.path.map(String)].join('.')}: ${issue.message}`);
      throw new Error(`Context ${ALARM_OVERRIDES_CONTEXT} is invalid: ${problems.join('; ')}`);
    }
    overrides[name] = parsed.data;
  }
  return overrides;
}

/** The definitions with their overrides applied (a disabled alarm keeps `enabled: false`). */
export function applyAlarmOverrides(definitions: readonly AlarmDefinition[], overrides: Record<string, AlarmOverride>): AlarmDefinition[] {
  return definitions.map((definition) => {
    const override = overrides[definition.name];
    if (!override) return definition;
    return {
      ...definition,
      ...(override.threshold === undefined ? {} : { threshold: override.threshold }),
      ...(override.evaluationPeriods === undefined ? {} : { evaluationPeriods: override.evaluationPeriods }),
      ...(override.enabled === undefined ? {} : { enabled: override.enabled }),
    };
  });
}

/** The CDK context key of the optional email subscription. */
export const ALARM_EMAIL_CONTEXT = 'legion:alarmEmail';

/** Reads `legion:alarmEmail`. @throws {Error} when it is set but not an email address */
export function parseAlarmEmail(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const parsed = z.email().safeParse(raw);
  if (!parsed.success) throw new Error(`Context ${ALARM_EMAIL_CONTEXT} must be an email address; got ${JSON.stringify(raw)}`);
  return parsed.data;
}
