/**
 * Order statistics of timing samples: median and nearest-rank percentiles.
 *
 * @example
 * ```ts
 * const { median, p99 } = summarize([2.1, 2.4, 9.8]);
 * ```
 */

export interface Summary {
  count: number;
  min: number;
  median: number;
  p99: number;
  max: number;
}

/**
 * The nearest-rank percentile of ascending-sorted values: the smallest value with at least `p` % of
 * the values at or below it (p99 of 200 samples is the 198th).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  if (p <= 0 || p > 100) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return at(sorted, rank - 1);
}

/** The median of ascending-sorted values (the mean of the two middle ones for an even count). */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new RangeError('median of no values');
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? at(sorted, middle) : (at(sorted, middle - 1) + at(sorted, middle)) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: at(sorted, 0),
    median: median(sorted),
    p99: percentile(sorted, 99),
    max: at(sorted, sorted.length - 1),
  };
}

function at(values: readonly number[], index: number): number {
  const value = values[index];
  if (value === undefined) throw new RangeError(`no value at index ${index} of ${values.length}`);
  return value;
}
