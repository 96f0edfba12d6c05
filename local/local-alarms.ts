/**
 * CloudWatch alarms in the local runtime: every definition of functions/observability/alarms.ts (the one
 * list the stack builds its alarms from) evaluated over the EMF records the handlers printed
 * (local/metrics-file.ts), with CloudWatch's math:
 *
 * - for each metric of a definition, the datapoints of that metric name in its namespace whose EMF
 *   dimension set is exactly the metric's `dimensions` (a record listing [service, team, agent]
 *   only is another series, as in CloudWatch);
 * - the metric's statistic (Sum, Maximum, Minimum, Average, SampleCount) over the window;
 * - the definition's metric math (functions/observability/metric-math.ts), then the comparison with the
 *   threshold. Missing data is not breaching: a window without any datapoint of the definition's
 *   metrics is OK (idle is OK), as `treatMissingData: notBreaching` makes it in AWS.
 *
 * The window ends at `now` and lasts `periodSeconds × evaluationPeriods` of each alarm, or
 * `windowSeconds` for all. It is one aggregate over the whole window, not one per period: with
 * `evaluationPeriods` above 1, CloudWatch alarms only when every period breaches, so the local
 * answer can alarm sooner.
 *
 * What only AWS can evaluate is reported INSUFFICIENT_DATA with the reason "evaluated in AWS
 * only: …": a scope other than `stack` (one alarm per queue, state machine or function), a metric
 * outside the Legion namespace (AWS/SQS, AWS/States, AWS/Lambda are published by AWS, not by the
 * handlers), or a Metrics Insights `query`. Disabled definitions (`enabled: false`) are left out,
 * as the stack leaves out their alarms.
 *
 * @example
 * ```ts
 * const evaluations = evaluateAlarms(readMetricRecords(metricsFileOf('.legion')), { now: Date.now() });
 * evaluations.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name);
 * ```
 */
import { ALARM_DEFINITIONS, type AlarmComparison, type AlarmDefinition, type AlarmMetric, type AlarmStatistic } from '../functions/observability/alarms.ts';
import { METRICS } from '../functions/core/contract.ts';
import { evaluateMetricMath } from '../functions/observability/metric-math.ts';
import type { EmfRecord } from './metrics-file.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** One alarm's state, as `legion alarms --json` prints it. */
export interface AlarmEvaluation {
  name: string;
  state: AlarmState;
  /** The value compared with the threshold; null when there was no data, or it is evaluated in AWS only. */
  value: number | null;
  threshold: number;
  comparison: AlarmComparison;
  periodSeconds: number;
  /** The window the statistics were taken over, ending at the evaluation time. */
  windowSeconds: number;
  /** Each metric's statistic over the window, by metric id; null: no datapoint. Empty when evaluated in AWS only. */
  metrics: Record<string, number | null>;
  /** Why it is in this state, in words (CloudWatch's state reason). */
  reason: string;
  /** False for the alarms only AWS can evaluate (their state is INSUFFICIENT_DATA). */
  evaluatedLocally: boolean;
}

export interface EvaluateAlarmsOptions {
  /** The end of the window (epoch milliseconds or a Date). */
  now: number | Date;
  /** One window for every alarm, in seconds. @default each alarm's periodSeconds × evaluationPeriods */
  windowSeconds?: number | undefined;
  /** @default ALARM_DEFINITIONS */
  definitions?: readonly AlarmDefinition[] | undefined;
}

/** The reason of the alarms only AWS evaluates starts with this. */
export const AWS_ONLY_REASON = 'evaluated in AWS only';

export const COMPARISON_SYMBOLS: Readonly<Record<AlarmComparison, string>> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};

/**
 * Evaluates every enabled definition over the EMF records.
 *
 * @throws {MetricMathError} when a definition's expression is not valid (a bug in the definitions)
 */
export function evaluateAlarms(records: readonly EmfRecord[], options: EvaluateAlarmsOptions): AlarmEvaluation[] {
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  const definitions = options.definitions ?? ALARM_DEFINITIONS;
  return definitions.filter((definition) => definition.enabled !== false).map((definition) => evaluateAlarm(definition, records, now, options.windowSeconds));
}

function evaluateAlarm(definition: AlarmDefinition, records: readonly EmfRecord[], now: number, windowOverride: number | undefined): AlarmEvaluation {
  const windowSeconds = windowOverride ?? definition.periodSeconds * definition.evaluationPeriods;
  const base = {
    name: definition.name,
    threshold: definition.threshold,
    comparison: definition.comparison,
    periodSeconds: definition.periodSeconds,
    windowSeconds,
  };
  const awsOnly = awsOnlyReasons(definition);
  if (awsOnly.length > 0) {
    return { ...base, state: 'INSUFFICIENT_DATA', value: null, metrics: {}, reason: `${AWS_ONLY_REASON}: ${awsOnly.join('; ')}`, evaluatedLocally: false };
  }
  const from = now - windowSeconds * 1000;
  const inWindow = records.filter((record) => {
    const timestamp = timestampOf(record);
    return timestamp !== undefined && timestamp > from && timestamp <= now;
  });
  const statistics = Object.fromEntries(definition.metrics.map((metric) => [metric.id, statisticOf(metric.statistic, datapointsOf(inWindow, metric))]));
  const metrics = Object.fromEntries(Object.entries(statistics).map(([id, value]) => [id, value ?? null]));
  const window = `in the last ${describeSeconds(windowSeconds)}`;
  // CloudWatch's math has datapoints only where its metrics do: without any, the alarm has no data
  // (even an expression that FILLs its gaps), and missing data is not breaching.
  const hasData = Object.values(statistics).some((value) => value !== undefined);
  const value = hasData ? valueOf(definition, statistics) : undefined;
  if (value === undefined) {
    return { ...base, state: 'OK', value: null, metrics, reason: `no data ${window}: missing data is not breaching (idle is OK)`, evaluatedLocally: true };
  }
  const breaching = isBreaching(value, definition.comparison, definition.threshold);
  const symbol = COMPARISON_SYMBOLS[definition.comparison];
  const inputs = definition.expression === undefined ? '' : ` (${Object.entries(metrics).map(([id, datapoint]) => `${id}=${datapoint === null ? 'no data' : formatNumber(datapoint)}`).join(', ')})`;
  const comparison = breaching ? `${formatNumber(value)} ${symbol} ${formatNumber(definition.threshold)}` : `${formatNumber(value)} is not ${symbol} ${formatNumber(definition.threshold)}`;
  return { ...base, state: breaching ? 'ALARM' : 'OK', value, metrics, reason: `${comparison} ${window}${inputs}`, evaluatedLocally: true };
}

