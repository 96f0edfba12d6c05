/**
 * The pipeline's validation gate, run by the team's verifier after every stage attempt. It is
 * deterministic code and makes NO model call: it checks the output (quality-checks.ts) and decides
 * `pass`, `retry` (attempts left: the stage runs again with the feedback) or `fail` (the run ends
 * with StageRejected). On pass it adds the stage's record to the outputs passed so far.
 *
 * @example
 * ```ts
 * const result = await gate(event, context); // { verdict: 'retry', feedback: 'too short: ...', ... }
 * ```
 */
import { type GateEvent, GateEventSchema, type GateResult, GateResultSchema, type GateVerdict } from './contract.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { qualityProblems } from './quality-checks.ts';

export function gate(event: GateEvent): Promise<GateResult> {
  const problems = qualityProblems(event.output, event.brief);
  const verdict = verdictFor(problems, event.attempt, event.maxAttempts);
  const { agentId } = event.stage;
  const passed = verdict === 'pass' ? [...event.passed, { agentId, attempts: event.attempt, output: event.output.trim() }] : event.passed;
  return Promise.resolve({
    verdict,
    problems,
    feedback: verdict === 'retry' ? problems.join('; ').slice(0, 2000) : '',
    summary: summaryOf(event, verdict, problems),
    passed,
  });
}

/**
 * The gate's rule: any problem means another attempt while the stage has attempts left, else the run fails.
 *
 * @example
 * ```ts
 * verdictFor(['too short'], 1, 2); // 'retry'
 * verdictFor(['too short'], 2, 2); // 'fail'
 * ```
 */
export function verdictFor(problems: readonly string[], attempt: number, maxAttempts: number): GateVerdict {
  if (problems.length === 0) return 'pass';
  return attempt < maxAttempts ? 'retry' : 'fail';
}

function summaryOf(event: GateEvent, verdict: GateVerdict, problems: readonly string[]): string {
  const { agentId, index, count } = event.stage;
  const where = `Stage ${agentId} (${String(index + 1)} of ${String(count)}), attempt ${String(event.attempt)} of ${String(event.maxAttempts)}`;
  return problems.length === 0 ? `${where}: passed` : `${where}: ${verdict}: ${problems.join('; ')}`;
}

/** The verdict follows from the problems and the attempts, and `passed` grows by this stage exactly when it passed. */
export function gateProblems(event: GateEvent, result: GateResult): string[] {
  const problems: string[] = [];
  const expected = verdictFor(result.problems, event.attempt, event.maxAttempts);
  if (result.verdict !== expected) {
    problems.push(`verdict ${result.verdict} with ${String(result.problems.length)} problems at attempt ${String(event.attempt)} of ${String(event.maxAttempts)} (expected ${expected})`);
  }
  const grows = result.verdict === 'pass' ? 1 : 0;
  const kept = result.passed.slice(0, event.passed.length);
  if (result.passed.length !== event.passed.length + grows || JSON.stringify(kept) !== JSON.stringify(event.passed)) {
    problems.push('passed is not the earlier stages plus, on pass, this one');
  }
  const added = result.passed.at(-1);
  if (grows === 1 && (added?.agentId !== event.stage.agentId || added.attempts !== event.attempt || added.output !== event.output.trim())) {
    problems.push(`the record added is not stage ${event.stage.agentId}'s attempt ${String(event.attempt)}`);
  }
  return problems;
}

export const gateStep = defineStep({
  step: 'gate',
  roles: ['verifier'],
  eventSchema: GateEventSchema,
  resultSchema: GateResultSchema,
  run: gate,
  invariants: gateProblems,
});
