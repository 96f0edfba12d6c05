/**
 * Checks claims against a source of truth: a table of named facts, never another model's opinion.
 * A claim is either structured (`{ fact, value }`, as peer-to-peer proposals cite them) or a
 * statistic found in free text ("the agent platform market grew 340% last year", as a pipeline
 * stage writes them). Each check ends `confirmed`, `contradicted` or `unknown-fact` (the table
 * has no such fact); how many agents repeat a claim plays no part. Pure and deterministic.
 *
 * @example
 * ```ts
 * const facts = { agentPlatformMarketGrowthPercent: 23 };
 * checkClaim({ fact: 'agentPlatformMarketGrowthPercent', value: 23 }, facts).status; // 'confirmed'
 * checkTextClaims('The agent platform market grew 340% last year.', facts)[0]?.status; // 'contradicted'
 * ```
 */
import { z } from 'zod';

/** A fact's value: the source of truth a claim is checked against. */
export const FactValueSchema = z.union([z.string().max(500), z.number(), z.boolean()]);
export type FactValue = z.infer<typeof FactValueSchema>;

/** A fact's name: what claims cite (`readsPerSecond`), and where the keywords of a statistic come from. */
export const FactNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must be a letter followed by letters, digits, _ or - (max 64)');

/** A facts table, as a task's input gives it. */
export const FactsSchema = z.record(FactNameSchema, FactValueSchema);

/** Named facts: the source of truth. */
export type Facts = Readonly<Record<string, FactValue>>;

