/**
 * Retries a call that failed for a reason that passes (throttling, a 5xx, a dropped connection):
 * exponential backoff with full jitter, a bounded number of attempts, a server's `Retry-After`
 * honoured when it asks for longer (up to the longest wait), and never past a deadline.
 */

export interface RetryOptions {
  /** Attempts in all, the first one included. @default 4 */
  maxAttempts?: number | undefined;
  /** The backoff before the second attempt; it doubles per attempt (before jitter). @default 250 */
  baseDelayMs?: number | undefined;
  /** No wait is longer than this; a server that asks for longer (`Retry-After`) ends the retries. @default 8000 */
  maxDelayMs?: number | undefined;
  /** No retry whose wait would end after this (epoch ms). @default none */
  deadline?: number | undefined;
  /** @default setTimeout */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** A number in [0, 1). @default Math.random */
  random?: (() => number) | undefined;
}

/** What one attempt tells the loop: retry it (after at least `afterMs`), or give up with the error. */
export type AttemptFailure = { retry: true; afterMs?: number | undefined } | { retry: false };

/**
 * Calls `attempt` until it returns, or fails for a reason `classify` says is final, or the attempts
 * run out (the last error is thrown). `onRetry` hears of each retry, for logs and counts.
 *
 * @example
 * ```ts
 * const reply = await retryWithBackoff(() => post(body), (error) => ({ retry: isThrottling(error) }), { maxAttempts: 3 });
 * ```
 */
export async function retryWithBackoff<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  classify: (error: unknown) => AttemptFailure,
  options: RetryOptions = {},
  onRetry?: (error: unknown, attemptNumber: number, delayMs: number) => void,
): Promise<T> {
  const { maxAttempts = 4, baseDelayMs = 250, maxDelayMs = 8000, deadline = Infinity, sleep = defaultSleep, random = Math.random } = options;
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const failure = classify(error);
      if (!failure.retry || attemptNumber >= maxAttempts) throw error;
      // A server asking for more than we would wait is better told than hammered early.
      if ((failure.afterMs ?? 0) > maxDelayMs) throw error;
      const jittered = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attemptNumber - 1)));
      const delayMs = Math.max(jittered, failure.afterMs ?? 0);
      if (Date.now() + delayMs >= deadline) throw error;
      onRetry?.(error, attemptNumber, delayMs);
      await sleep(delayMs);
    }
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
