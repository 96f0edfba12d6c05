/**
 * Seeded randomness, so that a benchmark run can be repeated with the same order of measurements
 * and the same checkpoint contents.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * const order = shuffled(['a', 'b', 'c'], random);
 * const text = randomText(1000, random); // 1000 ASCII characters of words
 * ```
 */

/** A uniform random number in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast, good enough to shuffle and to make text (not for cryptography). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A shuffled copy (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = a;
  }
  return copy;
}

const WORDS = [
  'invoice', 'refund', 'account', 'customer', 'charged', 'twice', 'order', 'shipping', 'delayed', 'please',
  'confirm', 'payment', 'card', 'ending', 'the', 'a', 'we', 'have', 'issued', 'your', 'within', 'days',
  'business', 'subscription', 'renewal', 'cancel', 'plan', 'upgrade', 'support', 'ticket', 'number',
  'address', 'update', 'billing', 'period', 'credit', 'applied', 'balance', 'statement', 'thank', 'you',
  'for', 'waiting', 'is', 'now', 'resolved', 'and', 'of', 'to', 'on', 'in', 'it', 'will', 'appear',
];

/** `length` ASCII characters of random words (JSON-safe: no quotes or backslashes). */
export function randomText(length: number, random: Random): string {
  let text = '';
  while (text.length < length) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'x';
    text += random() < 0.08 ? `${word}. ` : `${word} `;
  }
  return text.slice(0, length);
}
