/**
 * The invariants of each agent step's result, beyond its schema: what the rest of the run relies
 * on. A plan may only invoke the roster's functions; a worker answers for itself; a synthesis
 * covers exactly the workers that answered. A model cannot break these through its text (the steps
 * build them), but a bug, a custom step or a tampered payload can, and then nothing downstream
 * should trust the result.
 *
 * @example
 * ```ts
 * const problems = checkAgentResult(event, result, config);
 * if (problems.length > 0) throw new ConsistencyViolationError(config.agent.id, event.stateName, problems);
 * ```
 */
import {
  type AgentEvent,
  type AgentResult,
  PlanSchema,
  SynthesisSchema,
  WorkerResultSchema,
} from '../shared/agent-contract.ts';
import type { AgentConfig } from '../shared/config.ts';
import { describeIssues } from '../shared/errors.ts';
import type { z } from 'zod';

type EventOf<S extends AgentEvent['step']> = Extract<AgentEvent, { step: S }>;

/** Lists every way a step's result breaks its schema or invariants; empty when consistent. */
export function checkAgentResult(event: AgentEvent, result: AgentResult, config: AgentConfig): string[] {
  switch (event.step) {
    case 'classify':
      return parsed(PlanSchema, result, (plan) => planProblems(plan, config));
    case 'work':
      return parsed(WorkerResultSchema, result, (answer) => workProblems(event, answer, config));
    case 'synthesize':
      return parsed(SynthesisSchema, result, (synthesis) => synthesisProblems(event, synthesis));
  }
}

function parsed<T>(schema: z.ZodType<T>, result: unknown, invariants: (value: T) => string[]): string[] {
  const outcome = schema.safeParse(result);
  return outcome.success ? invariants(outcome.data) : describeIssues(outcome.error.issues);
}

function planProblems(plan: z.infer<typeof PlanSchema>, config: AgentConfig): string[] {
  const problems: string[] = [];
  const assigned = plan.assignments.map((assignment) => assignment.agentId);
  for (const assignment of plan.assignments) {
    const entry = config.roster.find((candidate) => candidate.id === assignment.agentId);
    if (!entry) problems.push(`assignment ${assignment.agentId}: not a worker of the roster`);
    else if (entry.functionArn !== assignment.functionArn) problems.push(`assignment ${assignment.agentId}: function is not the roster's`);
  }
  if (new Set(assigned).size !== assigned.length) problems.push('a worker is assigned twice');
  if (!sameMembers(assigned, plan.intents)) problems.push('intents and assignments name different workers');
  if ((plan.route === 'delegate') !== assigned.length > 0) problems.push(`route ${plan.route} does not fit ${assigned.length} assignments`);
  if (plan.route === 'fallback' && !plan.fallback) problems.push('route fallback without a fallback answer');
  return problems;
}

function workProblems(event: EventOf<'work'>, answer: z.infer<typeof WorkerResultSchema>, config: AgentConfig): string[] {
  const problems: string[] = [];
  if (answer.agentId !== config.agent.id || answer.agentId !== event.assignment.agentId) {
    problems.push(`answer is from ${answer.agentId}, the assignment is for ${event.assignment.agentId}`);
  }
  if (answer.status === 'ANSWERED' && answer.answer.trim() === '') problems.push('status ANSWERED with an empty answer');
  return problems;
}

function synthesisProblems(event: EventOf<'synthesize'>, synthesis: z.infer<typeof SynthesisSchema>): string[] {
  const problems: string[] = [];
  const answered = event.results.filter((result) => result.status === 'ANSWERED').map((result) => result.agentId);
  if (!sameMembers(synthesis.handledBy, answered)) problems.push(`handledBy ${synthesis.handledBy.join(',')} is not the workers that answered (${answered.join(',')})`);
  if (!sameMembers(synthesis.intents, event.plan.intents)) problems.push('intents differ from the plan');
  const last = synthesis.conversation.at(-1);
  if (synthesis.conversation.length !== event.plan.conversation.length + 1 || last?.from !== 'agent' || last.text !== synthesis.answer) {
    problems.push('conversation is not the plan conversation followed by this answer');
  }
  return problems;
}

function sameMembers(left: readonly string[], right: readonly string[]): boolean {
  const a = new Set(left);
  const b = new Set(right);
  return a.size === b.size && [...a].every((item) => b.has(item));
}
