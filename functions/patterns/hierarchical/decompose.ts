/**
 * The strategic lead's first step: split the goal into sub-goals, each for one sub-team of its
 * roster. The model names sub-teams by id only; the state machine each assignment starts comes from
 * the roster (deployment configuration), and each child task id is derived from this task's id, the
 * plan round and the sub-goal's index, so a resumed parent resumes its children. At the depth
 * limit the lead does not delegate at all, and says so.
 */
import { z } from 'zod';
import {
  DecomposeEventSchema,
  type DecomposeEvent,
  type TeamAssignment,
  type TeamPlan,
  TeamPlanSchema,
  type TeamResult,
  childTaskId,
} from './contract.ts';
import type { AgentConfig, TeamRosterEntry } from '../../core/config.ts';
import { AgentOutputError, ConfigurationError, describeIssues } from '../../core/errors.ts';
import { converseForJson, jsonResponseFormat, parseModelJson } from '../../agents/steps/model-json.ts';
import { type StepContext, maxReplyTokens } from '../../agents/steps/step-context.ts';
import { defineStep } from '../../agents/steps/step-definition.ts';
import { errorText } from './team-results.ts';

const NO_USAGE = { inputTokens: 0, outputTokens: 0 };

/** The depth limit in force: the team's own, or a stricter one handed down by the executions above. */
export function effectiveMaxDepth(event: DecomposeEvent): number {
  return Math.min(event.limits.maxDepth, event.input.maxDepth ?? event.limits.maxDepth);
}

export async function decompose(event: DecomposeEvent, { config, model, logger }: StepContext): Promise<TeamPlan> {
  const roster = rosterOf(config);
  const { depth, request: goal } = event.input;
  const maxDepth = effectiveMaxDepth(event);
  const base = { round: event.round, depth, maxDepth, childDepth: depth + 1 };
  if (depth >= maxDepth) {
    logger.warn('depth limit reached: not delegating', { depth, maxDepth });
    return { route: 'depth-limit', ...base, assignments: [], reassigned: [], usage: NO_USAGE };
  }
  const schema = subGoalsSchema(roster);
  const { value: subGoals, reply } = await converseForJson(model, {
    modelTier: config.agent.modelTier,
    system: config.agent.systemPrompt,
    prompt: planPrompt(goal, roster, event),
    maxTokens: maxReplyTokens(config),
    responseFormat: jsonResponseFormat('plan', schema),
    stateName: event.stateName,
    // Scripted shortcut (offline model only): the plan this step would accept, worked out here.
    script: { kind: 'fixed', text: JSON.stringify({ subGoals: scriptedSubGoals(goal, roster, event.feedback) }) },
  }, (text) => parseSubGoals(config.agent.id, text, schema, event.limits.maxFanOut));
  const assignments = subGoals.map((subGoal, index): TeamAssignment => {
    const entry = roster.find((candidate) => candidate.id === subGoal.team);
    if (!entry) throw new AgentOutputError(config.agent.id, `unknown sub-team ${subGoal.team}`);
    return { subTeamId: entry.id, team: entry.team, stateMachineArn: entry.stateMachineArn, taskId: childTaskId(event.taskId, entry.team, event.round, index), goal: subGoal.goal };
  });
  logger.info('goal decomposed', { round: event.round, teams: assignments.map((assignment) => assignment.subTeamId) });
  return { route: 'delegate', ...base, assignments, reassigned: reassignments(event.feedback, assignments), usage: reply.usage };
}

function rosterOf(config: AgentConfig): TeamRosterEntry[] {
  const roster = config.teams ?? [];
  if (roster.length === 0) throw new ConfigurationError([`lead ${config.agent.id} has no sub-teams to delegate to`]);
  return roster;
}

function planPrompt(goal: string, roster: readonly TeamRosterEntry[], event: DecomposeEvent): string {
  const failed = event.feedback.filter((result) => result.status === 'FAILED');
  return [
    'Split the goal below into sub-goals, each for one of these teams:',
    ...roster.map((entry) => `- ${entry.id}: ${entry.description} (topics: ${entry.capabilities.join(', ')})`),
    `Goal: ${goal}`,
    ...(failed.length > 0 ? ['These teams failed last time; re-plan around them:', ...failed.map((result) => `- ${result.subTeamId} (${result.goal}): ${errorText(result)}`)] : []),
    `At most ${event.limits.maxFanOut} sub-goals.`,
    'Reply with JSON only: {"subGoals": [{"team": "<team id>", "goal": "<sub-goal>"}]}',
  ].join('\n');
}

