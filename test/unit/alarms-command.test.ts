/**
 * `legion alarms` in-process: the window forms it accepts, and its JSON report over a data folder's
 * metrics file (the CLI test, test/integration/alarms-cli.test.ts, runs it as a child process).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AlarmsReport, alarmsCommand, parseWindow } from '../../bin/cli/alarms.ts';
import { METRICS, METRICS_SERVICE } from '../../functions/core/contract.ts';
import { UsageError } from '../../functions/core/errors.ts';
import { appendMetricRecord, metricsFileOf } from '../../local/metrics-file.ts';
import { capturedIo } from '../support/captured-io.ts';

describe('Function: parseWindow', () => {
  it.each([
    ['30s', 30],
    ['5m', 300],
    ['1h', 3600],
    ['2d', 172_800],
    [' 90m ', 5400],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseWindow(text)).toBe(seconds);
  });

  it.each(['7x', '1', 'h', '0h', '-1h', '1.5h', '1 h', '1hour', ''])('refuses %j with a usage error naming the forms', (text) => {
    expect(() => parseWindow(text)).toThrow(UsageError);
    expect(() => parseWindow(text)).toThrow(/whole number followed by s, m, h or d \(e\.g\. 30s, 5m, 1h, 2d\)/);
  });
});

describe('Function: alarmsCommand', () => {
  let dataDir: string | undefined;

  afterEach(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints { window, evaluatedAt, metricsFile, alarms } and exits 0 with an alarm in ALARM', () => {
    dataDir = mkdtempSync(join(tmpdir(), 'legion-alarms-command-'));
    const now = Date.parse('2026-12-02T12:00:00.000Z');
    for (let index = 0; index < 4; index += 1) {
      appendMetricRecord(metricsFileOf(dataDir), {
        _aws: { Timestamp: now - 60_000, CloudWatchMetrics: [{ Namespace: METRICS.namespace, Dimensions: [['service']], Metrics: [{ Name: METRICS.rollbacks, Unit: 'Count' }] }] },
        service: METRICS_SERVICE,
        [METRICS.rollbacks]: 1,
      });
    }
    const captured = capturedIo();

    const code = alarmsCommand({ dataDir, window: '2h', json: true }, captured.io, now);

    expect(code).toBe(0);
    const report = JSON.parse(captured.stdout()) as AlarmsReport;
    expect(report).toMatchObject({ window: '2h', evaluatedAt: '2026-12-02T12:00:00.000Z', metricsFile: metricsFileOf(dataDir) });
    expect(report.alarms.find((alarm) => alarm.name === 'Rollbacks')).toMatchObject({ state: 'ALARM', value: 4, windowSeconds: 7200 });
  });

  it('refuses a bad window before looking at the folder', () => {
    expect(() => alarmsCommand({ dataDir: '/nonexistent', window: '7x' }, capturedIo().io)).toThrow(/--window/);
  });
});
