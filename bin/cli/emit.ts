/**
 * `legion emit <file.json>`: puts events on the local event bus, so that a run starts the way AWS
 * starts it (a `RunRequested` event matched by its pattern's rule), and prints what each event
 * matched, the runs it started (or the duplicates it did not) and the outcome events published.
 *
 * The file holds one event or an array of them, each either a PutEvents entry (`Source`,
 * `DetailType`, `Detail` as an object or JSON text, optional `EventBusName`) or an event
 * (`source`, `detail-type`, `detail`). Everything is validated before the runtime starts: a bad
 * file exits 2 and names the entry and field at fault.
 *
 * @example
 * ```sh
 * legion emit examples/run-requested.json --data-dir .legion --json
 * ```
 */
import { readFile } from 'node:fs/promises';
import { PATTERN_NAMES, type PatternName } from '../../functions/core/contract.ts';
import { UsageError, describeIssues } from '../../functions/core/errors.ts';
import { DETAIL_TYPES, LEGION_EVENT_SOURCE, OUTCOME_DETAIL_TYPES, type PutEventsEntry, RunRequestedDetailSchema } from '../../functions/core/events.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type BusEvent, type Delivery, MAX_ENTRIES_PER_PUT, validatePutEventsEntry } from '../../local/local-event-bus.ts';
import type { TriggeredRun } from '../../local/local-event-triggers.ts';
import type { CliIo } from './cli-io.ts';
import { type ModelOptions, commandModel } from './model-options.ts';
import { createProgressReporter } from './progress.ts';
import { withLocalRuntime } from './runtime-session.ts';
import { escapingStream, writeSafely } from './terminal-text.ts';

export interface EmitOptions extends ModelOptions {
  dataDir?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** What one emitted event did. */
export interface EmittedEvent {
  index: number;
  eventId: string;
  source: string;
  detailType: string;
  matchedRules: string[];
  /** No rule matched: in AWS the event would be dropped. */
  undeliverable: boolean;
  deliveries: Pick<Delivery, 'rule' | 'target' | 'status' | 'error'>[];
  runs: { taskId: string; team: string; pattern: string; status: TriggeredRun['status']; runStatus?: string; durationMs?: number; error?: string }[];
}

export interface EmitReport {
  events: EmittedEvent[];
  /** The RunSucceeded / RunFailed / RunEscalated events published on the bus. */
  outcomes: BusEvent[];
}

/** The name of the one local bus; an entry naming another bus (e.g. the deployed one) is put here too. */
const LOCAL_BUS_NAME = 'legion-local';

/**
 * Reads and validates the events of a file, as PutEvents entries.
 *
 * @throws {UsageError} naming the file, the entry and the problem
 */
export async function readEventsFile(path: string): Promise<PutEventsEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) throw new UsageError(`${path} holds no event (an empty array)`);
  return items.map((item, index) => {
    const where = items.length === 1 ? path : `${path} event ${index + 1}`;
    const entry = toEntry(item, where);
    const problems = [...validatePutEventsEntry(entry, { name: LOCAL_BUS_NAME, arn: LOCAL_BUS_NAME }), ...runRequestProblems(entry)];
    if (problems.length > 0) throw new UsageError(`${where} is not a valid event:\n  - ${problems.join('\n  - ')}`);
    return entry;
  });
}

/** Accepts PutEvents casing (`Source`, `DetailType`, `Detail`) and the event shape (`source`, `detail-type`, `detail`). */
function toEntry(item: unknown, where: string): PutEventsEntry {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new UsageError(`${where} is not a valid event: must be a JSON object`);
  const record = item as Record<string, unknown>;
  const pick = (...keys: string[]): unknown => keys.map((key) => record[key]).find((value) => value !== undefined);
  const detail = pick('Detail', 'detail');
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    Source: text(pick('Source', 'source')),
    DetailType: text(pick('DetailType', 'detail-type', 'detailType')),
    Detail: detail === undefined ? '' : typeof detail === 'string' ? detail : JSON.stringify(detail),
    // There is one local bus: an entry written for the deployed bus goes to it as well.
    EventBusName: LOCAL_BUS_NAME,
  };
}

/** A RunRequested event for a known pattern must carry a detail start-run accepts and an input the pattern accepts. */
function runRequestProblems(entry: PutEventsEntry): string[] {
  if (entry.Source !== LEGION_EVENT_SOURCE || entry.DetailType !== DETAIL_TYPES.runRequested) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.Detail);
  } catch {
    // validatePutEventsEntry reports it ("Detail: not valid JSON"): nothing more to say here.
    return [];
  }
  const detail = RunRequestedDetailSchema.safeParse(parsed);
  if (!detail.success) return describeIssues(detail.error.issues).map((problem) => `Detail.${problem}`);
  // An unknown pattern is not an error of the file: no rule matches it, which the report shows.
  if (!(PATTERN_NAMES as readonly string[]).includes(detail.data.pattern)) return [];
  const input = PATTERNS[detail.data.pattern as PatternName].inputSchema.safeParse(detail.data.input);
  return input.success ? [] : describeIssues(input.error.issues).map((problem) => `Detail.input.${problem}`);
}

