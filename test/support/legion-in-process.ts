/**
 * Test support: the `legion` CLI run inside the test's own process ({@link runLegion} on captured
 * streams), for tests of what a command prints and which exit code it gives. It skips the 2 to 3 s a
 * child process spends loading the CLI; the tests of the process itself (SIGKILL and resume, Ctrl-C,
 * a closed stdout, the data folder's lock, the exit code the shell sees) use
 * {@link legionProcess} instead.
 *
 * Like a child, it reaches the test run's DynamoDB Local with a table per data folder.
 *
 * @example
 * ```ts
 * const outcome = await legionInProcess(['run', 'pipeline', '--json']);
 * outcome.status; // the exit code runLegion returned
 * ```
 */
import { runLegion } from '../../bin/cli/legion-program.ts';
import { capturedIo } from './captured-io.ts';
import { type CliOutcome, legionEnvironment } from './legion-process.ts';

/** @param env variables set (or, as '', cleared) over the test run's environment */
export async function legionInProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> {
  // The crash injection kills its process, which here is the test worker.
  if (args.some((arg) => arg.startsWith('crash:'))) throw new Error('--inject crash: kills the process it runs in; use legionProcess');
  const captured = capturedIo({ ...legionEnvironment(args), ...env });
  const status = await runLegion(args, captured.io);
  return { status, signal: null, stdout: captured.stdout(), stderr: captured.stderr() };
}
