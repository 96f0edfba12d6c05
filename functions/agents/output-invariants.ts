/**
 * Checks an agent step's result: its schema, then the invariants its step definition declares
 * (what the rest of the run relies on). The supervisor-worker invariants live here too: a plan may
 * only invoke the roster's functions; a worker answers for itself; a synthesis covers exactly the
 * workers that answered. A model cannot break these through its text (the steps build them), but
 * a bug, a custom step or a tampered payload can, and then nothing downstream should trust it.
 *
 * @example
 * ```ts
 * const problems = checkAgentResult(event, result, config);
 * if (problems.length > 0) throw new ConsistencyViolationError(config.agent.id, event.stateName, problems);
 * ```
 */
import type { z } from 'zod';
import type { Plan, Synthesis, SynthesizeEventSchema, WorkEventSchema, WorkerResult } from '../core/agent-contract.ts';
import type { AgentConfig } from '../core/config.ts';
import { describeIssues } from '../core/errors.ts';
import type { AgentStepDefinition, StepEventBase, StepResultBase } from './steps/step-definition.ts';

/** Lists every way a step's result breaks its schema or invariants; empty when consistent. */
export function checkStepResult(definition: AgentStepDefinition, event: StepEventBase, result: StepResultBase, config: AgentConfig): string[] {
  const outcome = definition.resultSchema.safeParse(result);
  if (!outcome.success) return describeIssues(outcome.error.issues);
  return definition.invariants?.(event, outcome.data, config) ?? [];
}

export function planProblems(_event: StepEventBase, plan: Plan, config: AgentConfig): string[] {
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

export function workProblems(event: z.infer<typeof WorkEventSchema>, answer: WorkerResult, config: AgentConfig): string[] {
  const problems: string[] = [];
  if (answer.agentId !== config.agent.id || answer.agentId !== event.assignment.agentId) {
    problems.push(`answer is from ${answer.agentId}, the assignment is for ${event.assignment.agentId}`);
  }
  if (answer.status === 'ANSWERED' && answer.answer.trim() === '') problems.push('status ANSWERED with an empty answer');
  return problems;
}

export function synthesisProblems(event: z.infer<typeof SynthesizeEventSchema>, synthesis: Synthesis): string[] {
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

/** Whether two lists hold the same items, ignoring order and repeats. */
export function sameMembers(left: readonly string[], right: readonly string[]): boolean {
  const a = new Set(left);
  const b = new Set(right);
  return a.size === b.size && [...a].every((item) => b.has(item));
}
