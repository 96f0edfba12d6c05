/**
 * The auction's verifier: checks the awarded bidder's result before it is returned. Deterministic
 * code, NO model call (a model's opinion of another model's work is not a check): the result must
 * be the awarded bidder's, for this award, of some substance, and address every required
 * capability by name (the bidder is asked to start each part with the capability it covers).
 * `rejected` sends the task to the runner-up.
 *
 * @example
 * ```ts
 * const { verdict, problems } = await verifyAward(event); // { verdict: 'rejected', problems: ['does not address: localisation'] }
 * ```
 */
import { type VerifyAwardEvent, VerifyAwardEventSchema, type VerifyAwardResult, VerifyAwardResultSchema } from './contract.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { awardProblems } from './execute.ts';

/** Shorter than this, a result is not an answer to a task. */
export const MIN_RESULT_CHARS = 20;

/** What is wrong with an awarded bidder's result; empty when it passes. */
export function resultProblems(event: Pick<VerifyAwardEvent, 'award' | 'requiredCapabilities' | 'result'>): string[] {
  const problems = awardProblems(event, event.result);
  const output = event.result.output.trim();
  if (output.length < MIN_RESULT_CHARS) problems.push(`result is ${String(output.length)} characters, under ${String(MIN_RESULT_CHARS)}`);
  const lower = output.toLowerCase();
  const missing = event.requiredCapabilities.filter((capability) => !lower.includes(capability.toLowerCase()));
  if (missing.length > 0) problems.push(`does not address: ${missing.join(', ')}`);
  return problems;
}

export function verifyAward(event: VerifyAwardEvent): Promise<VerifyAwardResult> {
  const problems = resultProblems(event);
  return Promise.resolve({ verdict: problems.length === 0 ? 'accepted' : 'rejected', problems });
}

/** The verdict follows from the problems. */
export function verifyAwardProblems(event: VerifyAwardEvent, result: VerifyAwardResult): string[] {
  const expected = result.problems.length === 0 ? 'accepted' : 'rejected';
  return result.verdict === expected ? [] : [`verdict ${result.verdict} with ${String(result.problems.length)} problems (expected ${expected})`];
}

export const verifyAwardStep = defineStep({
  step: 'verify-award',
  roles: ['verifier'],
  eventSchema: VerifyAwardEventSchema,
  resultSchema: VerifyAwardResultSchema,
  run: verifyAward,
  invariants: verifyAwardProblems,
});
