/**
 * The commands that read or change a task's checkpoints: `legion rollback` and `legion checkpoints`.
 */
import { NoValidCheckpointError, UsageError } from '../../functions/core/errors.ts';
import { verifyCheckpoint } from '../../functions/recovery/checkpoint-manager.ts';
import type { CliIo } from './cli-io.ts';
import { requireDataDir } from './data-folder.ts';
import { createProgressReporter } from './progress.ts';
import { withLocalRuntime } from './runtime-session.ts';
import { writeSafely } from './terminal-text.ts';

export interface RollbackCommandOptions {
  dataDir: string;
  to?: string;
  reason: string;
  json?: boolean;
}

export interface CheckpointsOptions {
  dataDir: string;
  json?: boolean;
}

/**
 * Runs `legion rollback`; returns the exit code.
 *
 * @example
 * ```ts
 * await rollbackCommand('research-1', { dataDir: '.legion', reason: 'wrong synthesis' }, processIo());
 * ```
 */
export async function rollbackCommand(taskId: string, options: RollbackCommandOptions, io: CliIo): Promise<number> {
  requireDataDir(options.dataDir);
  const to = options.to === undefined ? undefined : Number(options.to);
  if (to !== undefined && !(Number.isInteger(to) && to > 0)) throw new UsageError(`--to must be a checkpoint sequence number (a positive integer), got "${String(options.to)}"`);
  const outcome = await withLocalRuntime(io, { dataDir: options.dataDir, progress: createProgressReporter(io.stderr) }, async (runtime) => {
    try {
      return await runtime.rollback(taskId, { to, reason: options.reason });
    } catch (error) {
      if (error instanceof NoValidCheckpointError) throw new UsageError(`cannot roll back task ${taskId}: ${error.message}`);
      throw error;
    }
  });
  if (options.json) {
    writeSafely(io.stdout, `${JSON.stringify({ taskId, to: outcome.target.sequence, invalidated: outcome.invalidated }, null, 2)}\n`);
  } else {
    writeSafely(
      io.stdout,
      `Task ${taskId} rolled back to checkpoint ${outcome.target.sequence} (${outcome.target.agent} ${outcome.target.stateName}); invalidated ${outcome.invalidated.join(', ') || 'nothing'}. Resume it with: legion resume ${taskId} --data-dir ${options.dataDir}\n`,
    );
  }
  return 0;
}

/**
 * Runs `legion checkpoints`; returns the exit code.
 *
 * @example
 * ```ts
 * await checkpointsCommand('research-1', { dataDir: '.legion', json: true }, processIo());
 * ```
 */
export async function checkpointsCommand(taskId: string, options: CheckpointsOptions, io: CliIo): Promise<number> {
  requireDataDir(options.dataDir);
  const checkpoints = await withLocalRuntime(io, { dataDir: options.dataDir, progress: createProgressReporter(io.stderr) }, (runtime) => runtime.checkpoints(taskId));
  const rows = checkpoints.map((checkpoint) => ({ ...checkpoint, checksumValid: verifyCheckpoint(checkpoint) }));
  if (options.json) {
    writeSafely(io.stdout, `${JSON.stringify({ taskId, checkpoints: rows }, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    writeSafely(io.stderr, `No checkpoints for task ${taskId} in ${options.dataDir}\n`);
    return 0;
  }
  writeSafely(io.stdout, ['seq', 'createdAt'.padEnd(24), 'agent'.padEnd(20), 'state'.padEnd(12), 'tokens', 'ms', 'checksum', 'status'].join('  ') + '\n');
  for (const row of rows) {
    writeSafely(
      io.stdout,
      [String(row.sequence).padStart(3), row.createdAt.padEnd(24), row.agent.padEnd(20), row.stateName.padEnd(12), String(row.tokens).padStart(6), String(row.durationMs).padStart(2), (row.checksumValid ? 'ok' : 'MISMATCH').padEnd(8), row.valid ? 'valid' : `invalid: ${row.invalidReason ?? 'no reason'}`].join('  ') + '\n',
    );
  }
  return 0;
}
