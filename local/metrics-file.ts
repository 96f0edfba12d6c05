/**
 * CloudWatch's metric store in a data folder: every EMF record the handlers print (the JSON line
 * CloudWatch Logs would turn into datapoints) is appended as one line to `<dataDir>/metrics.jsonl`,
 * with its `_aws.Timestamp`. One `appendFileSync` per record, so the runs of several processes on
 * one folder add up, and a crash loses at most the record being written. `legion alarms` and the
 * alarm check after each command read them back (local/local-alarms.ts).
 *
 * @example
 * ```ts
 * appendMetricRecord(metricsFileOf('.legion'), record);
 * const records = readMetricRecords(metricsFileOf('.legion')); // oldest first
 * ```
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An EMF record as Powertools Metrics prints it: `_aws` (timestamp, namespace, dimension sets, metric names), then dimension and metric values. */
export type EmfRecord = Record<string, unknown>;

/** The file of a data folder that holds the EMF records. */
export const METRICS_FILE = 'metrics.jsonl';

/** The metrics file of a data folder. */
export function metricsFileOf(dataDir: string): string {
  return join(dataDir, METRICS_FILE);
}

/**
 * Appends one EMF record as one line.
 *
 * @throws {Error} when the file cannot be written (the caller decides whether that matters)
 */
export function appendMetricRecord(file: string, record: EmfRecord): void {
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/**
 * The EMF records of a metrics file, in the order they were written; none when the file does not
 * exist yet (no run has emitted a metric: idle). A line that is not a JSON object with `_aws` (the
 * torn last line of a process killed while writing it) is skipped.
 */
export function readMetricRecords(file: string): EmfRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: EmfRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && '_aws' in parsed) records.push(parsed);
    } catch {
      // A torn line: skipped (see above).
    }
  }
  return records;
}
