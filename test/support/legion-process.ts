/**
 * Test support: a real `legion` CLI child process, awaited without blocking, so that several can
 * run side by side.
 *
 * By default the child uses the test run's DynamoDB Local (`LEGION_DYNAMODB_ENDPOINT`, the
 * documented way to reach a DynamoDB that is already running) instead of starting its own: that
 * start is about 3 s of Java per process. Each data folder gets its own table, so that runs, resumes
 * and listings of one test never see another's; a command without `--data-dir` gets a fresh table,
 * as an in-memory DynamoDB Local would be. Tests of the data folder itself (its lock, its files, a
 * DynamoDB Local killed with its process) pass `ownDatabase: true`.
 *
 * @example
 * ```ts
 * const outcome = await legionProcess(['run', 'pipeline', '--json'], { timeoutMs: 120_000 });
 * outcome.status; // the exit code
 * ```
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { inject } from 'vitest';

export interface CliOutcome {
  /** The exit code; null when the process was killed (signal). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface LegionProcessOptions {
  timeoutMs: number;
  /** Start the CLI's own DynamoDB Local, as a user's first command does. @default false: the test run's */
  ownDatabase?: boolean;
  /** Text on the child's stdin. @default none */
  input?: string;
  /** Variables to set (a string) or remove (undefined) in the child's environment. @default none */
  env?: Record<string, string | undefined>;
}

/** The environment of a child: the shared DynamoDB Local and the table of the command's data folder. */
export function legionEnvironment(args: readonly string[], ownDatabase = false): NodeJS.ProcessEnv {
  if (ownDatabase) return process.env;
  return { ...process.env, LEGION_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'), LEGION_TABLE_NAME: tableFor(args) };
}

function tableFor(args: readonly string[]): string {
  const flag = args.indexOf('--data-dir');
  const dataDir = flag >= 0 ? args[flag + 1] : undefined;
  return dataDir === undefined ? tableNamed(randomUUID()) : tableOfDataFolder(dataDir);
}

/** The table the children of a data folder use on the test run's DynamoDB Local. */
export function tableOfDataFolder(dataDir: string): string {
  return tableNamed(resolve(dataDir));
}

function tableNamed(seed: string): string {
  return `legion-test-${createHash('sha256').update(seed).digest('hex').slice(0, 20)}`;
}

export function legionProcess(args: readonly string[], options: LegionProcessOptions): Promise<CliOutcome> {
  return new Promise((resolvePromise, reject) => {
    const env = Object.fromEntries(Object.entries({ ...legionEnvironment(args, options.ownDatabase), ...options.env }).filter(([, value]) => value !== undefined));
    const child = spawn(process.execPath, ['bin/legion.js', ...args], { timeout: options.timeoutMs, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.stdin.end(options.input ?? '');
    child.on('close', (status, signal) => {
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

/** The same child, run to its end while the test waits (for tests whose steps must follow one another). */
export function legionSync(args: readonly string[], options: LegionProcessOptions): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['bin/legion.js', ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs,
    input: options.input ?? '',
    env: legionEnvironment(args, options.ownDatabase),
  });
}
