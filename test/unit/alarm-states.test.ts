/**
 * Alarm state changes in a data folder: an alarm moving into ALARM, and back to OK, is reported
 * once and put on the local bus as CloudWatch's `CloudWatch Alarm State Change` event; the states
 * are kept in the folder between commands. In-process: a temporary folder and a LocalEventBus.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alarmDefinition } from '../../functions/observability/alarms.ts';
import { METRICS, METRICS_SERVICE } from '../../functions/core/contract.ts';
import { ALARM_STATES_FILE, ALARM_STATE_CHANGE, describeAlarmStateChange, readAlarmStates, watchAlarmStates } from '../../local/alarm-states.ts';
import { type BusEvent, LocalEventBus } from '../../local/local-event-bus.ts';
import { appendMetricRecord, metricsFileOf } from '../../local/metrics-file.ts';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const MINUTE = 60_000;

/** An EMF record of the stack-wide series (as control functions print it). */
function record(metricName: string, value: number, at: number): Record<string, unknown> {
  return {
    _aws: { Timestamp: at, CloudWatchMetrics: [{ Namespace: METRICS.namespace, Dimensions: [['service']], Metrics: [{ Name: metricName, Unit: 'Count' }] }] },
    service: METRICS_SERVICE,
    [metricName]: value,
  };
}

describe('Function: watchAlarmStates', () => {
  let dataDir: string;
  let bus: LocalEventBus;
  let received: BusEvent[];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'legion-alarm-states-'));
    bus = new LocalEventBus();
    received = [];
    // A rule as a user would write it for alarm notifications.
    bus.addRule({
      name: 'alarm-changes',
      eventPattern: { source: [ALARM_STATE_CHANGE.source], 'detail-type': [ALARM_STATE_CHANGE.detailType] },
      targets: [{ id: 'inbox', handler: (event) => Promise.resolve(received.push(event)) }],
    });
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores the first states silently when nothing is in ALARM (idle)', async () => {
    const changes = await watchAlarmStates({ dataDir, bus, now: NOW });

    expect(changes).toEqual([]);
    expect(received).toEqual([]);
    expect(readAlarmStates(dataDir).Rollbacks).toMatchObject({ state: 'OK', value: null, since: new Date(NOW).toISOString() });
    expect(readAlarmStates(dataDir).DeadLetterQueueDepth).toMatchObject({ state: 'INSUFFICIENT_DATA' });
  });

  it('puts a CloudWatch Alarm State Change event on the bus as an alarm goes into ALARM, once, and again as it is OK', async () => {
    const definition = alarmDefinition('Rollbacks');
    await watchAlarmStates({ dataDir, bus, now: NOW - 10 * MINUTE });
    for (let index = 0; index <= definition.threshold; index += 1) appendMetricRecord(metricsFileOf(dataDir), record(METRICS.rollbacks, 1, NOW - MINUTE));

    const [change, ...others] = await watchAlarmStates({ dataDir, bus, now: NOW });

    expect(others).toEqual([]);
    expect(change).toMatchObject({ name: 'Rollbacks', previous: { state: 'OK' }, current: { state: 'ALARM', value: definition.threshold + 1 } });
    expect(change && describeAlarmStateChange(change)).toBe(`ALARM Rollbacks: 4 > 3 in the last 1 h. Runbook: docs/operations.md#rollbacks`);
    expect(received).toHaveLength(1);
    const [event] = received;
    expect(event).toMatchObject({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      resources: ['arn:aws:cloudwatch:local:000000000000:alarm:Rollbacks'],
      time: '2026-12-02T12:00:00Z',
      detail: {
        alarmName: 'Rollbacks',
        state: { value: 'ALARM', reason: '4 > 3 in the last 1 h', timestamp: '2026-12-02T12:00:00.000+0000' },
        previousState: { value: 'OK', timestamp: '2026-12-02T11:50:00.000+0000' },
        configuration: {
          description: definition.description,
          metrics: [{ id: 'rollbacks', metricStat: { metric: { namespace: 'Legion', name: 'Rollbacks', dimensions: { service: METRICS_SERVICE } }, period: 3600, stat: 'Sum' }, returnData: true }],
        },
      },
    });
    expect(change?.eventId).toBe(event?.id);

    // Still in ALARM: nothing new to tell.
    expect(await watchAlarmStates({ dataDir, bus, now: NOW + MINUTE })).toEqual([]);
    expect(received).toHaveLength(1);

    // The rollbacks leave the one-hour window: back to OK, told once.
    const [back] = await watchAlarmStates({ dataDir, bus, now: NOW + 61 * MINUTE });
    expect(back).toMatchObject({ name: 'Rollbacks', previous: { state: 'ALARM', since: new Date(NOW).toISOString() }, current: { state: 'OK' } });
    expect(received.map((delivered) => (delivered.detail as { state: { value: string }; previousState: { value: string } }))).toMatchObject([
      { state: { value: 'ALARM' } },
      { state: { value: 'OK' }, previousState: { value: 'ALARM' } },
    ]);
    expect(JSON.parse(readFileSync(join(dataDir, ALARM_STATES_FILE), 'utf8'))).toMatchObject({ alarms: { Rollbacks: { state: 'OK' } } });
  });

  it('lists the expression and its metrics in the configuration of a metric math alarm', async () => {
    const definition = alarmDefinition('CheckpointFailureRate');
    const [written, failed] = [METRICS.checkpointsWritten, METRICS.checkpointFailures];
    for (let index = 0; index < 30; index += 1) appendMetricRecord(metricsFileOf(dataDir), record(index < 20 ? written : failed, 1, NOW - MINUTE));

    const [change] = await watchAlarmStates({ dataDir, bus, now: NOW });

    expect(change).toMatchObject({ name: 'CheckpointFailureRate', previous: { state: 'INSUFFICIENT_DATA' }, current: { state: 'ALARM' } });
    const metrics = (received[0]?.detail as { configuration: { metrics: { id: string; returnData: boolean; expression?: string }[] } }).configuration.metrics;
    expect(metrics.map(({ id, returnData, expression }) => ({ id, returnData, expression }))).toEqual([
      { id: 'expression', returnData: true, expression: definition.expression },
      ...definition.metrics.map((metric) => ({ id: metric.id, returnData: false, expression: undefined })),
    ]);
  });
});