export const CHECK_STATUSES = ['confirmed', 'contradicted', 'unknown-fact'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** The outcome of checking one claim. */
export const ClaimCheckSchema = z.object({
  /** The fact the claim is about: its name in the table, or (an unmatched statistic) the words the text used for it. */
  fact: z.string(),
  claimed: FactValueSchema,
  /** The table's value of the fact; null when the table has no such fact. */
  expected: FactValueSchema.nullable(),
  status: z.enum(CHECK_STATUSES),
});
export type ClaimCheck = z.infer<typeof ClaimCheckSchema>;

/** A structured claim: "fact `fact` has value `value`". */
export interface Claim {
  fact: string;
  value: FactValue;
}

/**
 * Whether two fact values match: their text matches, ignoring case and surrounding blanks, so that
 * a number cited as text (`"1200"`) matches the number 1200.
 *
 * @example
 * ```ts
 * sameFactValue(' Internal ', 'internal'); // true
 * ```
 */
export function sameFactValue(left: FactValue, right: FactValue): boolean {
  return String(left).trim().toLowerCase() === String(right).trim().toLowerCase();
}

/**
 * Checks a structured claim against the facts table.
 *
 * @example
 * ```ts
 * checkClaim({ fact: 'readsPerSecond', value: 9000 }, { readsPerSecond: 1200 });
 * // { fact: 'readsPerSecond', claimed: 9000, expected: 1200, status: 'contradicted' }
 * ```
 */
export function checkClaim(claim: Claim, facts: Facts): ClaimCheck {
  const expected = Object.hasOwn(facts, claim.fact) ? (facts[claim.fact] ?? null) : null;
  const status = expected === null ? 'unknown-fact' : sameFactValue(expected, claim.value) ? 'confirmed' : 'contradicted';
  return { fact: claim.fact, claimed: claim.value, expected, status };
}

/** A number in free text that carries a unit, a scale or a currency: a statistic. */
export interface StatisticClaim {
  /** The statistic as written, e.g. `340%`, `$4.2 billion`, `1,200 reads per second`. */
  text: string;
  /** Its value with the scale applied (`4.2 billion` is 4200000000; `340%` is 340). */
  value: number;
  /** How far the written value may be from a fact and still state it: half a unit of its last digit, scaled (`23%` states 22.5 to 23.5). */
  tolerance: number;
  /** `percent`, `currency`, or the unit as written (`ms`, `reads per second`); `''` for a scaled count (`3 million`). */
  unit: string;
  /** The sentence it was found in. */
  sentence: string;
  /** Lower-case words of the sentence within NEAR_WORDS of the number: what it is a statistic of. */
  context: string[];
}

/** A text's statistic checked against the facts table. */
export interface TextClaimCheck extends ClaimCheck {
  /** The statistic as written. */
  statistic: string;
  sentence: string;
}

/** How many words on each side of a number may name what it measures. */
export const NEAR_WORDS = 8;

const NUMBER = /(?<![\w.,])([$€£])?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?/g;
const PERCENT = /^\s?(%|percent\b|per cent\b)/i;
const SCALE = /^\s?(thousand|million|billion|trillion|k|mn|m|bn)\b/i;
const CURRENCY_WORD = /^\s?(usd|eur|gbp|dollars|euros|pounds)\b/i;
const RATE = /^\s?(?:([a-z][a-z-]*)\s+)?per\s+(second|minute|hour|day|week|month|year)\b/i;
const UNIT = /^\s?(ms|milliseconds?|secs?|seconds?|mins?|minutes?|hours?|days?|weeks?|months?|years?|kb|mb|gb|tb|pb|x|times|rps|qps)\b/i;
const SCALES: Record<string, number> = { thousand: 1e3, k: 1e3, million: 1e6, mn: 1e6, m: 1e6, billion: 1e9, bn: 1e9, trillion: 1e12 };

/**
 * Finds the statistics in a text: numbers followed by `%`/`percent`, a scale (`thousand`,
 * `million`, `billion`, `k`, `m`, `bn`), a unit of time, data or rate (`ms`, `days`, `GB`,
 * `<noun> per second`), or with a currency (`$`, `€`, `£`, `USD`...). A bare number (a year, a
 * list index) is not a statistic.
 *
 * @example
 * ```ts
 * extractStatisticClaims('The agent platform market grew 340% last year, to $4.2 billion.')
 *   .map((claim) => [claim.text, claim.value, claim.unit]);
 * // [['340%', 340, 'percent'], ['$4.2 billion', 4200000000, 'currency']]
 * ```
 */
export function extractStatisticClaims(text: string): StatisticClaim[] {
  return sentencesOf(text).flatMap((sentence) => [...sentence.matchAll(NUMBER)].flatMap((match) => statisticAt(sentence, match)));
}

/** Sentences end at `.`, `!` or `?` followed by a blank, or at a line break (a decimal point ends nothing). */
function sentencesOf(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

function statisticAt(sentence: string, match: RegExpExecArray | RegExpMatchArray): StatisticClaim[] {
  const [written = '', currency, whole = '', decimals = ''] = match;
  const start = match.index ?? 0;
  let rest = sentence.slice(start + written.length);
  let multiplier = 1;
  let unit = currency ? 'currency' : '';
  let end = start + written.length;
  const take = (found: RegExpMatchArray): void => {
    rest = rest.slice(found[0].length);
    end += found[0].length;
  };
  const percent = PERCENT.exec(rest);
  if (percent) {
    take(percent);
    unit = 'percent';
  } else {
    const scale = SCALE.exec(rest);
    if (scale) {
      take(scale);
      multiplier = SCALES[(scale[1] ?? '').toLowerCase()] ?? 1;
    }
    const currencyWord = CURRENCY_WORD.exec(rest);
    const rate = RATE.exec(rest);
    const other = UNIT.exec(rest);
    const found = currencyWord ?? rate ?? other;
    if (found) take(found);
    if (currencyWord) unit = 'currency';
    else if (rate) unit = [rate[1], 'per', rate[2]].filter(Boolean).join(' ').toLowerCase();
    else if (other) unit = (other[1] ?? '').toLowerCase();
    if (!scale && !found && !currency) return [];
  }
  const value = Number(`${whole.replace(/,/g, '')}.${decimals || '0'}`) * multiplier;
  const tolerance = 0.5 * 10 ** -decimals.length * multiplier;
  return [{ text: sentence.slice(start, end).trim(), value, tolerance, unit, sentence, context: contextWords(sentence, start, end) }];
}

/** The words of the sentence within NEAR_WORDS of the statistic (the statistic's own unit words included). */
function contextWords(sentence: string, start: number, end: number): string[] {
  const before = wordsOf(sentence.slice(0, start)).slice(-NEAR_WORDS);
  const own = wordsOf(sentence.slice(start, end));
  const after = wordsOf(sentence.slice(end)).slice(0, NEAR_WORDS);
  return [...before, ...own, ...after];
}

function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[a-z][a-z-]*/g) ?? [];
}

/** Words of fact names that say how a value is measured, not what it measures. */
const MEASURE_WORDS = new Set(['percent', 'pct', 'per', 'second', 'seconds', 'count', 'total', 'number', 'num', 'usd', 'ms', 'value', 'in', 'of', 'the']);

