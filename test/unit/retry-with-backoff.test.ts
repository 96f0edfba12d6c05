import { describe, expect, it } from 'vitest';
import { retryWithBackoff } from '../../functions/models/retry-with-backoff.ts';

/** An attempt that fails `failures` times, then answers `done`. */
function failingThen(failures: number): { attempt: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    attempt: () => {
      calls += 1;
      return calls <= failures ? Promise.reject(new Error(`failure ${calls}`)) : Promise.resolve('done');
    },
    calls: () => calls,
  };
}

describe('Function: retryWithBackoff', () => {
  it('retries a failure that passes until the call answers, waiting a jittered, doubling delay', async () => {
    const waits: number[] = [];
    const call = failingThen(3);

    const answer = await retryWithBackoff(call.attempt, () => ({ retry: true }), {
      maxAttempts: 4,
      baseDelayMs: 100,
      random: () => 0.5,
      sleep: (ms) => { waits.push(ms); return Promise.resolve(); },
    });

    expect(answer).toBe('done');
    expect(call.calls()).toBe(4);
    expect(waits).toEqual([50, 100, 200]);
  });

  it('throws the last error once the attempts run out', async () => {
    const call = failingThen(10);

    await expect(retryWithBackoff(call.attempt, () => ({ retry: true }), { maxAttempts: 3, sleep: () => Promise.resolve() })).rejects.toThrow('failure 3');
    expect(call.calls()).toBe(3);
  });

  it('does not retry a failure classified as final', async () => {
    const call = failingThen(10);

    await expect(retryWithBackoff(call.attempt, () => ({ retry: false }), { sleep: () => Promise.resolve() })).rejects.toThrow('failure 1');
    expect(call.calls()).toBe(1);
  });

  it('waits at least what the server asked (Retry-After)', async () => {
    const waits: number[] = [];
    const heard: number[] = [];
    const call = failingThen(2);
    const asks = [1500, 4000];

    await retryWithBackoff(call.attempt, () => ({ retry: true, afterMs: asks.shift() }), {
      baseDelayMs: 10,
      maxDelayMs: 5000,
      random: () => 0,
      sleep: (ms) => { waits.push(ms); return Promise.resolve(); },
    }, (_error, attempt) => heard.push(attempt));

    expect(waits).toEqual([1500, 4000]);
    expect(heard).toEqual([1, 2]);
  });

  it('gives up at once when the server asks for a longer wait than maxDelayMs', async () => {
    const call = failingThen(5);

    await expect(retryWithBackoff(call.attempt, () => ({ retry: true, afterMs: 60_000 }), { maxDelayMs: 5000, sleep: () => Promise.resolve() })).rejects.toThrow('failure 1');
    expect(call.calls()).toBe(1);
  });

  it('does not retry when the wait would end after the deadline', async () => {
    const call = failingThen(5);
    const waits: number[] = [];

    const failure = retryWithBackoff(call.attempt, () => ({ retry: true, afterMs: 2000 }), {
      deadline: Date.now() + 3000,
      sleep: (ms) => { waits.push(ms); return Promise.resolve(); },
    });

    // The first wait (2 s) ends before the deadline; the second would too, as no time passes here: 4 attempts in all.
    await expect(failure).rejects.toThrow('failure 4');
    expect(waits).toEqual([2000, 2000, 2000]);
    await expect(retryWithBackoff(failingThen(5).attempt, () => ({ retry: true, afterMs: 2000 }), { deadline: Date.now() + 1000, sleep: () => Promise.resolve() })).rejects.toThrow('failure 1');
  });

  it('keeps every jittered delay below the doubled base and the cap', async () => {
    const waits: number[] = [];
    const call = failingThen(5);

    await retryWithBackoff(call.attempt, () => ({ retry: true }), {
      maxAttempts: 6,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 0.999,
      sleep: (ms) => { waits.push(ms); return Promise.resolve(); },
    });

    expect(waits).toEqual([99, 199, 299, 299, 299]);
  });
});
