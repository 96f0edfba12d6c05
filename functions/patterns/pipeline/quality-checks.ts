/**
 * The checks of the pipeline's validation gate, as plain deterministic code: no model is asked,
 * so the gate cannot be talked into passing an output, and the same output always gets the same
 * verdict.
 *
 * @example
 * ```ts
 * keyTermsOf('Write about serverless agent teams on AWS'); // ['serverless', 'agent', 'teams']
 * qualityProblems('TODO', 'serverless agent teams');        // ['too short: ...', 'placeholder text: TODO', ...]
 * ```
 */
import { STAGE_OUTPUT_LIMITS } from './contract.ts';

/** Words too common to tell whether an output is about the brief. */
const STOP_WORDS = new Set([
  'about', 'above', 'after', 'again', 'against', 'article', 'because', 'before', 'being', 'below', 'between', 'blog', 'could',
  'describe', 'during', 'every', 'explain', 'their', 'there', 'these', 'those', 'through', 'under', 'until', 'using', 'which',
  'while', 'would', 'write', 'should', 'short', 'where', 'other', 'into', 'with', 'from', 'that', 'this', 'your', 'them', 'they',
]);

/** How many key terms a brief yields at most. */
const MAX_KEY_TERMS = 5;
/** How many of them an output must mention (fewer when the brief has fewer). */
const REQUIRED_KEY_TERMS = 2;

/** Text a finished stage output never holds: marks of unfinished or filler text. */
const PLACEHOLDERS = /\b(TODO|TBD|FIXME|XXX|lorem ipsum|lorem)\b|\[(insert|placeholder)[^\]]*\]|<insert[^>]*>/i;

/** The brief's key terms: its distinct words of four letters or more that are not stop words, in order, at most five. */
export function keyTermsOf(brief: string): string[] {
  const words = brief.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? [];
  const terms = words.filter((word) => word.length >= 4 && !STOP_WORDS.has(word));
  return [...new Set(terms)].slice(0, MAX_KEY_TERMS);
}

/** Every check a stage output fails; empty when the gate passes it. */
export function qualityProblems(output: string, brief: string): string[] {
  const text = output.trim();
  if (text === '') return ['empty output'];
  const problems: string[] = [];
  const { minChars, maxChars } = STAGE_OUTPUT_LIMITS;
  if (text.length < minChars) problems.push(`too short: ${String(text.length)} characters, at least ${String(minChars)}`);
  if (text.length > maxChars) problems.push(`too long: ${String(text.length)} characters, at most ${String(maxChars)}`);
  const placeholder = PLACEHOLDERS.exec(text);
  if (placeholder) problems.push(`placeholder text: ${placeholder[0]}`);
  const terms = keyTermsOf(brief);
  const lower = text.toLowerCase();
  const mentioned = terms.filter((term) => lower.includes(term));
  const required = Math.min(REQUIRED_KEY_TERMS, terms.length);
  if (mentioned.length < required) {
    problems.push(`mentions ${String(mentioned.length)} of the brief's key terms (${terms.join(', ')}), at least ${String(required)}`);
  }
  return problems;
}
