/**
 * The local evaluation of the alarm definitions, just above and just below each threshold, over
 * EMF records printed by Powertools Metrics itself (the dimension sets the agents and control
 * functions emit), so that the test follows both the definitions module and the handlers' output.
 * Metric names, ids and thresholds are read from the definitions, not repeated here.
 */
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { AGGREGATE_DIMENSIONS, ALARM_DEFINITIONS, type AlarmDefinition, type AlarmMetric, alarmDefinition } from '../../functions/observability/alarms.ts';
import { METRICS, METRICS_SERVICE } from '../../functions/core/contract.ts';
import { type AlarmEvaluation, evaluateAlarms } from '../../local/local-alarms.ts';
import type { EmfRecord } from '../../local/metrics-file.ts';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const MINUTE = 60_000;
/** The per-agent series the agents emit besides the stack-wide [service] one. */
const AGENT = { team: 'telecom-support', agent: 'billing' };

interface EmfOptions {
  /** Milliseconds before NOW. */
  ago: number;
  /** The dimensions added as the handlers add them: with `alsoAggregate`, the [service] set too (agents do both). */
  dimensions?: Record<string, string>;
  /** @default true */
  alsoAggregate?: boolean;
  namespace?: string;
}

/** One EMF record exactly as Powertools Metrics prints it (then timestamped `ago` before NOW). */
function emf(values: Record<string, number | number[]>, options: EmfOptions): EmfRecord {
  const metrics = new Metrics({ namespace: options.namespace ?? METRICS.namespace, serviceName: METRICS_SERVICE });
  if (options.dimensions) {
    metrics.addDimensions(options.dimensions);
    // An empty set: the agents' way to emit the [service] series alone too (see agent.ts).
    if (options.alsoAggregate ?? true) metrics.addDimensions({});
  }
  for (const [name, value] of Object.entries(values)) for (const single of [value].flat()) metrics.addMetric(name, MetricUnit.Count, single);
  const record = JSON.parse(JSON.stringify(metrics.serializeMetrics())) as EmfRecord & { _aws: { Timestamp: number } };
  record._aws.Timestamp = NOW - options.ago;
  return record;
}

/** `count` records of one metric, each with value 1, spread evenly over `withinMs` before NOW. */
function spread(metricName: string, count: number, withinMs: number, options: Omit<EmfOptions, 'ago'> = {}): EmfRecord[] {
  return Array.from({ length: count }, (_, index) => emf({ [metricName]: 1 }, { ...options, ago: Math.floor(((index + 1) * withinMs) / (count + 1)) }));
}

function metricOf(definition: AlarmDefinition, metricName: string): AlarmMetric {
  const metric = definition.metrics.find((candidate) => candidate.metricName === metricName);
  if (!metric) throw new Error(`${definition.name} reads no ${metricName}; update this test with the definition`);
  // Every Legion alarm watches the stack-wide series; the records below are built for it.
  expect(metric.dimensions).toEqual(AGGREGATE_DIMENSIONS);
  return metric;
}

function evaluationOf(name: string, records: readonly EmfRecord[], windowSeconds?: number): AlarmEvaluation {
  const found = evaluateAlarms(records, { now: NOW, windowSeconds }).find((evaluation) => evaluation.name === name);
  if (!found) throw new Error(`no evaluation of ${name}`);
  return found;
}

/** The alarms the local runtime evaluates: stack scope, Legion metrics only. */
const LOCAL_DEFINITIONS = ALARM_DEFINITIONS.filter((definition) => (definition.scope ?? 'stack') === 'stack' && definition.metrics.every((metric) => metric.namespace === METRICS.namespace));
const DETECTION_METRICS: readonly string[] = [METRICS.loopsDetected, METRICS.hallucinationsDetected, METRICS.deadlocksDetected];
const DETECTION_DEFINITIONS = LOCAL_DEFINITIONS.filter((definition) => definition.metrics.every((metric) => DETECTION_METRICS.includes(metric.metricName)));

