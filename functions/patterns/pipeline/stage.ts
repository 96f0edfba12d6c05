/**
 * A pipeline stage: one specialist turns the output of the stage before it into the next version
 * of the document (research notes, a draft, an edit, the published piece). Which agent runs comes
 * from the deployed stage list; the agent refuses an event meant for another stage.
 *
 * @example
 * ```ts
 * const result = await runStage(event, { config, model, logger }); // { agentId: 'writer', output: '...' }
 * ```
 */
import { STAGE_OUTPUT_LIMITS, type StageEvent, StageEventSchema, type StageResult, StageResultSchema } from './contract.ts';
import type { AgentConfig } from '../../core/config.ts';
import { AgentOutputError, InvalidEventError } from '../../core/errors.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';

/** The offline reply of a stage whose agent sets no `scriptedReply`. */
const DEFAULT_SCRIPTED_REPLY = '[{agent}] {description} This is the {agent} stage of the pipeline for the brief "{brief}".';

export async function runStage(event: StageEvent, { config, model }: StepContext): Promise<StageResult> {
  const { agent } = config;
  if (event.stage.agentId !== agent.id) {
    // A misrouted event, not a model answer: InvalidEventError is not retried by the state machine.
    throw new InvalidEventError(agent.id, [`the event is for stage ${event.stage.agentId}, not this agent`]);
  }
  const reply = await model.converse({
    modelTier: agent.modelTier,
    system: agent.systemPrompt,
    prompt: stagePrompt(event),
    maxTokens: maxReplyTokens(config),
    stateName: event.stateName,
    // Scripted shortcut (offline scripted model only; Bedrock reads the prompt): the agent's
    // `scriptedReply` template with the brief filled in, the same text for every attempt.
    script: { kind: 'fixed', text: scriptedStageReply(config, event.brief) },
  });
  const output = reply.text.trim();
  if (!output) throw new AgentOutputError(agent.id, 'empty stage output');
  const handBack = event.stage.index > 0 ? handBackIn(output) : null;
  // Handing back, the stage passes on the work it was given, unchanged: the previous stage redoes it.
  if (handBack) return { agentId: agent.id, output: event.previous, handBack, usage: reply.usage };
  return { agentId: agent.id, output, handBack: null, usage: reply.usage };
}

/** The prefix of a reply that hands the stage's input back to the stage before it. */
export const HAND_BACK_PREFIX = 'HAND BACK:';

/**
 * The instruction of a reply that hands back, or null for a normal output.
 *
 * @example
 * ```ts
 * handBackIn('HAND BACK: use a formal tone'); // { instruction: 'use a formal tone' }
 * ```
 */
export function handBackIn(output: string): { instruction: string } | null {
  if (!output.toUpperCase().startsWith(HAND_BACK_PREFIX)) return null;
  const instruction = output.slice(HAND_BACK_PREFIX.length).trim().slice(0, 2000);
  return { instruction: instruction || 'redo this work' };
}

function stagePrompt(event: StageEvent): string {
  const { index, count } = event.stage;
  return [
    `You are stage ${String(index + 1)} of ${String(count)} of a content pipeline.`,
    `Brief: ${event.brief}`,
    event.previous ? `Output of the previous stage:\n${event.previous}` : 'You are the first stage: start from the brief.',
    ...(event.feedback ? [`Your previous attempt was sent back: ${event.feedback}`] : []),
    ...(event.ruling?.agentId === event.stage.agentId ? [`Binding decision (conflict rule): ${event.ruling.instruction}`] : []),
    ...(event.stage.index > 0 ? [`If the previous stage's output cannot be used, reply "${HAND_BACK_PREFIX} <what the previous stage must change>" instead.`] : []),
    `Reply with your stage's output only, as plain text of ${String(STAGE_OUTPUT_LIMITS.minChars)} to ${String(STAGE_OUTPUT_LIMITS.maxChars)} characters, without placeholders.`,
  ].join('\n');
}

/**
 * The deterministic reply of the scripted model for this stage (one pass, so brief text is inserted verbatim).
 *
 * @example
 * ```ts
 * scriptedStageReply(writerConfig, 'Agent teams'); // 'Draft of "Agent teams": the introduction ...'
 * ```
 */
export function scriptedStageReply(config: AgentConfig, brief: string): string {
  const values: Record<string, string> = { agent: config.agent.id, description: config.agent.description, brief };
  return (config.agent.scriptedReply ?? DEFAULT_SCRIPTED_REPLY).replace(/\{(agent|description|brief)\}/g, (_placeholder, name: string) => values[name] ?? '');
}

/** A stage answers for itself, for the stage the state machine asked for, with some text. */
export function stageProblems(event: StageEvent, result: StageResult, config: AgentConfig): string[] {
  const problems: string[] = [];
  if (result.agentId !== config.agent.id || result.agentId !== event.stage.agentId) {
    problems.push(`output is from ${result.agentId}, the stage is ${event.stage.agentId}`);
  }
  if (result.output.trim() === '') problems.push('empty stage output');
  if (result.handBack && event.stage.index === 0) problems.push('the first stage has no stage to hand back to');
  if (result.handBack && result.output !== event.previous) problems.push('a hand-back must pass on the work it was given, unchanged');
  return problems;
}

export const stageStep = defineStep({
  step: 'stage',
  roles: ['stage'],
  eventSchema: StageEventSchema,
  resultSchema: StageResultSchema,
  run: runStage,
  invariants: stageProblems,
});
