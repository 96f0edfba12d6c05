/**
 * Test support: a real `legion` CLI child process, awaited without blocking, so that several can
 * run side by side (each starts its own DynamoDB Local, which is most of its time).
 *
 * @example
 * ```ts
 * const outcome = await legionProcess(['run', 'pipeline', '--json'], { timeoutMs: 120_000 });
 * outcome.status; // the exit code
 * ```
 */
import { spawn } from 'node:child_process';

export interface CliOutcome {
  /** The exit code; null when the process was killed (signal). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function legionProcess(args: readonly string[], options: { timeoutMs: number }): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/legion.js', ...args], { timeout: options.timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      resolve({ status, signal, stdout, stderr });
    });
  });
}
