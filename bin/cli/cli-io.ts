/**
 * What a CLI command reads and writes besides its arguments: its output streams, its stdin and its
 * environment. Commands take them as one object instead of reaching for `process`, so that the same
 * command runs in the `legion` process and inside a test (which collects the output as text).
 */

/** An output stream; `isTTY` decides between a spinner and plain progress lines. */
export type CliStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

export interface CliIo {
  /** Results only (the answer, `--json` objects). */
  readonly stdout: CliStream;
  /** Progress, warnings and errors. */
  readonly stderr: CliStream;
  /** Read only on a terminal (`legion recommend` asks its questions there). */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Where `LEGION_DYNAMODB_ENDPOINT`, `LEGION_TABLE_NAME` and the model variables (`LEGION_MODEL*`) are read. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The io of the `legion` process itself.
 *
 * @example
 * ```ts
 * process.exitCode = await runLegion(process.argv.slice(2), processIo());
 * ```
 */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
