/**
 * Starts the local runtime for one CLI command and guarantees it stops: on success, on error, and
 * on Ctrl-C / SIGTERM (DynamoDB Local is a child Java process that must not be left behind).
 *
 * With `watchAlarms` and a data folder (the commands that run agents: run, resume, approve, reject,
 * emit), the alarms are checked once the command's work is done, on the runtime's bus: an alarm that
 * moved into ALARM or back to OK is told on stderr and put on the bus as CloudWatch would (see
 * reportAlarmStateChanges in alarms.ts).
 *
 * With LEGION_DYNAMODB_ENDPOINT set, it uses that DynamoDB instead of starting DynamoDB Local; the
 * data folder then keeps only the metrics and alarm states.
 */
import { UsageError } from '../../functions/core/errors.ts';
import type { LocalRuntime, LocalRuntimeOptions } from '../../local/local-runtime.ts';
import type { CliIo } from './cli-io.ts';
import type { ProgressReporter } from './progress.ts';
import { writeSafely } from './terminal-text.ts';

/** Environment variable: the URL of a DynamoDB (Local) already running, used instead of starting one per command. */
export const ENDPOINT_VARIABLE = 'LEGION_DYNAMODB_ENDPOINT';
/** Environment variable: the checkpoint table on that endpoint (created if missing). */
export const TABLE_VARIABLE = 'LEGION_TABLE_NAME';
/** DynamoDB's own rule for table names. */
const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;

/** Where the CLI's DynamoDB is: one it starts (the default) or one already running. */
export type DatabaseTarget = Pick<LocalRuntimeOptions, 'endpoint' | 'tableName'>;

/**
 * Reads {@link ENDPOINT_VARIABLE} and {@link TABLE_VARIABLE}. A command then skips the start of
 * DynamoDB Local (about 3 s of Java start-up): useful to whoever runs many commands, and to the tests.
 *
 * @example
 * ```ts
 * databaseTargetFrom({ LEGION_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }); // { endpoint: 'http://127.0.0.1:8000' }
 * ```
 * @throws {@link UsageError} when either variable is set to something DynamoDB would not accept
 */
export function databaseTargetFrom(env: NodeJS.ProcessEnv): DatabaseTarget {
  const endpoint = env[ENDPOINT_VARIABLE] || undefined;
  const tableName = env[TABLE_VARIABLE] || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw new UsageError(`${ENDPOINT_VARIABLE} must be an http(s) URL such as http://127.0.0.1:8000, got "${endpoint}"`);
  if (tableName !== undefined && !TABLE_NAME_PATTERN.test(tableName)) throw new UsageError(`${TABLE_VARIABLE} must be 3 to 255 letters, digits, '_', '-' or '.', got "${tableName}"`);
  return { ...(endpoint ? { endpoint } : {}), ...(tableName ? { tableName } : {}) };
}

/** The progress line shown while a command gets its database ready. */
export function describeDatabaseStart(dataDir: string | undefined, target: DatabaseTarget): string {
  if (target.endpoint) return `Connecting to DynamoDB at ${target.endpoint}`;
  return `Starting DynamoDB Local (${dataDir ? `data in ${dataDir}` : 'in memory'})`;
}

export interface SessionOptions extends LocalRuntimeOptions {
  /** Check the alarms of the data folder after the work. @default false */
  watchAlarms?: boolean | undefined;
  /** Told when the database starts (or is connected to), stopped when the command ends or is interrupted. @default none */
  progress?: ProgressReporter | undefined;
}

/**
 * Starts the local runtime on the database `io.env` names (read once here), runs `work` on it and
 * stops it, whatever happens.
 *
 * @example
 * ```ts
 * const checkpoints = await withLocalRuntime(io, { dataDir: '.legion' }, (runtime) => runtime.checkpoints('research-1'));
 * ```
 * @throws {@link UsageError} when the database variables of `io.env` are malformed
 */
export async function withLocalRuntime<T>(io: CliIo, options: SessionOptions, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
  const { watchAlarms = false, progress, ...runtimeOptions } = options;
  const database = databaseTargetFrom(io.env);
  progress?.start(describeDatabaseStart(runtimeOptions.dataDir, database));
  let runtime: LocalRuntime | undefined;
  const interrupt = (signal: NodeJS.Signals): void => {
    progress?.stop();
    io.stderr.write(`\nInterrupted (${signal}); stopping the local runtime.\n`);
    void (runtime?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    // Loaded on demand so that usage errors answer without loading the SDK and the interpreter.
    const { LocalRuntime: Runtime } = await import('../../local/local-runtime.ts');
    runtime = await Runtime.start({ ...database, ...runtimeOptions });
    const result = await work(runtime);
    if (watchAlarms && runtimeOptions.dataDir !== undefined) await checkAlarms(io, runtime, runtimeOptions.dataDir);
    return result;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await runtime?.stop();
    progress?.stop();
  }
}

async function checkAlarms(io: CliIo, runtime: LocalRuntime, dataDir: string): Promise<void> {
  const { metricsFileError } = runtime.telemetry;
  if (metricsFileError) writeSafely(io.stderr, `legion: warning: metrics were not stored in ${dataDir}: ${metricsFileError.message}\n`);
  const { reportAlarmStateChanges } = await import('./alarms.ts');
  await reportAlarmStateChanges(dataDir, runtime.eventBus, io.stderr);
}
