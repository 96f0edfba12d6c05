/**
 * Renders benchmark results as Markdown tables (readable on a terminal, pasteable into
 * docs/benchmarks.md), with a PASS/FAIL verdict per target of issue 3.
 *
 * @example
 * ```ts
 * process.stdout.write(renderReport(results, { wallSeconds: 95 }));
 * ```
 */
import { availableParallelism } from 'node:os';
import type { BenchResults } from './checkpoint-bench.ts';
import { ON_DEMAND_PRICE } from './cost-model.ts';
import { FAULT_KINDS, type RecoveryResults, type TrialOutcome } from './recovery.ts';
import { type Summary, summarize } from './stats.ts';

export const TARGETS = {
  restoreP99Ms: 50,
  rollbackP99Ms: 100,
  /** Largest history vs smallest. */
  flatRatio: 1.5,
  /** "Far below one cent": a hundredth of a cent. */
  checkpointUsd: 0.0001,
  /** Share of randomised faults recovered: issue 3 asks for all of them. */
  recoverySuccess: 1,
  /** The bar commonly cited for production, shown for comparison. */
  recoveryCommonBar: 0.99,
} as const;

/** How many failed trials the report lists. */
const LISTED_FAILURES = 10;

/** Everything one `npm run bench` measured; `recovery` is absent when the recovery trials did not run. */
export type ReportResults = BenchResults & { recovery?: RecoveryResults | undefined };

export interface Verdict {
  target: string;
  measured: string;
  pass: boolean;
}

export interface ReportContext {
  /** Wall time of the whole run, DynamoDB Local start-up included. */
  wallSeconds: number;
}

export function renderReport(results: ReportResults, context: ReportContext): string {
  const sections = [
    header(results, context),
    latencyTable(results),
    ratioTable(results),
    queryTable(results),
    saveTable(results),
    costTable(results),
    operationCostTable(results),
    ...(results.recovery ? [recoverySection(results.recovery)] : []),
    verdictTable(verdicts(results)),
    priceNote(),
  ];
  return `${sections.join('\n\n')}\n`;
}

export function verdicts(results: ReportResults): Verdict[] {
  const rows = latencyRows(results);
  const worst = (operation: 'restore' | 'rollback') =>
    rows.filter((row) => row.operation === operation).reduce((a, b) => (b.summary.p99 > a.summary.p99 ? b : a));
  const restore = worst('restore');
  const rollback = worst('rollback');
  const list: Verdict[] = [
    { target: `restore p99 < ${TARGETS.restoreP99Ms} ms (every history)`, measured: `${ms(restore.summary.p99)} ms worst (history ${count(restore.history)})`, pass: restore.summary.p99 < TARGETS.restoreP99Ms },
    { target: `rollback p99 < ${TARGETS.rollbackP99Ms} ms (every history)`, measured: `${ms(rollback.summary.p99)} ms worst (history ${count(rollback.history)})`, pass: rollback.summary.p99 < TARGETS.rollbackP99Ms },
  ];
  const [smallest, largest] = historyBounds(results);
  for (const { operation, statistic, value } of ratios(results)) {
    list.push({
      target: `${operation} ${statistic} flat: ${count(largest)} vs ${count(smallest)} <= ${TARGETS.flatRatio}x`,
      measured: `${value.toFixed(2)}x`,
      pass: value <= TARGETS.flatRatio,
    });
  }
  const typical = results.costs.saves[0];
  if (typical) {
    const usd = typical.requestUsd + typical.storageUsd;
    list.push({ target: `cost per checkpoint far below 1 cent (< $${TARGETS.checkpointUsd})`, measured: `$${usdText(usd)} (${typical.variant})`, pass: usd < TARGETS.checkpointUsd });
  }
  if (results.recovery) list.push(recoveryVerdict(results.recovery.trials, TARGETS.recoverySuccess));
  return list;
}

function recoveryVerdict(trials: readonly TrialOutcome[], bar: number): Verdict {
  const recovered = trials.filter((trial) => trial.success).length;
  return {
    target: `recovery success ${bar * 100} % over ${count(trials.length)} randomised faults`,
    measured: `${percent(recovered, trials.length)} % (${count(recovered)} / ${count(trials.length)})`,
    pass: trials.length > 0 && recovered / trials.length >= bar,
  };
}

interface LatencyRow {
  operation: 'restore' | 'rollback';
  history: number;
  summary: Summary;
}

function latencyRows(results: BenchResults): LatencyRow[] {
  const rows: LatencyRow[] = [];
  for (const operation of ['restore', 'rollback'] as const) {
    for (const entry of results.latency) {
      rows.push({ operation, history: entry.history, summary: summarize(operation === 'restore' ? entry.restoreMs : entry.rollbackMs) });
    }
  }
  return rows;
}

function historyBounds(results: BenchResults): [number, number] {
  const histories = results.latency.map((entry) => entry.history);
  return [Math.min(...histories), Math.max(...histories)];
}