/** Why only AWS can evaluate a definition; empty when the local runtime can. */
function awsOnlyReasons(definition: AlarmDefinition): string[] {
  const reasons: string[] = [];
  const scope = definition.scope ?? 'stack';
  if (scope !== 'stack') reasons.push(`scope ${scope} (one alarm per AWS resource)`);
  const foreign = [...new Set(definition.metrics.map((metric) => metric.namespace).filter((namespace) => namespace !== METRICS.namespace))];
  if (foreign.length > 0) reasons.push(`metrics of ${foreign.join(', ')} (published by AWS, not by the handlers)`);
  // A Metrics Insights query (not in AlarmDefinition today): SQL over CloudWatch's store, not math over datapoints.
  if ('query' in definition && (definition as { query?: unknown }).query !== undefined) reasons.push('a Metrics Insights query');
  return reasons;
}

function valueOf(definition: AlarmDefinition, statistics: Record<string, number | undefined>): number | undefined {
  if (definition.expression !== undefined) return evaluateMetricMath(definition.expression, statistics);
  const [only] = definition.metrics;
  return only === undefined ? undefined : statistics[only.id];
}

function isBreaching(value: number, comparison: AlarmComparison, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

function timestampOf(record: EmfRecord): number | undefined {
  const aws = record._aws as { Timestamp?: unknown } | null | undefined;
  const timestamp = typeof aws === 'object' && aws !== null ? aws.Timestamp : undefined;
  return typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : undefined;
}

interface EmfDirective {
  Namespace?: unknown;
  Dimensions?: unknown;
  Metrics?: unknown;
}

/**
 * The values of one metric in the records: a record counts when one of its EMF directives is in
 * the metric's namespace, names the metric, and lists exactly the metric's dimension names as one
 * of its dimension sets, and the record's dimension values are the metric's.
 */
export function datapointsOf(records: readonly EmfRecord[], metric: Pick<AlarmMetric, 'namespace' | 'metricName' | 'dimensions'>): number[] {
  const wanted = Object.keys(metric.dimensions).sort();
  const values: number[] = [];
  for (const record of records) {
    const directives = (record._aws as { CloudWatchMetrics?: unknown } | undefined)?.CloudWatchMetrics;
    if (!Array.isArray(directives)) continue;
    const matches = (directives as EmfDirective[]).some(
      (directive) =>
        directive.Namespace === metric.namespace &&
        Array.isArray(directive.Metrics) &&
        (directive.Metrics as { Name?: unknown }[]).some((entry) => entry.Name === metric.metricName) &&
        Array.isArray(directive.Dimensions) &&
        (directive.Dimensions as unknown[]).some((set) => Array.isArray(set) && sameNames(set, wanted)),
    );
    if (!matches) continue;
    if (!Object.entries(metric.dimensions).every(([name, value]) => record[name] === value)) continue;
    const raw = record[metric.metricName];
    for (const value of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
      if (typeof value === 'number' && Number.isFinite(value)) values.push(value);
    }
  }
  return values;
}

function sameNames(set: unknown[], wanted: readonly string[]): boolean {
  if (set.length !== wanted.length) return false;
  const names = set.map(String).sort();
  return names.every((name, index) => name === wanted[index]);
}

/** A statistic over a window's values; undefined (no data) without any. */
export function statisticOf(statistic: AlarmStatistic, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (statistic) {
    case 'Sum':
      return values.reduce((total, value) => total + value, 0);
    case 'Average':
      return values.reduce((total, value) => total + value, 0) / values.length;
    // reduce, not Math.max(...values): a long window holds more values than a call takes arguments.
    case 'Maximum':
      return values.reduce((max, value) => Math.max(max, value));
    case 'Minimum':
      return values.reduce((min, value) => Math.min(min, value));
    case 'SampleCount':
      return values.length;
  }
}

/** A value as alarms show it: at most 3 significant digits after the point (8.33, 0.0412, 14400). */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

/** Seconds in the largest whole unit: 30 s, 5 min, 1 h, 2 d. */
export function describeSeconds(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'min'],
  ];
  for (const [size, unit] of units) if (seconds >= size && seconds % size === 0) return `${seconds / size} ${unit}`;
  return `${seconds} s`;
}
