/**
 * hierarchical: a sub-team's errors reach the parent as States.TaskFailed, so the lead's steps tell
 * an infrastructure failure of a sub-team apart from the team's own (the Review fails the run
 * closed), and the roll-up lists the teams whose part is missing as the run's `degraded`.
 */
import { describe, expect, it } from 'vitest';
import { review } from '../../functions/patterns/hierarchical/review.ts';
import { rollup } from '../../functions/patterns/hierarchical/rollup.ts';
import type { ReviewEvent, RollupEvent, TeamPlan, TeamResult } from '../../functions/patterns/hierarchical/contract.ts';
import { InfrastructureError } from '../../functions/core/errors.ts';
import { loadTeamFile } from '../../functions/core/team.ts';
import { FixedReplyModel, stepContext, unusedModel } from '../support/agent-doubles.ts';
import { agentSettingsFor } from '../../functions/core/agent-settings.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { AGENT_FAILURE_ERRORS, DEFAULT_MODEL_IDS } from '../../functions/core/contract.ts';

/** A failed child as `.sync:2` reports it: States.TaskFailed, the child's describe-execution output as the cause. */
function failedTeam(subTeamId: string, childError: string): TeamResult {
  return {
    subTeamId,
    team: `${subTeamId}-research`,
    taskId: `t.${subTeamId}`,
    goal: 'g',
    status: 'FAILED',
    error: { Error: 'States.TaskFailed', Cause: JSON.stringify({ Error: childError, Cause: `${childError}: details`, Status: 'FAILED' }) },
  };
}
const succeeded = (subTeamId: string): TeamResult => ({ subTeamId, team: `${subTeamId}-research`, taskId: `t.${subTeamId}`, goal: 'g', status: 'SUCCEEDED', output: { answer: `${subTeamId} answer` } });

const plan = { route: 'delegate', round: 0, depth: 0, maxDepth: 2, childDepth: 1, assignments: [], reassigned: [], usage: { inputTokens: 0, outputTokens: 0 } } as TeamPlan;
const base = { taskId: 't', epoch: 1, stepId: 'r0', input: { request: 'Should we launch?' }, plan, retries: 0, replans: 0 };

describe('hierarchical: infrastructure failures of a sub-team, and degraded roll-ups', async () => {
  const team = await loadTeamFile('teams/research-hierarchy.yaml');
  const config: AgentConfig = {
    ...agentSettingsFor(team, 'strategist', (id) => `arn:aws:lambda:eu-west-1:123456789012:function:${id}`, (name) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${name}`),
    tableName: 'legion-checkpoints-unit-test',
    model: { provider: 'scripted', modelIds: DEFAULT_MODEL_IDS },
  };

  it.each(['CheckpointError', 'StaleWriterError', 'InfrastructureError', 'InfrastructureThrottledError'])('fails the review closed when a sub-team failed with %s: no retry, re-plan or roll-up around it', async (childError) => {
    const event = { ...base, step: 'review', stateName: 'Review', limits: { maxDepth: 2, maxFanOut: 4, maxTeamRetries: 1, maxReplans: 1 }, results: [succeeded('market'), failedTeam('technical', childError)] } as ReviewEvent;

    const failure = review(event, stepContext(config, unusedModel));

    await expect(failure).rejects.toBeInstanceOf(InfrastructureError);
    await expect(failure).rejects.toThrow(new RegExp(`sub-team technical failed on Legion's infrastructure: ${childError}`));
  });

  // A control function of the child (Begin, RollBack, RecordDetection, Escalate, the auction's) ends
  // it with its error's name; a name nobody sorted (a future raw AWS error) must fail closed too.
  it.each([
    'AccessDeniedException',
    'ProvisionedThroughputExceededException',
    'TransactionCanceledException',
    'ResourceNotFoundException',
    'TaskConflictError',
    'TaskOwnedByAnotherTeamError',
    'NoValidCheckpointError',
    'EventPublishError',
    'ApprovalHeartbeatTimeoutError',
    'UnknownRoute',
    'States.Runtime',
    'SomethingNobodyNamedYet',
  ])('fails the review closed when a sub-team ended with %s, which is no agent failure', async (childError) => {
    const event = { ...base, step: 'review', stateName: 'Review', limits: { maxDepth: 2, maxFanOut: 4, maxTeamRetries: 1, maxReplans: 1 }, results: [succeeded('market'), failedTeam('technical', childError)] } as ReviewEvent;

    const failure = review(event, stepContext(config, unusedModel));

    await expect(failure).rejects.toBeInstanceOf(InfrastructureError);
    await expect(failure).rejects.toMatchObject({ originalName: childError });
  });

  it.each([
    ['StepFunctions.AccessDeniedException', 'User is not authorized to perform: states:StartExecution'],
    ['StepFunctions.ExecutionLimitExceededException', 'Maximum number of running executions reached'],
    ['States.Runtime', 'An error occurred while executing the state RunTeam'],
  ])("fails the review closed when the parent's own nested-execution Task failed with %s", async (taskError, cause) => {
    const failed: TeamResult = { ...succeeded('technical'), status: 'FAILED', output: undefined, error: { Error: taskError, Cause: cause } };
    const event = { ...base, step: 'review', stateName: 'Review', limits: { maxDepth: 2, maxFanOut: 4, maxTeamRetries: 1, maxReplans: 1 }, results: [succeeded('market'), failed] } as ReviewEvent;

    await expect(review(event, stepContext(config, unusedModel))).rejects.toMatchObject({ name: 'InfrastructureError', originalName: taskError });
  });

  it.each([...AGENT_FAILURE_ERRORS])('leaves a sub-team that failed by itself (%s) to the lead', async (childError) => {
    const event = { ...base, step: 'review', stateName: 'Review', limits: { maxDepth: 2, maxFanOut: 4, maxTeamRetries: 1, maxReplans: 1 }, results: [succeeded('market'), failedTeam('technical', childError)] } as ReviewEvent;

    const verdict = await review(event, stepContext(config, new FixedReplyModel('{"decision": "done", "reason": "market answered"}')));

    expect(verdict.decision).toBe('done');
    expect(verdict.failedTeams).toEqual(['technical']);
  });

  it('lists the teams whose part is missing as degraded, with their run error, and none when whole', async () => {
    const model = new FixedReplyModel('Merged answer.');
    const partial = await rollup({ ...base, step: 'rollup', stateName: 'Rollup', results: [succeeded('market'), failedTeam('technical', 'ModelInvocationError')] } as RollupEvent, stepContext(config, model));
    const whole = await rollup({ ...base, step: 'rollup', stateName: 'Rollup', results: [succeeded('market')] } as RollupEvent, stepContext(config, model));

    expect(partial.degraded).toEqual([{ agentId: 'technical', reason: 'ModelInvocationError' }]);
    expect(whole.degraded).toEqual([]);
  });
});
