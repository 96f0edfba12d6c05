/**
 * The supervisor's last step: merge the workers' answers into one reply. A worker that failed is
 * named in a fixed sentence (not model text) so the customer knows that part will follow, and
 * listed in the result's `degraded` with the error it failed with.
 */
import type { z } from 'zod';
import { type Synthesis, SynthesisSchema, SynthesizeEventSchema } from '../../core/agent-contract.ts';
import { AgentOutputError } from '../../core/errors.ts';
import { synthesisProblems } from '../../agents/output-invariants.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';

type SynthesizeEvent = z.infer<typeof SynthesizeEventSchema>;

export async function synthesize(event: SynthesizeEvent, { config, model }: StepContext): Promise<Synthesis> {
  const { agent } = config;
  const answered = event.results.filter((result) => result.status === 'ANSWERED');
  const failedResults = event.results.filter((result) => result.status === 'FAILED');
  const failed = failedResults.map((result) => result.agentId);
  let answer = '';
  let usage = { inputTokens: 0, outputTokens: 0 };
  if (answered.length > 0) {
    const reply = await model.converse({
      modelTier: agent.modelTier,
      system: agent.systemPrompt,
      prompt: [
        `Customer request: ${event.input.request}`,
        'Specialist answers:',
        ...answered.map((result) => `- ${result.agentId}: ${result.answer}`),
        'Write one friendly reply to the customer that covers every specialist answer.',
      ].join('\n'),
      maxTokens: maxReplyTokens(config),
      stateName: event.stateName,
      script: { kind: 'synthesize', request: event.input.request, parts: answered },
    });
    answer = reply.text.trim();
    usage = reply.usage;
    if (!answer) throw new AgentOutputError(agent.id, 'empty synthesis');
  }
  if (failed.length > 0) {
    const teams = failed.length === 1 ? 'team' : 'teams';
    answer = [answer, `Our ${failed.join(' and ')} ${teams} could not answer right now; we will follow up shortly.`]
      .filter(Boolean)
      .join('\n');
  }
  return {
    answer,
    intents: event.plan.intents,
    handledBy: answered.map((result) => result.agentId),
    conversation: [...event.plan.conversation, { from: 'agent', text: answer }],
    // Said in the result, not only in the text: a caller (and the RunSucceeded event) can tell a partial answer.
    degraded: failedResults.map((result) => ({ agentId: result.agentId, reason: result.error ?? 'unavailable' })),
    usage,
  };
}

export const synthesizeStep = defineStep({
  step: 'synthesize',
  roles: ['supervisor'],
  eventSchema: SynthesizeEventSchema,
  resultSchema: SynthesisSchema,
  run: synthesize,
  invariants: synthesisProblems,
});
