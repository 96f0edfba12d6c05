/**
 * Alarm state changes in the local runtime, as CloudWatch reports them: after a command that ran
 * agents on a data folder, every alarm is evaluated over the folder's metrics (local/local-alarms.ts)
 * and compared with the states stored last time in `<dataDir>/alarm-states.json`. An alarm that
 * moves into ALARM, or from ALARM back to OK, is a notable change: it is returned (the CLI prints
 * one line for it) and a `CloudWatch Alarm State Change` event, shaped as CloudWatch sends it to
 * EventBridge, is put on the local bus. Other moves (INSUFFICIENT_DATA to OK on the first check)
 * are stored silently: in AWS they would only reach a rule that asks for them.
 *
 * An alarm never checked before starts INSUFFICIENT_DATA, as a new CloudWatch alarm does. The data
 * folder is used by one process at a time (its lock), so the read-compare-write needs no lock of its own.
 *
 * @example
 * ```ts
 * const changes = await watchAlarmStates({ dataDir: '.legion', bus: runtime.eventBus });
 * for (const change of changes) process.stderr.write(`${describeAlarmStateChange(change)}\n`);
 * ```
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALARM_DEFINITIONS, type AlarmDefinition } from '../functions/observability/alarms.ts';
import type { PutEventsEntry } from '../functions/core/events.ts';
import { type AlarmEvaluation, type AlarmState, evaluateAlarms } from './local-alarms.ts';
import type { LocalEventBus } from './local-event-bus.ts';
import { metricsFileOf, readMetricRecords } from './metrics-file.ts';

/** The file of a data folder that keeps each alarm's last state. */
export const ALARM_STATES_FILE = 'alarm-states.json';

export const ALARM_STATE_CHANGE = { source: 'aws.cloudwatch', detailType: 'CloudWatch Alarm State Change' } as const;

/** The account and region of the local runtime's ARNs (see localFunctionArn). */
const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'local';

/** An alarm's state as stored between commands. */
export interface StoredAlarmState {
  state: AlarmState;
  reason: string;
  value: number | null;
  /** When the alarm entered this state (ISO 8601). */
  since: string;
}

/** A notable change: into ALARM, or from ALARM back to OK. */
export interface AlarmStateChange {
  name: string;
  previous: StoredAlarmState;
  current: StoredAlarmState;
  evaluation: AlarmEvaluation;
  /** The id of the event put on the bus. */
  eventId: string | undefined;
}

export interface WatchAlarmStatesOptions {
  dataDir: string;
  /** Where the state change events go. */
  bus: Pick<LocalEventBus, 'putServiceEvent'>;
  /** @default Date.now() */
  now?: number | undefined;
  /** @default ALARM_DEFINITIONS */
  definitions?: readonly AlarmDefinition[] | undefined;
}

/**
 * Evaluates the alarms over the data folder's metrics, stores their states, and reports (and puts
 * on the bus) the notable changes since the states stored last time.
 *
 * @throws {MetricMathError} when a definition's expression is not valid
 */
export async function watchAlarmStates(options: WatchAlarmStatesOptions): Promise<AlarmStateChange[]> {
  const now = options.now ?? Date.now();
  const definitions = options.definitions ?? ALARM_DEFINITIONS;
  const evaluations = evaluateAlarms(readMetricRecords(metricsFileOf(options.dataDir)), { now, definitions });
  const stored = readAlarmStates(options.dataDir);
  const timestamp = new Date(now).toISOString();
  const next: Record<string, StoredAlarmState> = {};
  const changes: AlarmStateChange[] = [];
  for (const evaluation of evaluations) {
    const previous = stored[evaluation.name] ?? { state: 'INSUFFICIENT_DATA', reason: 'Unchecked: initial alarm creation', value: null, since: timestamp };
    const moved = previous.state !== evaluation.state;
    const current: StoredAlarmState = { state: evaluation.state, reason: evaluation.reason, value: evaluation.value, since: moved ? timestamp : previous.since };
    next[evaluation.name] = current;
    if (evaluation.state === 'ALARM' ? moved : evaluation.state === 'OK' && previous.state === 'ALARM') {
      changes.push({ name: evaluation.name, previous, current, evaluation, eventId: undefined });
    }
  }
  writeAlarmStates(options.dataDir, next);
  for (const change of changes) {
    const definition = definitions.find((candidate) => candidate.name === change.name);
    if (!definition) continue;
    const put = await options.bus.putServiceEvent(alarmStateChangeEntry(definition, change, now));
    change.eventId = put.eventId;
  }
  return changes;
}

