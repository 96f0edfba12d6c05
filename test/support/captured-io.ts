/**
 * Test support: a {@link CliIo} whose output streams collect what a command writes, as text, and
 * whose stdin is empty and not a terminal (as in a pipe).
 *
 * @example
 * ```ts
 * const captured = capturedIo();
 * alarmsCommand({ dataDir, json: true }, captured.io);
 * JSON.parse(captured.stdout());
 * ```
 */
import { Readable, Writable } from 'node:stream';
import type { CliIo } from '../../bin/cli/cli-io.ts';

export interface CapturedIo {
  io: CliIo;
  stdout(): string;
  stderr(): string;
}

export function capturedIo(env: NodeJS.ProcessEnv = process.env): CapturedIo {
  const stdout = collectingStream();
  const stderr = collectingStream();
  return {
    io: { stdout: stdout.stream, stderr: stderr.stream, stdin: Readable.from([]), env },
    stdout: () => stdout.chunks.join(''),
    stderr: () => stderr.chunks.join(''),
  };
}

function collectingStream(): { stream: Writable; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: unknown, _encoding, done): void {
      chunks.push(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      done();
    },
  });
  return { stream, chunks };
}
