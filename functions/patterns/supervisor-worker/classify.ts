/**
 * The supervisor's first step: decide which workers a request needs. The model may only name
 * workers of the team's roster; the function each assignment invokes comes from that roster
 * (deploy-time configuration), never from model text.
 */
import { z } from 'zod';
import { type Assignment, type Plan, PlanSchema, ClassifyEventSchema } from '../../core/agent-contract.ts';
import { AgentOutputError, ConfigurationError, describeIssues } from '../../core/errors.ts';
import { planProblems } from '../../agents/output-invariants.ts';
import { converseForJson, jsonResponseFormat, parseModelJson } from '../../agents/steps/model-json.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { type StepContext, maxReplyTokens, renderConversation } from '../../agents/steps/step-context.ts';

type ClassifyEvent = z.infer<typeof ClassifyEventSchema>;

export async function classify(event: ClassifyEvent, { config, model, logger }: StepContext): Promise<Plan> {
  const { roster, agent } = config;
  if (roster.length === 0) throw new ConfigurationError([`agent ${agent.id} has no workers to delegate to`]);
  const { request, conversation: history } = event.input;
  const schema = intentsSchema(roster.map((entry) => entry.id));
  const { value: intents, reply } = await converseForJson(model, {
    modelTier: agent.modelTier,
    system: agent.systemPrompt,
    prompt: [
      'Decide which specialists must handle the customer request below.',
      'Specialists:',
      ...roster.map((entry) => `- ${entry.id}: ${entry.description} (topics: ${entry.capabilities.join(', ')})`),
      `Conversation so far:\n${renderConversation(history)}`,
      `Request: ${request}`,
      'Reply with JSON only: {"intents": [<ids of every specialist needed, or none>]}',
    ].join('\n'),
    maxTokens: maxReplyTokens(config),
    responseFormat: jsonResponseFormat('intents', schema),
    stateName: event.stateName,
    script: { kind: 'classify', request, candidates: roster },
  }, (text) => parseIntents(agent.id, text, schema));
  logger.info('classified request', { intents });
  const conversation = [...history, { from: 'customer' as const, text: request }];
  const assignments = intents.map((id): Assignment => {
    const entry = roster.find((candidate) => candidate.id === id);
    if (!entry) throw new AgentOutputError(agent.id, `unknown worker ${id}`);
    return { agentId: id, functionArn: entry.functionArn, instruction: `Answer the ${id} part of the request.` };
  });
  const plan: Plan = { route: intents.length > 0 ? 'delegate' : 'fallback', intents, assignments, conversation, usage: reply.usage };
  if (plan.route === 'fallback') {
    plan.fallback = {
      answer: config.fallbackAnswer,
      conversation: [...conversation, { from: 'agent', text: config.fallbackAnswer }],
    };
  }
  return plan;
}

function intentsSchema(allowed: readonly string[]) {
  return z.object({ intents: z.array(z.enum(allowed as [string, ...string[]])) });
}

function parseIntents(agentId: string, text: string, schema: ReturnType<typeof intentsSchema>): string[] {
  const parsed = schema.safeParse(parseModelJson(agentId, text));
  if (!parsed.success) throw new AgentOutputError(agentId, describeIssues(parsed.error.issues).join('; '));
  return [...new Set(parsed.data.intents)];
}

export const classifyStep = defineStep({
  step: 'classify',
  roles: ['supervisor'],
  eventSchema: ClassifyEventSchema,
  resultSchema: PlanSchema,
  run: classify,
  invariants: planProblems,
});
