/**
 * CloudWatch in the local runtime: the structured log lines and EMF metric lines that the
 * Powertools Logger and Metrics of each handler print are collected here instead of on stdout
 * (which belongs to the CLI's result). Logs can be forwarded to stderr for `--verbose`. With a
 * metrics file (the runtime's data folder has one), every EMF record is also appended to it, so that
 * alarms can be evaluated over the metrics of every run on the folder (local/metrics-file.ts).
 *
 * @example
 * ```ts
 * const sink = new TelemetrySink();
 * sink.attach(deps.logger, deps.metrics);
 * sink.metricValues('CheckpointsWritten'); // [1, 1, ...]
 * ```
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { appendMetricRecord } from './metrics-file.ts';

export interface TelemetrySinkOptions {
  /** Where to copy log lines (not metrics). @default nowhere */
  forwardLogsTo?: NodeJS.WritableStream | undefined;
  /** Append every EMF record to this file, one JSON line each (metricsFileOf(dataDir)). @default in memory only */
  metricsFile?: string | undefined;
}

type Record_ = Record<string, unknown>;

export class TelemetrySink {
  public readonly logs: Record_[] = [];
  public readonly emf: Record_[] = [];
  /**
   * Why the metrics file could not be written, once that happened: records are kept in memory only
   * from then on. A full disk must not fail the handlers (their metrics middleware prints through here).
   */
  public metricsFileError: Error | undefined;
  private readonly console: Console;

  public constructor(private readonly options: TelemetrySinkOptions = {}) {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.collect(chunk.toString('utf8'));
        callback();
      },
    });
    this.console = new Console({ stdout: stream, stderr: stream });
  }

  /** Points a Powertools Logger and Metrics at this sink (their output console is internal to them). */
  public attach(logger: Logger, metrics: Metrics): void {
    Object.assign(logger as unknown as { console: Console }, { console: this.console });
    Object.assign(metrics as unknown as { console: Console }, { console: this.console });
  }

  /** Every value recorded for a metric name, in order. */
  public metricValues(name: string): number[] {
    return this.emf.flatMap((record) => {
      const value = record[name];
      if (value === undefined) return [];
      return (Array.isArray(value) ? value : [value]).map(Number);
    });
  }

  private persist(record: Record_): void {
    const file = this.options.metricsFile;
    if (file === undefined || this.metricsFileError) return;
    try {
      appendMetricRecord(file, record);
    } catch (error) {
      this.metricsFileError = error as Error;
    }
  }

  private collect(text: string): void {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let record: Record_;
      try {
        record = JSON.parse(line) as Record_;
      } catch {
        record = { message: line };
      }
      if ('_aws' in record) {
        this.emf.push(record);
        this.persist(record);
      } else {
        this.logs.push(record);
        this.options.forwardLogsTo?.write(`${line}\n`);
      }
    }
  }
}