function ratios(results: BenchResults): { operation: string; statistic: 'median' | 'p99'; value: number }[] {
  const [smallest, largest] = historyBounds(results);
  const rows = latencyRows(results);
  const find = (operation: string, history: number) => rows.find((row) => row.operation === operation && row.history === history)?.summary;
  const list: { operation: string; statistic: 'median' | 'p99'; value: number }[] = [];
  for (const operation of ['restore', 'rollback'] as const) {
    const small = find(operation, smallest);
    const large = find(operation, largest);
    if (!small || !large) continue;
    list.push({ operation, statistic: 'median', value: large.median / small.median });
    list.push({ operation, statistic: 'p99', value: large.p99 / small.p99 });
  }
  return list;
}

function header(results: BenchResults, context: ReportContext): string {
  const { config, populate } = results;
  return [
    '# Checkpoint benchmarks',
    '',
    `Node ${process.version}, ${availableParallelism()} cores, DynamoDB Local in memory; seed ${config.seed}.`,
    `Populated ${count(populate.checkpoints)} checkpoints (${Math.round(config.stepStateBytes / 1024)} KB states, ${config.concurrency} saves in flight) in ${populate.seconds.toFixed(1)} s; whole run ${context.wallSeconds.toFixed(1)} s.`,
  ].join('\n');
}

function latencyTable(results: BenchResults): string {
  return table(
    '## Restore and rollback latency',
    ['operation', 'history', 'samples', 'median ms', 'p99 ms', 'max ms'],
    latencyRows(results).map((row) => [row.operation, count(row.history), String(row.summary.count), ms(row.summary.median), ms(row.summary.p99), ms(row.summary.max)]),
  );
}

function ratioTable(results: BenchResults): string {
  const [smallest, largest] = historyBounds(results);
  return table(
    `## Ratio ${count(largest)} vs ${count(smallest)} checkpoints`,
    ['operation', 'statistic', 'ratio'],
    ratios(results).map((row) => [row.operation, row.statistic, `${row.value.toFixed(2)}x`]),
  );
}

function queryTable(results: BenchResults): string {
  const [smallest, largest] = historyBounds(results);
  const histories = [...new Set(results.queries.map((timing) => timing.history))].sort((a, b) => a - b);
  const median = (keyCondition: string, history: number) => {
    const timing = results.queries.find((entry) => entry.keyCondition === keyCondition && entry.history === history);
    return timing ? summarize(timing.queryMs).median : Number.NaN;
  };
  return table(
    '## Where it goes: the newest-first Query alone (Limit 4, descending), median ms',
    ['key condition', ...histories.map((history) => `history ${count(history)}`), `${count(largest)} vs ${count(smallest)}`],
    [
      ['begins_with(sk, :prefix) (before the fix)', 'begins_with'],
      ['sk BETWEEN :first AND :last (same items)', 'between'],
    ].map(([label = '', keyCondition = '']) => [
      label,
      ...histories.map((history) => ms(median(keyCondition, history))),
      `${(median(keyCondition, largest) / median(keyCondition, smallest)).toFixed(2)}x`,
    ]),
  );
}

function saveTable(results: BenchResults): string {
  return table(
    '## Checkpoint write overhead per agent step (time of save(); the same step without a checkpoint does not call it)',
    ['save', 'samples', 'median ms', 'p99 ms', 'max ms'],
    results.saves.map(({ variant, saveMs }) => {
      const summary = summarize(saveMs);
      return [variant.name, String(summary.count), ms(summary.median), ms(summary.p99), ms(summary.max)];
    }),
  );
}

function costTable(results: BenchResults): string {
  return table(
    '## Bytes and estimated on-demand cost per checkpoint',
    ['checkpoint', 'state JSON B', 'encoding', 'storedBytes', 'item B (DynamoDB count)', 'head B', 'marker B', 'bytes written', 'WRU (rules)', 'WRU / RRU (DynamoDB Local)', 'USD per checkpoint', 'USD per million'],
    results.costs.saves.map((save) => {
      const usd = save.requestUsd + save.storageUsd;
      return [
        save.variant,
        count(save.stateJsonBytes),
        save.encoding,
        count(save.storedBytes),
        count(save.checkpointItemBytes),
        count(save.headItemBytes),
        save.markerItemBytes === undefined ? '-' : count(save.markerItemBytes),
        count(save.bytesWritten),
        String(save.writeUnits),
        `${save.measured.writeUnits} / ${save.measured.readUnits}`,
        `$${usdText(usd)}`,
        `$${(usd * 1e6).toFixed(2)}`,
      ];
    }),
  );
}

function operationCostTable(results: BenchResults): string {
  return table(
    '## Request units of a restore and a rollback (DynamoDB Local, 1 KB states)',
    ['operation', 'requests', 'RRU', 'WRU', 'USD', 'USD per million'],
    results.costs.operations.map((operation) => [
      operation.operation,
      String(operation.measured.requests),
      String(operation.measured.readUnits),
      String(operation.measured.writeUnits),
      `$${usdText(operation.requestUsd)}`,
      `$${(operation.requestUsd * 1e6).toFixed(2)}`,
    ]),
  );
}

