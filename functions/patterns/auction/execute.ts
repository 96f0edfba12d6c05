/**
 * The awarded bidder's step: carry out the task it won. The state machine invokes the function
 * the award names (looked up in the deployed bidder list, never taken from a bid), with a stepId
 * per award attempt, so a runner-up's run is its own checkpoint.
 *
 * @example
 * ```ts
 * const result = await execute(event, context); // { bidder: 'polly', attempt: 1, output: 'translation: ...' }
 * ```
 */
import { type ExecuteEvent, ExecuteEventSchema, type ExecuteResult, ExecuteResultSchema } from './contract.ts';
import { AgentOutputError, InvalidEventError } from '../../core/errors.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';

export async function execute(event: ExecuteEvent, { config, model }: StepContext): Promise<ExecuteResult> {
  const { agent } = config;
  // A misrouted event, not a model answer: InvalidEventError is not retried by the state machine.
  if (event.award.bidder !== agent.id) throw new InvalidEventError(agent.id, [`award ${String(event.award.attempt)} is for ${event.award.bidder}, not this agent`]);
  const instruction = event.requiredCapabilities.length > 0 ? `Cover each of: ${event.requiredCapabilities.join(', ')}.` : 'Carry out the task.';
  const reply = await model.converse({
    modelTier: agent.modelTier,
    system: agent.systemPrompt,
    prompt: [`You won the auction for this task: ${event.task}`, instruction, 'Start each part of your answer with the capability it covers, e.g. "translation: ...".'].join('\n'),
    maxTokens: maxReplyTokens(config),
    stateName: event.stateName,
    script: { kind: 'answer', agentId: agent.id, request: event.task, instruction, template: agent.scriptedReply },
  });
  const output = reply.text.trim();
  if (!output) throw new AgentOutputError(agent.id, 'empty result');
  return { bidder: agent.id, attempt: event.award.attempt, output, usage: reply.usage };
}

/** The result is the awarded bidder's, for this award. */
export function awardProblems(event: Pick<ExecuteEvent, 'award'>, result: Pick<ExecuteResult, 'bidder' | 'attempt'>): string[] {
  const problems: string[] = [];
  if (result.bidder !== event.award.bidder) problems.push(`result from ${result.bidder}, but the award is ${event.award.bidder}'s`);
  if (result.attempt !== event.award.attempt) problems.push(`result for award ${String(result.attempt)}, not ${String(event.award.attempt)}`);
  return problems;
}

export const executeStep = defineStep({
  step: 'execute',
  roles: ['bidder'],
  eventSchema: ExecuteEventSchema,
  resultSchema: ExecuteResultSchema,
  run: execute,
  invariants: (event: ExecuteEvent, result: ExecuteResult) => awardProblems(event, result),
});