/**
 * The deterministic plan of the scripted model: one sub-goal per sub-team, in roster order. On a
 * re-plan, a failed team's sub-goal goes to the first team that succeeded (if any), the others keep theirs.
 */
export function scriptedSubGoals(goal: string, roster: readonly TeamRosterEntry[], feedback: readonly TeamResult[]): { team: string; goal: string }[] {
  if (feedback.length === 0) return roster.map((entry) => ({ team: entry.id, goal: `Research the ${entry.capabilities.join(', ')} side of: ${goal}` }));
  const healthy = feedback.find((result) => result.status === 'SUCCEEDED')?.subTeamId;
  return feedback.map((result) => ({ team: result.status === 'FAILED' && healthy ? healthy : result.subTeamId, goal: result.goal }));
}

function subGoalsSchema(roster: readonly TeamRosterEntry[]) {
  const ids = roster.map((entry) => entry.id) as [string, ...string[]];
  return z.object({ subGoals: z.array(z.object({ team: z.enum(ids), goal: z.string().trim().min(1).max(8000) })).min(1) });
}

function parseSubGoals(agentId: string, text: string, schema: ReturnType<typeof subGoalsSchema>, maxFanOut: number): { team: string; goal: string }[] {
  const parsed = schema.safeParse(parseModelJson(agentId, text));
  if (!parsed.success) throw new AgentOutputError(agentId, describeIssues(parsed.error.issues).join('; '));
  const { subGoals } = parsed.data;
  if (subGoals.length > maxFanOut) throw new AgentOutputError(agentId, `plan has ${subGoals.length} sub-goals, over limits.maxFanOut ${maxFanOut}`);
  return subGoals;
}

/** Where each team that failed last round had its sub-goal moved. */
function reassignments(feedback: readonly TeamResult[], assignments: readonly TeamAssignment[]): TeamPlan['reassigned'] {
  return feedback
    .filter((result) => result.status === 'FAILED')
    .map((result) => ({ from: result.subTeamId, to: assignments.find((assignment) => assignment.goal === result.goal)?.subTeamId ?? 'nobody', error: errorText(result) }));
}

/** A plan may only start the roster's machines, within the fan-out, on the derived child task ids. */
export function teamPlanProblems(event: DecomposeEvent, plan: TeamPlan, config: AgentConfig): string[] {
  const problems: string[] = [];
  const roster = config.teams ?? [];
  if (plan.assignments.length > event.limits.maxFanOut) problems.push(`${plan.assignments.length} assignments, over limits.maxFanOut ${event.limits.maxFanOut}`);
  plan.assignments.forEach((assignment, index) => {
    const entry = roster.find((candidate) => candidate.id === assignment.subTeamId);
    if (!entry) problems.push(`assignment ${assignment.subTeamId}: not a sub-team of the roster`);
    else if (entry.stateMachineArn !== assignment.stateMachineArn || entry.team !== assignment.team) problems.push(`assignment ${assignment.subTeamId}: state machine is not the roster's`);
    if (assignment.taskId !== childTaskId(event.taskId, assignment.team, event.round, index)) problems.push(`assignment ${index}: task id is not derived from the parent task for its team`);
  });
  const tooDeep = event.input.depth >= effectiveMaxDepth(event);
  if ((plan.route === 'depth-limit') !== tooDeep) problems.push(`route ${plan.route} at depth ${event.input.depth} of ${effectiveMaxDepth(event)}`);
  if ((plan.route === 'delegate') !== plan.assignments.length > 0) problems.push(`route ${plan.route} does not fit ${plan.assignments.length} assignments`);
  if (plan.childDepth !== event.input.depth + 1 || plan.round !== event.round) problems.push('childDepth or round do not follow from the event');
  return problems;
}

export const decomposeStep = defineStep({
  step: 'decompose',
  roles: ['lead'],
  eventSchema: DecomposeEventSchema,
  resultSchema: TeamPlanSchema,
  run: decompose,
  invariants: teamPlanProblems,
});
