/**
 * The checkpoint benchmarks of issue 3 that do not need resume: restore and rollback latency
 * against history length, the write overhead of a checkpoint per agent step, and bytes and
 * estimated cost per checkpoint. Everything runs against the real CheckpointManager and one
 * DynamoDB Local.
 *
 * @example
 * ```ts
 * const results = await runCheckpointBench(db, FULL_CONFIG);
 * process.stdout.write(renderReport(results));
 * ```
 */
import { CheckpointManager } from '../functions/recovery/checkpoint-manager.ts';
import { type DynamoDbLocal, LOCAL_TABLE_NAME } from '../local/dynamodb-local.ts';
import { type CostResults, measureCosts } from './cost.ts';
import { agentStepState } from './fixtures.ts';
import { type HistoryLatency, type HistoryTask, measureHistoryLatency } from './latency.ts';
import { MeteredClient } from './metered-client.ts';
import { BENCH_TEAM, populate } from './populate.ts';
import { type QueryTiming, diagnoseNewestFirstQuery } from './query-diagnosis.ts';
import { Progress } from './progress.ts';
import { seededRandom } from './random.ts';
import { type SaveSamples, type SaveVariant, measureSaves } from './write-overhead.ts';


export interface BenchConfig {
  /** History lengths (checkpoints per task) to compare; the first and last are put in ratio. */
  histories: readonly number[];
  /** Timed restores per history length. */
  restores: number;
  /** Timed rollbacks per history length. */
  rollbacks: number;
  /** Timed raw newest-first queries per history length and key condition. */
  queries: number;
  /** Timed saves per kind of save. */
  saves: number;
  /** Untimed measurements of each kind before the timed ones. */
  warmup: number;
  /** Saves in flight while populating. */
  concurrency: number;
  seed: number;
  /** JSON size of a typical agent step's state. */
  stepStateBytes: number;
  /** JSON size of a large state (above the 16 KiB gzip threshold). */
  largeStateBytes: number;
}

export const FULL_CONFIG: BenchConfig = {
  histories: [1, 100, 10_000],
  restores: 200,
  rollbacks: 100,
  queries: 100,
  saves: 200,
  warmup: 10,
  concurrency: 16,
  seed: 20_240_603,
  stepStateBytes: 1024,
  largeStateBytes: 64 * 1024,
};

/** A smoke run in seconds; its numbers say nothing about flatness at 10,000 checkpoints. */
export const QUICK_CONFIG: BenchConfig = { ...FULL_CONFIG, histories: [1, 10, 100], restores: 40, rollbacks: 20, queries: 20, saves: 40, warmup: 3 };

export interface BenchResults {
  config: BenchConfig;
  populate: { checkpoints: number; seconds: number };
  latency: HistoryLatency[];
  queries: QueryTiming[];
  saves: SaveSamples[];
  costs: CostResults;
}

export async function runCheckpointBench(db: DynamoDbLocal, config: BenchConfig): Promise<BenchResults> {
  const client = db.documentClient();
  const checkpoints = new CheckpointManager({ team: BENCH_TEAM, client, tableName: LOCAL_TABLE_NAME });
  const random = seededRandom(config.seed);
  const stepState = agentStepState(config.stepStateBytes, random);
  const largeState = agentStepState(config.largeStateBytes, random);

  const tasks: HistoryTask[] = [];
  for (const history of config.histories) {
    const taskId = `bench-history-${history}`;
    tasks.push({ taskId, history, epoch: await checkpoints.begin(taskId) });
  }
  const total = config.histories.reduce((sum, history) => sum + history, 0);
  const progress = new Progress('populating checkpoints', total);
  const populateStart = performance.now();
  for (const task of tasks) {
    await populate(checkpoints, task, task.history, { concurrency: config.concurrency, state: stepState, onSaved: () => { progress.add(1); } });
  }
  progress.done();
  const populateSeconds = (performance.now() - populateStart) / 1000;

  log(`measuring restore and rollback: ${tasks.length * (config.restores + config.rollbacks)} timed, in random order`);
  const latency = await measureHistoryLatency({
    checkpoints,
    client,
    tableName: LOCAL_TABLE_NAME,
    tasks,
    restores: config.restores,
    rollbacks: config.rollbacks,
    warmup: config.warmup,
    random,
    state: stepState,
  });

  log(`timing the newest-first query alone: ${tasks.length * 2 * config.queries} timed, in random order`);
  const queries = await diagnoseNewestFirstQuery({ client, tableName: LOCAL_TABLE_NAME, tasks, iterations: config.queries, random });

  const variants: SaveVariant[] = [
    { name: `step ${kb(config.stepStateBytes)} (fenced, stepKey)`, taskId: 'bench-save-step', epoch: await checkpoints.begin('bench-save-step'), state: stepState },
    { name: `plain ${kb(config.stepStateBytes)} (no epoch, no stepKey)`, taskId: 'bench-save-plain', state: stepState },
    { name: `step ${kb(config.largeStateBytes)} (fenced, stepKey, gzip)`, taskId: 'bench-save-large', epoch: await checkpoints.begin('bench-save-large'), state: largeState },
  ];
  log(`measuring save(): ${variants.length * config.saves} timed, in random order`);
  const saves = await measureSaves(checkpoints, variants, { iterations: config.saves, warmup: config.warmup, random });

  log('counting bytes and request units per checkpoint');
  const metered = MeteredClient.connect(db.endpoint);
  try {
    const [typical] = variants;
    if (!typical) throw new Error('no save variant');
    const costs = await measureCosts({ metered, client, tableName: LOCAL_TABLE_NAME, variants, operationsOn: typical });
    return { config, populate: { checkpoints: total, seconds: populateSeconds }, latency, queries, saves, costs };
  } finally {
    metered.destroy();
  }
}

function kb(bytes: number): string {
  return `${Math.round(bytes / 1024)} KB`;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
