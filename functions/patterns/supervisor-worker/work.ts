/** A worker's step: answer its part of the request. */
import type { z } from 'zod';
import { WorkEventSchema, type WorkerResult, WorkerResultSchema } from '../../core/agent-contract.ts';
import { AgentOutputError, InvalidEventError } from '../../core/errors.ts';
import { workProblems } from '../../agents/output-invariants.ts';
import { type StepContext, maxReplyTokens, renderConversation } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';

type WorkEvent = z.infer<typeof WorkEventSchema>;

export async function work(event: WorkEvent, { config, model }: StepContext): Promise<WorkerResult> {
  const { agent } = config;
  if (event.assignment.agentId !== agent.id) {
    // A misrouted event, not a model answer: InvalidEventError is not retried by the state machine.
    throw new InvalidEventError(agent.id, [`assignment is for ${event.assignment.agentId}, not this agent`]);
  }
  const reply = await model.converse({
    modelTier: agent.modelTier,
    system: agent.systemPrompt,
    prompt: [
      `Conversation so far:\n${renderConversation(event.conversation)}`,
      `Customer request: ${event.request}`,
      `Your task: ${event.assignment.instruction}`,
      'Answer in two or three sentences, only about your area.',
    ].join('\n'),
    maxTokens: maxReplyTokens(config),
    stateName: event.stateName,
    script: {
      kind: 'answer',
      agentId: agent.id,
      request: event.request,
      instruction: event.assignment.instruction,
      template: agent.scriptedReply,
    },
  });
  const answer = reply.text.trim();
  if (!answer) throw new AgentOutputError(agent.id, 'empty answer');
  return { agentId: agent.id, status: 'ANSWERED', answer, usage: reply.usage };
}

export const workStep = defineStep({
  step: 'work',
  roles: ['worker'],
  eventSchema: WorkEventSchema,
  resultSchema: WorkerResultSchema,
  run: work,
  invariants: workProblems,
});