/** One line about a change, e.g. `ALARM CheckpointFailureRate: 20 > 5 in the last 5 min (written 16, failures 4)`. */
export function describeAlarmStateChange(change: AlarmStateChange): string {
  return `${change.current.state} ${change.name}: ${change.current.reason}. Runbook: docs/operations.md#${change.name.toLowerCase()}`;
}

/** The stored states of a data folder; none when never checked (or the file is unreadable: checked again from scratch). */
export function readAlarmStates(dataDir: string): Record<string, StoredAlarmState> {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, ALARM_STATES_FILE), 'utf8')) as { alarms?: unknown };
    return typeof parsed.alarms === 'object' && parsed.alarms !== null ? (parsed.alarms as Record<string, StoredAlarmState>) : {};
  } catch {
    return {};
  }
}

/** Written whole to a temporary file, then renamed over the old one: a crash leaves one or the other. */
function writeAlarmStates(dataDir: string, alarms: Record<string, StoredAlarmState>): void {
  const file = join(dataDir, ALARM_STATES_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ alarms }, null, 2)}\n`);
  renameSync(temporary, file);
}

/** CloudWatch's timestamps in its events: `2026-12-02T20:03:00.123+0000`. */
function cloudWatchTimestamp(iso: string): string {
  return iso.replace(/Z$/, '+0000');
}

/**
 * The `CloudWatch Alarm State Change` event of a change, as CloudWatch sends it to EventBridge
 * (source `aws.cloudwatch`): alarm name, state and previous state (value, reason, timestamp), and
 * the alarm's configuration (description, and its metrics: metric math alarms list the expression
 * with `returnData: true` and each metric with `returnData: false`).
 */
export function alarmStateChangeEntry(definition: AlarmDefinition, change: Pick<AlarmStateChange, 'name' | 'previous' | 'current' | 'evaluation'>, now: number): PutEventsEntry {
  const metricStats = definition.metrics.map((metric) => ({
    id: metric.id,
    metricStat: {
      metric: { namespace: metric.namespace, name: metric.metricName, dimensions: { ...metric.dimensions } },
      period: definition.periodSeconds,
      stat: metric.statistic,
    },
    returnData: definition.expression === undefined,
  }));
  const metrics = definition.expression === undefined ? metricStats : [{ id: 'expression', expression: definition.expression, label: definition.name, returnData: true }, ...metricStats];
  const { current, previous, evaluation } = change;
  return {
    Source: ALARM_STATE_CHANGE.source,
    DetailType: ALARM_STATE_CHANGE.detailType,
    Resources: [`arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT}:alarm:${change.name}`],
    Time: new Date(now),
    Detail: JSON.stringify({
      alarmName: change.name,
      state: {
        value: current.state,
        reason: current.reason,
        reasonData: JSON.stringify({ version: '1.0', queryDate: cloudWatchTimestamp(new Date(now).toISOString()), threshold: evaluation.threshold, evaluatedDatapoints: evaluation.value === null ? [] : [{ value: evaluation.value }] }),
        timestamp: cloudWatchTimestamp(current.since),
      },
      previousState: { value: previous.state, reason: previous.reason, timestamp: cloudWatchTimestamp(previous.since) },
      configuration: { description: definition.description, metrics },
    }),
  };
}
