/**
 * The `legion` process: runs the CLI (bin/cli/legion-program.ts, where the commands and their
 * exit codes are documented) on this process's arguments, streams and environment.
 */
import { processIo } from './cli/cli-io.ts';
import { runLegion } from './cli/legion-program.ts';

// A reader that stops early (`legion status | head`) closes stdout: end quietly, as Unix tools do,
// rather than with an unhandled EPIPE and its stack. DynamoDB Local stops with this process.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

process.exitCode = await runLegion(process.argv.slice(2), processIo());