describe('Function: evaluateAlarms', () => {
  describe('Feature: CheckpointFailureRate', () => {
    const definition = alarmDefinition('CheckpointFailureRate');
    const written = metricOf(definition, METRICS.checkpointsWritten);
    const failed = metricOf(definition, METRICS.checkpointFailures);
    /** Written and failed checkpoints as agents emit them (per-agent and stack-wide sets), within the period. */
    const attempts = (writes: number, failures: number): EmfRecord[] => [
      ...spread(written.metricName, writes, 4 * MINUTE, { dimensions: AGENT }),
      ...spread(failed.metricName, failures, 4 * MINUTE, { dimensions: AGENT }),
    ];

    it('is in ALARM at 6 % of 50 attempts', () => {
      const evaluation = evaluationOf(definition.name, attempts(47, 3));

      expect(evaluation).toMatchObject({ state: 'ALARM', value: 6, threshold: definition.threshold, metrics: { [written.id]: 47, [failed.id]: 3 } });
      expect(evaluation.reason).toMatch(/^6 > 5 in the last 5 min/);
    });

    it('is OK at 4 % of 50 attempts', () => {
      expect(evaluationOf(definition.name, attempts(48, 2))).toMatchObject({ state: 'OK', value: 4 });
    });

    it(`stays OK below the minimum of attempts, however high the rate (${definition.minimumAttempts ?? 0} attempts)`, () => {
      const minimum = definition.minimumAttempts ?? 0;

      expect(evaluationOf(definition.name, attempts(Math.floor(minimum / 2), Math.ceil(minimum / 2) - 1))).toMatchObject({ state: 'OK', value: 0 });
      expect(evaluationOf(definition.name, attempts(Math.floor(minimum / 2), Math.ceil(minimum / 2)))).toMatchObject({ state: 'ALARM', value: 50 });
    });

    it('counts every value of a metric given as an array (Powertools aggregates a metric added twice)', () => {
      const records = [emf({ [written.metricName]: 1 }, { ago: MINUTE }), emf({ [written.metricName]: Array(18).fill(1) as number[], [failed.metricName]: [1, 1] }, { ago: MINUTE })];

      expect(evaluationOf(definition.name, records)).toMatchObject({ state: 'ALARM', metrics: { [written.id]: 19, [failed.id]: 2 } });
    });

    it('ignores failures older than its 5-minute period', () => {
      const records = [...spread(written.metricName, 48, 4 * MINUTE), ...Array.from({ length: 10 }, () => emf({ [failed.metricName]: 1 }, { ago: 6 * MINUTE }))];

      expect(evaluationOf(definition.name, records)).toMatchObject({ state: 'OK', value: 0, metrics: { [failed.id]: null } });
    });
  });

  describe('Feature: Rollbacks', () => {
    const definition = alarmDefinition('Rollbacks');
    const rollbacks = metricOf(definition, METRICS.rollbacks);

    it('is in ALARM with 4 rollbacks in one hour', () => {
      expect(evaluationOf(definition.name, spread(rollbacks.metricName, 4, 55 * MINUTE))).toMatchObject({ state: 'ALARM', value: 4, periodSeconds: 3600, windowSeconds: 3600 });
    });

    it('is OK with 3 rollbacks in one hour', () => {
      expect(evaluationOf(definition.name, spread(rollbacks.metricName, 3, 55 * MINUTE))).toMatchObject({ state: 'OK', value: 3 });
    });

    it('ignores the rollbacks before the hour, unless --window reaches them', () => {
      const records = [...spread(rollbacks.metricName, 3, 55 * MINUTE), emf({ [rollbacks.metricName]: 1 }, { ago: 61 * MINUTE }), emf({ [rollbacks.metricName]: 1 }, { ago: 90 * MINUTE })];

      expect(evaluationOf(definition.name, records)).toMatchObject({ state: 'OK', value: 3 });
      expect(evaluationOf(definition.name, records, 2 * 3600)).toMatchObject({ state: 'ALARM', value: 5, windowSeconds: 7200 });
    });

    it('ignores records in the future of the evaluation time', () => {
      expect(evaluationOf(definition.name, [...spread(rollbacks.metricName, 3, 55 * MINUTE), emf({ [rollbacks.metricName]: 1 }, { ago: -MINUTE })])).toMatchObject({ state: 'OK', value: 3 });
    });

    it('ignores a record without the stack-wide dimension set ([service, team, agent] only: another series)', () => {
      const perAgentOnly = spread(rollbacks.metricName, 5, 30 * MINUTE, { dimensions: AGENT, alsoAggregate: false });

      expect(JSON.parse(JSON.stringify(perAgentOnly[0]))).toMatchObject({ _aws: { CloudWatchMetrics: [{ Dimensions: [['service', 'team', 'agent']] }] } });
      expect(evaluationOf(definition.name, perAgentOnly)).toMatchObject({ state: 'OK', value: null, metrics: { [rollbacks.id]: null } });
    });

    it('ignores records of another namespace or another service', () => {
      const records = [
        ...spread(rollbacks.metricName, 5, 30 * MINUTE, { namespace: 'Legion/Other' }),
        ...spread(rollbacks.metricName, 5, 30 * MINUTE).map((record) => ({ ...record, service: 'someone-else' })),
      ];

      expect(evaluationOf(definition.name, records)).toMatchObject({ state: 'OK', value: null });
    });
  });

  describe('Feature: TokenBudgetExhaustion', () => {
    const definition = alarmDefinition('TokenBudgetExhaustion');
    const started = metricOf(definition, METRICS.tasksStarted);
    const [refused] = definition.metrics.filter((metric) => metric !== started);
    if (!refused) throw new Error('TokenBudgetExhaustion reads no metric besides TasksStarted');
    /** 200 runs started in the hour, `overBudget` of them refused a model call. */
    const runs = (overBudget: number): EmfRecord[] => [...spread(started.metricName, 200, 50 * MINUTE), ...spread(refused.metricName, overBudget, 50 * MINUTE, { dimensions: AGENT })];

    it(`is in ALARM at 2 % of the runs (${refused.metricName} / ${started.metricName})`, () => {
      expect(evaluationOf(definition.name, runs(4))).toMatchObject({ state: 'ALARM', value: 2 });
    });

    it('is OK at 0.5 % of the runs', () => {
      expect(evaluationOf(definition.name, runs(1))).toMatchObject({ state: 'OK', value: 0.5 });
    });

    it('is OK when runs started and none was refused', () => {
      expect(evaluationOf(definition.name, runs(0))).toMatchObject({ state: 'OK', value: 0, metrics: { [refused.id]: null, [started.id]: 200 } });
    });
  });

  describe('Feature: detections', () => {
    it('has one alarm per detection type', () => {
      expect(DETECTION_DEFINITIONS.map((definition) => definition.metrics[0]?.metricName).sort()).toEqual([...DETECTION_METRICS].sort());
    });

    it.each(DETECTION_DEFINITIONS.map((definition) => [definition.name, definition] as const))('%s: one detection is ALARM, none is OK', (name, definition) => {
      const [metric] = definition.metrics;
      if (!metric) throw new Error(`${name} reads no metric`);
      const others = DETECTION_METRICS.filter((other) => other !== metric.metricName).map((other) => emf({ [other]: 1 }, { ago: MINUTE }));

      expect(evaluationOf(name, [emf({ [metric.metricName]: 1 }, { ago: MINUTE })])).toMatchObject({ state: 'ALARM', value: 1 });
      expect(evaluationOf(name, others)).toMatchObject({ state: 'OK', value: null });
    });
  });

  describe('Feature: a Maximum statistic (ApprovalWaitAge)', () => {
    const definition = LOCAL_DEFINITIONS.find((candidate) => candidate.metrics.some((metric) => metric.statistic === 'Maximum'));

    it.runIf(definition)('compares the largest value of the period', () => {
      if (!definition) return;
      const [metric] = definition.metrics;
      if (!metric) throw new Error(`${definition.name} reads no metric`);
      const values = (largest: number): EmfRecord[] => [emf({ [metric.metricName]: 0 }, { ago: MINUTE }), emf({ [metric.metricName]: largest }, { ago: 2 * MINUTE })];

      expect(evaluationOf(definition.name, values(definition.threshold + 1))).toMatchObject({ state: 'ALARM', value: definition.threshold + 1 });
      expect(evaluationOf(definition.name, values(definition.threshold - 1))).toMatchObject({ state: 'OK', value: definition.threshold - 1 });
    });
  });

  describe('Feature: idle is OK', () => {
    it('evaluates every local alarm OK without any record, with no value', () => {
      const evaluations = evaluateAlarms([], { now: NOW });

      for (const definition of LOCAL_DEFINITIONS) {
        expect(evaluations.find((evaluation) => evaluation.name === definition.name)).toMatchObject({ state: 'OK', value: null, evaluatedLocally: true });
      }
      expect(evaluations.filter((evaluation) => evaluation.state === 'ALARM')).toEqual([]);
    });
  });

  describe('Feature: alarms evaluated in AWS only', () => {
    const awsOnly = ALARM_DEFINITIONS.filter((definition) => !LOCAL_DEFINITIONS.includes(definition));

    it.each(awsOnly.map((definition) => [definition.name] as const))('%s is INSUFFICIENT_DATA, saying why', (name) => {
      expect(evaluationOf(name, [])).toMatchObject({ state: 'INSUFFICIENT_DATA', value: null, evaluatedLocally: false, reason: expect.stringMatching(/^evaluated in AWS only: /) as string });
    });

    it('reports a Metrics Insights query or an AWS namespace in a stack-scoped definition as AWS-only too', () => {
      const base = alarmDefinition('Rollbacks');
      const withQuery = { ...base, name: 'WithQuery', query: 'SELECT SUM(Errors) FROM SCHEMA("AWS/Lambda", FunctionName)' } as AlarmDefinition;
      const awsMetric: AlarmDefinition = { ...base, name: 'AwsMetric', metrics: [{ id: 'errors', namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', dimensions: {} }] };

      const evaluations = evaluateAlarms(spread(METRICS.rollbacks, 10, MINUTE), { now: NOW, definitions: [withQuery, awsMetric] });

      expect(evaluations.map(({ name, state, reason }) => ({ name, state, reason }))).toEqual([
        { name: 'WithQuery', state: 'INSUFFICIENT_DATA', reason: 'evaluated in AWS only: a Metrics Insights query' },
        { name: 'AwsMetric', state: 'INSUFFICIENT_DATA', reason: 'evaluated in AWS only: metrics of AWS/Lambda (published by AWS, not by the handlers)' },
      ]);
    });

    it('leaves out a disabled definition, as the stack does', () => {
      const definitions = ALARM_DEFINITIONS.map((definition) => (definition.name === 'Rollbacks' ? { ...definition, enabled: false } : definition));

      expect(evaluateAlarms([], { now: NOW, definitions }).map((evaluation) => evaluation.name)).not.toContain('Rollbacks');
    });
  });
});