/** Runs `legion emit`; returns the exit code. */
export async function emitCommand(file: string, options: EmitOptions, io: CliIo): Promise<number> {
  const entries = await readEventsFile(file);
  const model = await commandModel(options, io);
  const progress = createProgressReporter(io.stderr, options.quiet === true || options.verbose === true);
  const report = await withLocalRuntime(
    io,
    // watchAlarms: the runs the events started may move alarms (told on stderr, put on the bus).
    { dataDir: options.dataDir, logStream: options.verbose ? escapingStream(io.stderr) : undefined, watchAlarms: true, progress, ...(model ? { model } : {}) },
    async (runtime): Promise<EmitReport> => {
      const { LocalEventTriggers } = await import('../../local/local-event-triggers.ts');
      // The runtime's own bus: the runs events start (an auction's announcements and bids) use it too.
      const bus = runtime.eventBus;
      const triggers = await LocalEventTriggers.install({ runtime, bus, onProgress: (event) => { progress.update(event); } });
      progress.start(`Putting ${entries.length} event(s) on the local bus`);
      const events: EmittedEvent[] = [];
      for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_PUT) {
        const result = await bus.putEvents(entries.slice(start, start + MAX_ENTRIES_PER_PUT));
        result.entries.forEach((entry, offset) => {
          const event = entry.event;
          if (!event) throw new UsageError(`event ${start + offset + 1}: ${entry.errorMessage ?? 'refused'}`);
          events.push({
            index: start + offset + 1,
            eventId: event.id,
            source: event.source,
            detailType: event['detail-type'],
            matchedRules: entry.matchedRules,
            undeliverable: entry.matchedRules.length === 0,
            deliveries: entry.deliveries.map(({ rule, target, status, error }) => ({ rule, target, status, ...(error ? { error } : {}) })),
            runs: triggers.runs.filter((run) => run.eventId === event.id).map(summarizeRun),
          });
        });
      }
      const outcomes = bus.events.filter((event) => event.source === LEGION_EVENT_SOURCE && (OUTCOME_DETAIL_TYPES as readonly string[]).includes(event['detail-type']));
      return { events, outcomes };
    },
  );
  printReport(report, options.json === true, io);
  return exitCodeOf(report);
}

function summarizeRun(run: TriggeredRun): EmittedEvent['runs'][number] {
  const { result } = run;
  return {
    taskId: run.taskId,
    team: run.team,
    pattern: run.pattern,
    status: run.status,
    ...(result ? { runStatus: result.status, durationMs: result.durationMs } : {}),
    ...(result?.error ? { error: `${result.error.error}: ${result.error.cause}` } : {}),
  };
}

/** 0 when every event reached a rule, every delivery worked and every run started succeeded (a duplicate is fine). */
function exitCodeOf(report: EmitReport): number {
  const ok = report.events.every(
    (event) =>
      !event.undeliverable &&
      event.deliveries.every((delivery) => delivery.status === 'DELIVERED') &&
      event.runs.every((run) => run.status === 'DUPLICATE' || run.runStatus === 'SUCCEEDED'),
  );
  return ok ? 0 : 1;
}

function printReport(report: EmitReport, json: boolean, io: CliIo): void {
  if (json) {
    writeSafely(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  for (const event of report.events) {
    const matched = event.undeliverable ? 'matched no rule (undeliverable: AWS would drop it)' : `matched ${event.matchedRules.join(', ')}`;
    lines.push(`Event ${event.index} ${event.detailType} from ${event.source} (${event.eventId}): ${matched}`);
    for (const delivery of event.deliveries) {
      if (delivery.status === 'FAILED') lines.push(`  delivery to ${delivery.target} failed: ${delivery.error ?? 'unknown error'}`);
    }
    for (const run of event.runs) {
      lines.push(
        run.status === 'DUPLICATE'
          ? `  duplicate: task ${run.taskId} already exists; no second run started`
          : `  run of ${run.team} (${run.pattern}), task ${run.taskId}: ${run.runStatus ?? '?'} in ${run.durationMs ?? 0} ms${run.error ? ` · ${run.error}` : ''}`,
      );
    }
  }
  for (const outcome of report.outcomes) {
    const detail = outcome.detail as { taskId?: string; summary?: string };
    lines.push(`Published ${outcome['detail-type']} for task ${detail.taskId ?? '?'}: ${detail.summary ?? ''}`);
  }
  writeSafely(io.stdout, `${lines.join('\n')}\n`);
}
