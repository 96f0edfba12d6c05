/**
 * The size limit of an execution input, checked wherever an input enters Legion (the CLI, a
 * `RunRequested` event, the local runtime) before anything is stored: Step Functions refuses an
 * input over {@link MAX_EXECUTION_INPUT_BYTES}, and a larger one let through would fail later
 * (a DynamoDB item too large) after the task was half started.
 *
 * @example
 * ```ts
 * const problem = executionInputSizeProblem(input);
 * if (problem) throw new UsageError(`--input ${problem}`);
 * ```
 */
import { MAX_EXECUTION_INPUT_BYTES } from './contract.ts';

/**
 * The size of `input` as Step Functions counts an execution input: bytes of its UTF-8 JSON.
 *
 * @throws {TypeError} when `input` cannot be serialised as JSON (a cycle, a BigInt)
 * @example
 * ```ts
 * executionInputBytes({ request: 'é' }); // 16
 * ```
 */
export function executionInputBytes(input: unknown): number {
  // JSON.stringify(undefined) is undefined (its type says string): an absent input travels as null.
  const json = JSON.stringify(input) as string | undefined;
  return Buffer.byteLength(json ?? 'null', 'utf8');
}

/**
 * Why `input` cannot be an execution input (too large, or not JSON), as a phrase to follow the name
 * of where it came from; undefined when it can.
 *
 * @example
 * ```ts
 * executionInputSizeProblem({ request: 'x'.repeat(300_000) });
 * // 'is 300015 bytes of JSON, over the 262144 bytes (256 KiB) Step Functions accepts as an execution input; ...'
 * executionInputSizeProblem({ request: 'hi' }); // undefined
 * ```
 */
export function executionInputSizeProblem(input: unknown): string | undefined {
  let bytes: number;
  try {
    bytes = executionInputBytes(input);
  } catch (error) {
    return `cannot be serialised as JSON: ${(error as Error).message}`;
  }
  if (bytes <= MAX_EXECUTION_INPUT_BYTES) return undefined;
  return `is ${String(bytes)} bytes of JSON, over the ${String(MAX_EXECUTION_INPUT_BYTES)} bytes (256 KiB) Step Functions accepts as an execution input; keep large data elsewhere (S3, DynamoDB) and pass its key`;
}
