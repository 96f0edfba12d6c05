/**
 * Reading the results of nested team executions, for the lead's review and roll-up: which teams
 * failed and why, and what a succeeded team answered (its state machine may be of any pattern).
 *
 * @example
 * ```ts
 * failedTeamIds(results); // ['technical-research']
 * errorText(result); // 'ClassificationFailed: Model scripted failed: ...'
 * ```
 */
import { z } from 'zod';
import type { TeamResult } from './contract.ts';

const MAX_ERROR_CHARS = 300;
const MAX_ANSWER_CHARS = 2000;

/**
 * The name of the error a failed team's run ended with: the nested execution's own error when
 * Step Functions reports it (a `States.TaskFailed` cause is the child's describe-execution output),
 * else the Task's error.
 */
export function errorNameOf(result: TeamResult): string {
  const error = result.error;
  if (!error) return 'unknown';
  try {
    const child = ChildFailureSchema.safeParse(JSON.parse(error.Cause ?? ''));
    if (child.success && child.data.Error) return child.data.Error;
  } catch {
    // the cause is plain text: the Task's own error name
  }
  return error.Error;
}

/** The sub-team ids whose nested execution failed, in result order. */
export function failedTeamIds(results: readonly TeamResult[]): string[] {
  return results.filter((result) => result.status === 'FAILED').map((result) => result.subTeamId);
}

/** What a `.sync:2` failure's cause holds: the child execution's own error. */
const ChildFailureSchema = z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() });

/**
 * Why a team failed, in one line: the nested execution's own error when Step Functions reports it
 * (a `States.TaskFailed` cause is the child's describe-execution output), else the Task's error.
 */
export function errorText(result: TeamResult): string {
  const error = result.error;
  if (!error) return 'unknown error';
  let text = `${error.Error}${error.Cause ? `: ${error.Cause}` : ''}`;
  try {
    const child = ChildFailureSchema.safeParse(JSON.parse(error.Cause ?? ''));
    if (child.success && child.data.Error) text = `${child.data.Error}${child.data.Cause ? `: ${child.data.Cause}` : ''}`;
  } catch {
    // the cause is plain text: keep it as it is
  }
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 3)}...` : text;
}

const AnswerOutputSchema = z.looseObject({ answer: z.string().min(1) });
const LimitsOutputSchema = z.looseObject({ limitsHit: z.array(z.string()) });

/** A succeeded team's answer: the `answer` its pattern returns, or its whole output as JSON. */
export function answerOf(result: TeamResult): string {
  const parsed = AnswerOutputSchema.safeParse(result.output);
  const text = parsed.success ? parsed.data.answer : JSON.stringify(result.output ?? null);
  return text.length > MAX_ANSWER_CHARS ? `${text.slice(0, MAX_ANSWER_CHARS - 3)}...` : text;
}

/** The limits a nested (hierarchical) team reported as hit, prefixed with the sub-team that hit them. */
export function nestedLimitsHit(result: TeamResult): string[] {
  const parsed = LimitsOutputSchema.safeParse(result.output);
  return parsed.success ? parsed.data.limitsHit.map((line) => `${result.subTeamId} > ${line}`) : [];
}
