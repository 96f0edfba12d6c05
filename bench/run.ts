/**
 * `npm run bench`: starts DynamoDB Local in memory, runs the checkpoint benchmarks and then the
 * recovery trials against the same database, prints the results as Markdown on stdout (progress
 * goes to stderr) and stops DynamoDB Local, also on error or Ctrl-C. Exits 0 when the run
 * completes, whether or not the targets are met (it is a measurement; the verdicts are in the
 * output); 1 when the benchmark itself fails.
 *
 * Usage: `npm run bench [-- --quick] [-- --seed N] [-- --recovery-trials N]`
 * (`--recovery-trials 0` skips the recovery trials).
 */
import { parseArgs } from 'node:util';
import { DynamoDbLocal } from '../local/dynamodb-local.ts';
import { type BenchConfig, FULL_CONFIG, QUICK_CONFIG, runCheckpointBench } from './checkpoint-bench.ts';
import { RECOVERY_TRIALS, type RecoveryConfig, runRecoveryBench } from './recovery.ts';
import { renderReport } from './report.ts';

let interrupted = false;

interface Settings {
  bench: BenchConfig;
  recovery: RecoveryConfig;
}

function config(): Settings {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, seed: { type: 'string' }, 'recovery-trials': { type: 'string' } },
    strict: true,
  });
  const base = values.quick ? QUICK_CONFIG : FULL_CONFIG;
  const seed = values.seed === undefined ? base.seed : integerOption('--seed', values.seed);
  const trials = values['recovery-trials'] === undefined ? RECOVERY_TRIALS[values.quick ? 'quick' : 'full'] : integerOption('--recovery-trials', values['recovery-trials']);
  if (trials < 0) throw new Error(`--recovery-trials must be 0 or more, got ${trials}`);
  return { bench: { ...base, seed }, recovery: { trials, seed } };
}

function integerOption(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number)) throw new Error(`${name} must be an integer, got ${value}`);
  return number;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const settings = config();
  // As bin/legion.js does: the SDK's Node 20 deprecation notice is noise in a measurement's output.
  // eslint-disable-next-line no-restricted-properties -- a process-level switch read by the AWS SDK, not Legion configuration
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.stderr.write('starting DynamoDB Local (in memory)\n');
  const db = await DynamoDbLocal.start();
  const interrupt = () => {
    interrupted = true;
    process.stderr.write('interrupted: stopping DynamoDB Local\n');
    void db.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const results = await runCheckpointBench(db, settings.bench);
    const recovery = settings.recovery.trials > 0 ? await runRecoveryBench(db, settings.recovery) : undefined;
    process.stdout.write(renderReport({ ...results, recovery }, { wallSeconds: (performance.now() - startedAt) / 1000 }));
  } finally {
    await db.stop();
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

main().catch((error: unknown) => {
  // A request cut off by the interrupt fails on its way out: not worth a stack trace.
  if (interrupted) return;
  process.stderr.write(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
