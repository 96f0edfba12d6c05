/**
 * Text the CLI prints comes from users (a request, a team file, a task id), from models and from
 * stored data: a raw control character in it would reach the terminal, where an escape sequence can
 * retitle the window, clear the screen or hide what was printed before it. Every print path of the
 * CLI passes its text through {@link escapeControlCharacters} first.
 */
import { Writable } from 'node:stream';

/** Every control character (Unicode `Cc`: C0, DEL and C1); `\n` and `\t` are let through below. */
const CONTROL_CHARACTER = /\p{Cc}/gu;

/**
 * Replaces each control character of `text` (C0 but for `\n` and `\t`, DEL and C1; ESC, so an
 * escape sequence prints as plain text) with its visible JSON escape, `\u001b` for ESC. Because the
 * escape is JSON's own, JSON text stays valid JSON with the same value: `JSON.stringify` escapes
 * C0 but leaves DEL and C1 raw, so `--json` output goes through this function as well.
 *
 * @example
 * ```ts
 * escapeControlCharacters('\u001b]0;pwned\u0007\u001b[2J done\n');
 * // '\\u001b]0;pwned\\u0007\\u001b[2J done\n'
 * JSON.parse(escapeControlCharacters(JSON.stringify({ text: 'a\u009bb' }))).text === 'a\u009bb'; // true
 * ```
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTER, (character) =>
    character === '\n' || character === '\t' ? character : `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Writes `text` to `stream` with its control characters escaped ({@link escapeControlCharacters}).
 *
 * @example
 * ```ts
 * writeSafely(process.stderr, `legion: ${error.message}\n`);
 * ```
 */
export function writeSafely(stream: Pick<NodeJS.WritableStream, 'write'>, text: string): void {
  stream.write(escapeControlCharacters(text));
}

/**
 * A stream that writes to `target` with control characters escaped: for output the CLI hands to
 * others to write (the agents' structured logs under `--verbose`).
 *
 * @example
 * ```ts
 * LocalRuntime.start({ logStream: escapingStream(process.stderr) });
 * ```
 */
export function escapingStream(target: Pick<NodeJS.WritableStream, 'write'>): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: unknown, _encoding, done): void {
      writeSafely(target, typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      done();
    },
  });
}
