/**
 * The strategic lead reviews a round of nested team results and decides: `done` (roll up what
 * there is), `retry` (run the plan again: failed teams resume their tasks, finished ones replay from
 * their checkpoints), `replan` (decompose again with the failures as feedback) or `fail`. Which
 * decisions are open depends on the counters the state machine keeps, so a model cannot loop.
 */
import { z } from 'zod';
import { type ReviewEvent, ReviewEventSchema, type ReviewVerdict, ReviewVerdictSchema } from './contract.ts';
import { AGENT_FAILURE_ERRORS } from '../../core/contract.ts';
import { AgentOutputError, InfrastructureError, describeIssues } from '../../core/errors.ts';
import { converseForJson, jsonResponseFormat, parseModelJson } from '../../agents/steps/model-json.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { errorNameOf, errorText, failedTeamIds } from './team-results.ts';

type Decision = ReviewVerdict['decision'];

/** Whether a sub-team's run ended because its agents failed (AGENT_FAILURE_ERRORS), not Legion's infrastructure. */
export function isAgentFailure(errorName: string): boolean {
  return (AGENT_FAILURE_ERRORS as readonly string[]).includes(errorName);
}

/** The decisions open to the lead for these results and counters; only `done` when nothing failed. */
export function openDecisions(event: ReviewEvent): Decision[] {
  if (failedTeamIds(event.results).length === 0) return ['done'];
  return [
    ...(event.retries < event.limits.maxTeamRetries ? ['retry' as const] : []),
    ...(event.replans < event.limits.maxReplans ? ['replan' as const] : []),
    'done',
    'fail',
  ];
}

/** The scripted model's decision: retry first, then re-plan, then keep what succeeded, or fail if nothing did. */
export function scriptedDecision(event: ReviewEvent, open: readonly Decision[]): Decision {
  if (open.length === 1) return 'done';
  const preferred = open.find((decision) => decision === 'retry' || decision === 'replan');
  if (preferred) return preferred;
  return event.results.some((result) => result.status === 'SUCCEEDED') ? 'done' : 'fail';
}

export async function review(event: ReviewEvent, { config, model, logger }: StepContext): Promise<ReviewVerdict> {
  // A sub-team's errors reach the parent as States.TaskFailed, so no Catch can tell an
  // infrastructure failure from the team's own: the review does, before the lead may work around
  // it (retry, re-plan, roll up without it), and fails the run closed (Review -> ReviewFailed).
  // An allowlist: only a team that failed because of its agents is left to the lead; any other
  // name (an infrastructure error, a raw AWS error, States.Runtime, StepFunctions.*) fails closed.
  const broken = event.results.find((result) => result.status === 'FAILED' && !isAgentFailure(errorNameOf(result)));
  if (broken) throw new InfrastructureError(errorNameOf(broken), `sub-team ${broken.subTeamId} failed on Legion's infrastructure: ${errorText(broken)}`);
  const failedTeams = failedTeamIds(event.results);
  const open = openDecisions(event);
  if (failedTeams.length === 0) {
    // Nothing to decide: no model call, no tokens.
    return { decision: 'done', reason: 'every team succeeded', failedTeams, usage: { inputTokens: 0, outputTokens: 0 } };
  }
  const schema = z.object({ decision: z.enum(open as [Decision, ...Decision[]]), reason: z.string().trim().min(1).max(2000) });
  const { value: verdict, reply } = await converseForJson(model, {
    modelTier: config.agent.modelTier,
    system: config.agent.systemPrompt,
    prompt: [
      `Goal: ${event.input.request}`,
      'Team results:',
      ...event.results.map((result) => `- ${result.subTeamId}: ${result.status === 'FAILED' ? `FAILED (${errorText(result)})` : 'SUCCEEDED'}`),
      `Decide one of: ${open.join(', ')}. retry: run the failed teams again; replan: split the goal again around the failures; done: answer with what succeeded; fail: give up.`,
      'Reply with JSON only: {"decision": "<decision>", "reason": "<one sentence>"}',
    ].join('\n'),
    maxTokens: maxReplyTokens(config),
    responseFormat: jsonResponseFormat('verdict', schema),
    stateName: event.stateName,
    // Scripted shortcut (offline model only): the decision this step would accept, worked out here.
    script: { kind: 'fixed', text: JSON.stringify({ decision: scriptedDecision(event, open), reason: `${failedTeams.join(', ')} failed` }) },
  }, (text) => {
    const parsed = schema.safeParse(parseModelJson(config.agent.id, text));
    if (!parsed.success) throw new AgentOutputError(config.agent.id, describeIssues(parsed.error.issues).join('; '));
    return parsed.data;
  });
  logger.info('results reviewed', { decision: verdict.decision, failedTeams });
  return { ...verdict, failedTeams, usage: reply.usage };
}

/** A verdict must name exactly the teams that failed and take a decision that is open. */
export function verdictProblems(event: ReviewEvent, verdict: ReviewVerdict): string[] {
  const problems: string[] = [];
  const failed = failedTeamIds(event.results);
  if (verdict.failedTeams.join(',') !== failed.join(',')) problems.push(`failedTeams ${verdict.failedTeams.join(',')} are not the teams that failed (${failed.join(',')})`);
  if (!openDecisions(event).includes(verdict.decision)) problems.push(`decision ${verdict.decision} is not open (retries ${event.retries}, replans ${event.replans})`);
  return problems;
}

export const reviewStep = defineStep({
  step: 'review',
  roles: ['lead'],
  eventSchema: ReviewEventSchema,
  resultSchema: ReviewVerdictSchema,
  run: review,
  invariants: verdictProblems,
});
