/**
 * `legion alarms --data-dir D [--window 1h] [--json]`: evaluates every alarm definition
 * (functions/observability/alarms.ts, the ones the stack deploys) over the metrics the runs on a data
 * folder emitted (`<dataDir>/metrics.jsonl`), and prints each alarm's state, value and threshold.
 * It only reads files: no DynamoDB Local is started, so it answers at once, even while a run holds
 * the folder. Exit code 0 whenever it evaluated, whatever the states (a script reads `--json`);
 * 2 for bad usage.
 *
 * Also here: the check after each command that ran agents on a data folder (run, resume, approve,
 * reject, emit), which prints a line on stderr for each alarm that moved into ALARM or back to OK
 * and puts a `CloudWatch Alarm State Change` event on the local bus (local/alarm-states.ts).
 *
 * @example
 * ```sh
 * legion alarms --data-dir .legion --window 1h --json
 * ```
 */
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../../functions/core/errors.ts';
import { describeAlarmStateChange, watchAlarmStates } from '../../local/alarm-states.ts';
import { type AlarmEvaluation, COMPARISON_SYMBOLS, describeSeconds, evaluateAlarms, formatNumber } from '../../local/local-alarms.ts';
import type { LocalEventBus } from '../../local/local-event-bus.ts';
import { metricsFileOf, readMetricRecords } from '../../local/metrics-file.ts';
import type { CliIo } from './cli-io.ts';
import { writeSafely } from './terminal-text.ts';

export interface AlarmsOptions {
  dataDir: string;
  window?: string;
  json?: boolean;
}

/** What `legion alarms --json` prints. */
export interface AlarmsReport {
  /** `--window` as given, or `per-alarm`: each alarm's period × evaluation periods (see each alarm's windowSeconds). */
  window: string;
  evaluatedAt: string;
  metricsFile: string;
  alarms: AlarmEvaluation[];
}

/** The end of `legion alarms --help`. */
export const ALARMS_HELP = `
Each alarm is evaluated as CloudWatch does, over the EMF metrics that runs with --data-dir stored in
<dir>/metrics.jsonl: its metrics' statistics over the window, its metric math, its threshold. No
data is OK (idle). Alarms on AWS metrics (dead-letter queues, executions, Lambda errors) are
INSUFFICIENT_DATA: they are evaluated in AWS only.

Exit codes: 0 evaluated (also when an alarm is in ALARM: read the states, or --json),
            2 bad usage (no --data-dir, a data folder that does not exist, a bad --window).`;

const WINDOW_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses `--window`: a whole number of seconds, minutes, hours or days (`30s`, `5m`, `1h`, `2d`).
 *
 * @returns seconds
 * @throws {UsageError} naming the forms accepted
 */
export function parseWindow(text: string): number {
  const match = /^([1-9]\d*)([smhd])$/.exec(text.trim());
  const unit = match?.[2] === undefined ? undefined : WINDOW_UNITS[match[2]];
  if (!match?.[1] || unit === undefined) throw new UsageError(`--window must be a whole number followed by s, m, h or d (e.g. 30s, 5m, 1h, 2d), got "${text}"`);
  return Number(match[1]) * unit;
}

/**
 * @throws {UsageError} when the data folder does not exist or is not a folder
 */
function requireDataFolder(dataDir: string): void {
  if (!existsSync(dataDir)) throw new UsageError(`data folder ${dataDir} does not exist (run something with --data-dir ${dataDir} first)`);
  if (!statSync(dataDir).isDirectory()) throw new UsageError(`data folder ${dataDir} is not a folder`);
}

/** Runs `legion alarms`; returns the exit code. */
export function alarmsCommand(options: AlarmsOptions, io: Pick<CliIo, 'stdout'>, now: number = Date.now()): number {
  const windowSeconds = options.window === undefined ? undefined : parseWindow(options.window);
  requireDataFolder(options.dataDir);
  const metricsFile = metricsFileOf(options.dataDir);
  const alarms = evaluateAlarms(readMetricRecords(metricsFile), { now, windowSeconds });
  const report: AlarmsReport = { window: options.window?.trim() ?? 'per-alarm', evaluatedAt: new Date(now).toISOString(), metricsFile, alarms };
  if (options.json) writeSafely(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
  else writeSafely(io.stdout, describeReport(report, windowSeconds));
  return 0;
}

function describeReport(report: AlarmsReport, windowSeconds: number | undefined): string {
  const window = windowSeconds === undefined ? "each alarm's period" : `the last ${describeSeconds(windowSeconds)}`;
  const nameWidth = Math.max(5, ...report.alarms.map((alarm) => alarm.name.length));
  const rows = report.alarms.map((alarm) => {
    const value = alarm.value === null ? '-' : formatNumber(alarm.value);
    const threshold = `${COMPARISON_SYMBOLS[alarm.comparison]} ${formatNumber(alarm.threshold)}`;
    return [alarm.state.padEnd(17), alarm.name.padEnd(nameWidth), value.padStart(8), threshold.padEnd(10), alarm.reason].join('  ');
  });
  const header = ['STATE'.padEnd(17), 'ALARM'.padEnd(nameWidth), 'VALUE'.padStart(8), 'THRESHOLD'.padEnd(10), 'REASON'].join('  ');
  return `Alarms at ${report.evaluatedAt} over ${window}, from ${report.metricsFile}\n${header}\n${rows.join('\n')}\n`;
}

/**
 * After a command that ran agents on a data folder: prints one line on stderr per alarm that moved
 * into ALARM or back to OK, and puts its state change event on the bus. A failure here is reported
 * as a warning: the command's own result matters more.
 */
export async function reportAlarmStateChanges(dataDir: string, bus: Pick<LocalEventBus, 'putServiceEvent'>, stream: NodeJS.WritableStream): Promise<void> {
  try {
    const changes = await watchAlarmStates({ dataDir, bus });
    for (const change of changes) writeSafely(stream, `${describeAlarmStateChange(change)}\n`);
  } catch (error) {
    writeSafely(stream, `legion: warning: the alarms of ${dataDir} could not be checked: ${(error as Error).message}\n`);
  }
}
