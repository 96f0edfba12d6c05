/**
 * Test support: the Error a promise rejects with, to assert on its class and fields; a promise
 * that resolves, or rejects with something else than an Error, fails the test.
 *
 * @example
 * ```ts
 * const error = await rejectionOf(journal.recall(key));
 * expect(error).toBeInstanceOf(CheckpointError);
 * ```
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof Error)) throw new Error('expected a rejection with an Error');
  return error;
}