/**
 * The words a fact's name is made of, without the measure words: `agentPlatformMarketGrowthPercent`
 * gives `agent platform market growth`, `readsPerSecond` gives `reads`.
 *
 * @example
 * ```ts
 * factKeywordsOf('stalenessBudgetSeconds'); // ['staleness', 'budget']
 * ```
 */
export function factKeywordsOf(fact: string): string[] {
  const words = fact
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_\-0-9]+/)
    .map((word) => word.toLowerCase())
    .filter((word) => word.length > 0);
  return words.filter((word) => !MEASURE_WORDS.has(word));
}

/** Plural and singular match ("reads" and "read"); nothing smarter, so that a match stays explainable. */
const stem = (word: string): string => (word.length > 3 && word.endsWith('s') ? word.slice(0, -1) : word);

/** A percent fact (its name says so) is stated only by a percent statistic, and the other way round. */
const isPercentFact = (fact: string): boolean => /percent|pct/i.test(fact);

interface FactMatch {
  fact: string;
  expected: number;
  matched: number;
  share: number;
}

/**
 * Checks every statistic of a text against the numeric facts of a table. A statistic is about the
 * fact most of whose keywords (from its name, or `factKeywords[fact]`) appear within NEAR_WORDS
 * of the number (at least half of them; the higher share wins, then the most words matched, then
 * the earlier fact), and whose kind fits (percent with percent). It is `confirmed` when it states
 * the fact's value to the precision written (`23%` states 23.4), `contradicted` otherwise, and
 * `unknown-fact` when no fact matches it: then `fact` holds the words the text used for it.
 * Text facts and booleans are not statistics and are never matched.
 *
 * @example
 * ```ts
 * checkTextClaims('The agent platform market grew 340% last year.', { agentPlatformMarketGrowthPercent: 23 });
 * // [{ fact: 'agentPlatformMarketGrowthPercent', claimed: 340, expected: 23, status: 'contradicted', statistic: '340%', sentence: '...' }]
 * ```
 */
export function checkTextClaims(text: string, facts: Facts, factKeywords: Readonly<Record<string, readonly string[]>> = {}): TextClaimCheck[] {
  const numeric = Object.entries(facts).flatMap(([fact, value]) => {
    const number = numericValue(value);
    return number === undefined ? [] : [{ fact, expected: number, keywords: (factKeywords[fact] ?? factKeywordsOf(fact)).map((word) => stem(word.toLowerCase())) }];
  });
  return extractStatisticClaims(text).map((claim) => {
    const base = { claimed: claim.value, statistic: claim.text, sentence: claim.sentence };
    const match = bestFact(claim, numeric);
    if (!match) return { ...base, fact: unmatchedLabel(claim), expected: null, status: 'unknown-fact' };
    const status = Math.abs(claim.value - match.expected) <= claim.tolerance + 1e-9 * Math.abs(match.expected) ? 'confirmed' : 'contradicted';
    return { ...base, fact: match.fact, expected: facts[match.fact] ?? match.expected, status };
  });
}

function numericValue(value: FactValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !/^\s*-?\d+(\.\d+)?\s*$/.test(value)) return undefined;
  return Number(value);
}

function bestFact(claim: StatisticClaim, facts: readonly { fact: string; expected: number; keywords: string[] }[]): FactMatch | undefined {
  const near = new Set(claim.context.map(stem));
  const candidates = facts
    .filter((fact) => fact.keywords.length > 0 && isPercentFact(fact.fact) === (claim.unit === 'percent'))
    .map((fact) => {
      const matched = fact.keywords.filter((word) => near.has(word)).length;
      return { fact: fact.fact, expected: fact.expected, matched, share: matched / fact.keywords.length };
    })
    .filter((candidate) => candidate.matched > 0 && candidate.share >= 0.5);
  return candidates.reduce<FactMatch | undefined>((best, candidate) => {
    if (!best) return candidate;
    if (candidate.share !== best.share) return candidate.share > best.share ? candidate : best;
    return candidate.matched > best.matched ? candidate : best;
  }, undefined);
}

/** Up to four words before an unmatched statistic: what the text said it measures. */
function unmatchedLabel(claim: StatisticClaim): string {
  const index = claim.sentence.indexOf(claim.text);
  const before = wordsOf(claim.sentence.slice(0, Math.max(0, index))).slice(-4);
  return [...before, claim.text].join(' ');
}