function recoverySection(recovery: RecoveryResults): string {
  const { trials, config } = recovery;
  const target = recoveryVerdict(trials, TARGETS.recoverySuccess);
  const common = recoveryVerdict(trials, TARGETS.recoveryCommonBar);
  return [
    '## Recovery after faults',
    '',
    `${count(trials.length)} randomised faults (seed ${config.seed}) on team ${recovery.team} (requests: ${recovery.inputs.join(', ')}), in this process against one DynamoDB Local, in ${recovery.seconds.toFixed(1)} s.`,
    'Recovered: final status SUCCEEDED, output deep-equal to an uninterrupted run, each step exactly one valid checkpoint, and model calls only for the steps without a valid result.',
    'Recovery time: the resume (with the rollback or the re-run it needed), or the whole run when the state machine recovered inside it.',
    '',
    recoveryKindTable(trials),
    '',
    recoveryPathTable(trials),
    '',
    failureList(trials),
    '',
    `Target (issue 3): ${target.target}: ${target.measured}, **${target.pass ? 'PASS' : 'FAIL'}**. Against the ${TARGETS.recoveryCommonBar * 100} % bar commonly cited for production: ${common.pass ? 'PASS' : 'FAIL'}.`,
  ].join('\n');
}

function recoveryKindTable(trials: readonly TrialOutcome[]): string {
  const row = (label: string, group: readonly TrialOutcome[]): string[] => {
    const recovered = group.filter((trial) => trial.success).length;
    const times = group.map((trial) => trial.recoveryMs).filter((ms) => Number.isFinite(ms));
    const summary = times.length > 0 ? summarize(times) : undefined;
    const time = (value: number | undefined) => (value === undefined ? '-' : ms(value));
    return [label, count(group.length), count(recovered), `${percent(recovered, group.length)} %`, time(summary?.median), time(summary?.p99), time(summary?.max)];
  };
  const rows = FAULT_KINDS.map((kind) => row(kind, trials.filter((trial) => trial.kind === kind))).filter((cells) => cells[1] !== '0');
  return table('### Success rate and recovery time per fault kind', ['fault', 'trials', 'recovered', 'success rate', 'median ms', 'p99 ms', 'max ms'], [...rows, row('all', trials)]);
}

function recoveryPathTable(trials: readonly TrialOutcome[]): string {
  const groups = new Map<string, TrialOutcome[]>();
  for (const trial of trials) {
    const key = `${trial.kind}\u0000${trial.path}`;
    groups.set(key, [...(groups.get(key) ?? []), trial]);
  }
  const rows = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, group]) => {
      const [kind = '', path = ''] = key.split('\u0000');
      return [kind, path, count(group.length), count(group.filter((trial) => trial.success).length)];
    });
  return table('### How each fault was recovered', ['fault', 'recovery', 'trials', 'recovered'], rows);
}

function failureList(trials: readonly TrialOutcome[]): string {
  const failed = trials.filter((trial) => !trial.success);
  if (failed.length === 0) return '### Failures\n\nNone.';
  const shown = failed.slice(0, LISTED_FAILURES);
  return [
    `### Failures (${shown.length} of ${count(failed.length)} shown)`,
    '',
    ...shown.map((trial) => `- trial ${trial.index}, ${trial.kind}, ${trial.input}, ${trial.point} (${trial.path}): ${trial.reason ?? 'no reason recorded'}`),
  ].join('\n');
}

function verdictTable(list: readonly Verdict[]): string {
  return table('## Targets (issue 3)', ['target', 'measured', 'verdict'], list.map((verdict) => [verdict.target, verdict.measured, verdict.pass ? 'PASS' : 'FAIL']));
}

function priceNote(): string {
  const price = ON_DEMAND_PRICE;
  return [
    `Cost is an estimate: on-demand ${price.tableClass} table class in ${price.region}, $${price.usdPerMillionWriteUnits} per million write request units,`,
    `$${price.usdPerMillionReadUnits} per million read request units, $${price.usdPerGbMonth} per GB-month (${price.source}); free tier, savings plans and other regions not considered.`,
    'WRU (rules): UpdateItem on the head + PutItem, or + a 2-item TransactWriteItems (2 WRU per started KB per item) with a stepKey, from storedBytes (which counts a flat 1 KB for the attributes).',
    'USD per checkpoint: those WRU plus the read units of the step-marker lookup, plus storage of the bytes written for the 7-day retention.',
    'Latency: one run, wall-clock performance.now() around each call; medians and nearest-rank p99. These machines are shared and noisy.',
  ].join('\n');
}

function table(title: string, headings: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headings.map((heading, column) => Math.max(heading.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [title, '', line(headings), rule, ...rows.map(line)].join('\n');
}

/** A share as a percentage with one decimal, never rounded up to 100 when something failed. */
function percent(part: number, whole = 1): string {
  if (whole === 0) return '-';
  // The epsilon keeps float noise (e.g. 56.99999) from flooring a whole tenth away.
  return (Math.floor((part / whole) * 1000 + 1e-9) / 10).toFixed(1);
}

function ms(value: number): string {
  return value.toFixed(2);
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function usdText(value: number): string {
  return value.toFixed(10).replace(/0+$/, '');
}
