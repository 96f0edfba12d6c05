/**
 * The hierarchical pattern on the local runtime: the real ASL, the lead's real middy-wrapped
 * handlers, and each sub-team run as a nested execution of its own state machine (emulated
 * `states:startExecution.sync:2`) against DynamoDB Local. Covers the happy path, a failed team
 * (retry, re-plan, fail), the depth and fan-out limits, and crash + resume (at Review and while
 * a child runs).
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Rollup, type ReviewVerdict, childTaskId } from '../../functions/patterns/hierarchical/contract.ts';
import { ModelInvocationError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

/** The research hierarchy's sub-teams, in the order its lead assigns them (index 0, 1). */
const RESEARCH_TEAMS = ['market-research', 'technical-research'];

/**
 * Test double (not a real model): the scripted model, except that the Classify calls of the
 * sub-teams whose supervisor's system prompt contains one of `failing` throw ModelInvocationError,
 * `times` calls in all (each child execution makes 3 Classify calls before it gives up: 1 + 2 retries).
 */
class FailingTeamModel implements ModelProvider {
  private readonly scripted = new ScriptedModel();
  private left: number;

  public constructor(
    private readonly failing: readonly string[],
    times = Number.POSITIVE_INFINITY,
  ) {
    this.left = times;
  }

  public converse(request: ModelRequest): Promise<ModelReply> {
    const hit = request.stateName === 'Classify' && this.failing.some((marker) => request.system.includes(marker));
    if (hit && this.left > 0) {
      this.left -= 1;
      return Promise.reject(new ModelInvocationError('fake', 'the team is unavailable'));
    }
    return this.scripted.converse(request);
  }
}

const MARKET = 'market research team';
const TECHNICAL = 'technical research team';
const GOAL = { request: 'Should we launch a serverless AI agent platform for mid-sized companies next year?' };

/** A state hook that aborts the run as it enters `target` (a crash there). */
const abortAt =
  (target: string, controller: AbortController) =>
  (state: string): void => {
    if (state === target) controller.abort();
  };

/** The output without the task ids, which depend on the parent task id. */
function withoutTaskIds(output: unknown): unknown {
  return JSON.parse(JSON.stringify(output), (key, value: unknown) => (key === 'taskId' ? undefined : value)) as unknown;
}

describe('Feature: hierarchical pattern (local runtime)', () => {
  let team: TeamDefinition;
  let reference: RunResult;

  function withRuntime<T>(model: ModelProvider, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
    return withTestRuntime({ model }, work);
  }

  const stepStates = async (runtime: LocalRuntime, taskId: string): Promise<string[]> =>
    (await runtime.checkpoints(taskId)).filter((checkpoint) => checkpoint.kind === 'step' && checkpoint.valid).map((checkpoint) => checkpoint.stateName);

  beforeAll(async () => {
    team = await loadTeamFile('teams/research-hierarchy.yaml');
    reference = await withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team, input: GOAL, taskId: `hier-ref-${randomUUID()}` }));
  });

  describe('Scenario: happy path', () => {
    it('runs both sub-teams as nested executions with their own checkpoints and rolls their answers up', async () => {
      const taskId = `hier-${randomUUID()}`;
      await withRuntime(new ScriptedModel(), async (runtime) => {
        const result = await runtime.run({ team, input: GOAL, taskId });
        const output = result.output as Rollup;

        expect(result.status).toBe('SUCCEEDED');
        expect(result.trace.map((step) => step.state)).toEqual(['Decompose', 'Review', 'Rollup']);
        expect(output.teams.map((report) => [report.subTeamId, report.team, report.status, report.taskId])).toEqual([
          ['market', 'market-research', 'SUCCEEDED', childTaskId(taskId, 'market-research', 0, 0)],
          ['technical', 'technical-research', 'SUCCEEDED', childTaskId(taskId, 'technical-research', 0, 1)],
        ]);
        for (const report of output.teams) {
          expect((await stepStates(runtime, report.taskId)).sort()).toEqual(['Classify', 'Synthesize', 'Work', 'Work']);
          expect((await runtime.describeTask(report.taskId))?.team).toBe(report.team);
        }
        expect(output.answer).toMatch(/\[market\] Competitors:/);
        expect(output.answer).toMatch(/\[technical\] Architecture:/);
        expect(output).toMatchObject({ failedTeams: [], reassigned: [], retries: 0, replans: 0, limitsHit: [], depth: 0 });
      });
    });
  });

  describe('Scenario: a team fails', () => {
    it('reports the failed team to the lead, which retries it; the finished team replays from its checkpoints', async () => {
      const taskId = `hier-retry-${randomUUID()}`;
      // One child execution's worth of failures (3 Classify calls): the retry succeeds.
      const result = await withRuntime(new FailingTeamModel([TECHNICAL], 3), async (runtime) => {
        const run = await runtime.run({ team, input: GOAL, taskId });
        const reviews = (await runtime.checkpoints(taskId)).filter((checkpoint) => checkpoint.stateName === 'Review');
        const verdicts = reviews.map((checkpoint) => JSON.parse(checkpoint.state) as ReviewVerdict);
        expect(verdicts.map((verdict) => [verdict.decision, verdict.failedTeams])).toEqual([
          ['retry', ['technical']],
          ['done', []],
        ]);
        // The market team's steps ran once: the retry replayed them from their checkpoints.
        expect((await stepStates(runtime, childTaskId(taskId, 'market-research', 0, 0))).sort()).toEqual(['Classify', 'Synthesize', 'Work', 'Work']);
        return run;
      });

      expect(result.status).toBe('SUCCEEDED');
      expect(withoutTaskIds(result.output)).toEqual({ ...(withoutTaskIds(reference.output) as object), retries: 1 });
    });

    it('re-plans when the retry fails too: the failed team is reported and its sub-goal moves to a healthy team', async () => {
      const result = await withRuntime(new FailingTeamModel([TECHNICAL]), (runtime) => runtime.run({ team, input: GOAL, taskId: `hier-replan-${randomUUID()}` }));
      const output = result.output as Rollup;

      expect(result.status).toBe('SUCCEEDED');
      expect(output).toMatchObject({ retries: 1, replans: 1, failedTeams: [] });
      expect(output.teams.map((report) => report.subTeamId)).toEqual(['market', 'market']);
      expect(output.reassigned).toEqual([{ from: 'technical', to: 'market', error: expect.stringMatching(/ClassificationFailed|ModelInvocationError/) as unknown }]);
      expect(output.answer).toMatch(/Team technical failed earlier \(.+\); its sub-goal went to market\./);
    });

    it('fails the run when every team keeps failing, naming the teams', async () => {
      const result = await withRuntime(new FailingTeamModel([MARKET, TECHNICAL]), (runtime) => runtime.run({ team, input: GOAL, taskId: `hier-fail-${randomUUID()}` }));

      expect(result.status).toBe('FAILED');
      expect(result.error).toEqual({ error: 'TeamsFailed', cause: 'market, technical failed' });
      expect(result.trace.map((step) => step.state)).toEqual(['Decompose', 'Review', 'Review', 'Decompose', 'Review']);
    });
  });

  describe('Scenario: limits', () => {
    it('stops delegating at maxDepth and reports it up to the top', async () => {
      const deep = await loadTeamFile('test/fixtures/teams/deep-hierarchy.yaml');
      const taskId = `hier-depth-${randomUUID()}`;
      await withRuntime(new ScriptedModel(), async (runtime) => {
        const result = await runtime.run({ team: deep, input: deep.example, taskId });
        const output = result.output as Rollup;
        const nestedTaskId = childTaskId(taskId, 'nested-hierarchy', 0, 0);

        expect(result.status).toBe('SUCCEEDED');
        expect(output.teams).toMatchObject([{ subTeamId: 'nested', team: 'nested-hierarchy', status: 'SUCCEEDED' }]);
        expect(output.limitsHit).toEqual(['nested > maxDepth: team nested-hierarchy at depth 1 reached the depth limit of 1 and did not delegate its goal']);
        expect(output.answer).toMatch(/Limit hit: nested > maxDepth/);
        // The nested lead planned and rolled up without starting any team of its own.
        expect(await stepStates(runtime, nestedTaskId)).toEqual(['Decompose', 'Rollup']);
        expect(await runtime.describeTask(childTaskId(nestedTaskId, 'market-research', 0, 0))).toBeUndefined();
      });
    });

    it('delegates one level further when maxDepth allows it', async () => {
      const deep = await loadTeamFile('test/fixtures/teams/deep-hierarchy.yaml');
      const roomy: TeamDefinition = { ...deep, limits: { ...deep.limits, maxDepth: 2 } };
      const result = await withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team: roomy, input: roomy.example, taskId: `hier-depth2-${randomUUID()}` }));

      expect(result.status).toBe('SUCCEEDED');
      expect((result.output as Rollup).limitsHit).toEqual([]);
      expect((result.output as Rollup).answer).toMatch(/\[nested\] \[market\]/);
    });

    it('rejects a plan over maxFanOut: rolled back, then escalated, and no team is started', async () => {
      const wide = await loadTeamFile('test/fixtures/teams/wide-hierarchy.yaml');
      const taskId = `hier-fanout-${randomUUID()}`;
      await withRuntime(new ScriptedModel(), async (runtime) => {
        const result = await runtime.run({ team: wide, input: wide.example, taskId });

        expect(result.status).toBe('WAITING');
        expect(result.approval?.escalation.Error).toBe('RollbackLimitExceededError');
        expect(result.rollbacks).toHaveLength(1);
        expect(result.rollbacks[0]?.reason).toMatch(/plan has 3 sub-goals, over limits.maxFanOut 2/);
        expect(await runtime.describeTask(childTaskId(taskId, 'market-research', 0, 0))).toBeUndefined();
      });
    });
  });

  describe('Scenario: crash mid-pattern and resume', () => {
    it('aborted at Review, resumes to the same output without running any team again', async () => {
      const taskId = `hier-crash-${randomUUID()}`;
      const controller = new AbortController();
      const crashed = await withRuntime(new ScriptedModel(), (runtime) =>
        runtime.run({ team, input: GOAL, taskId, signal: controller.signal, onStateEntered: abortAt('Review', controller) }),
      );
      const resumed = await withRuntime(new ScriptedModel(), async (runtime) => {
        const result = await runtime.resume({ team, taskId });
        for (const index of [0, 1]) expect((await stepStates(runtime, childTaskId(taskId, RESEARCH_TEAMS[index] ?? '', 0, index))).sort()).toEqual(['Classify', 'Synthesize', 'Work', 'Work']);
        return result;
      });

      expect(crashed.status).toBe('ABORTED');
      expect(resumed.status).toBe('SUCCEEDED');
      expect(withoutTaskIds(resumed.output)).toEqual(withoutTaskIds(reference.output));
      // Decompose and both teams came from checkpoints; Review needs no model when nothing failed: only Rollup ran.
      expect(resumed.modelCalls).toBe(1);
    });

    it('aborted while a child runs, resumes the child on its task: its finished steps are not run again', async () => {
      const taskId = `hier-crash-child-${randomUUID()}`;
      const controller = new AbortController();
      const crashed = await withRuntime(new ScriptedModel(), (runtime) =>
        runtime.run({ team, input: GOAL, taskId, signal: controller.signal, onStateEntered: abortAt('technical-research/Synthesize', controller) }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200)); // let the abandoned handlers settle, as a dead process would not
      const resumed = await withRuntime(new ScriptedModel(), async (runtime) => {
        const result = await runtime.resume({ team, taskId });
        for (const index of [0, 1]) expect((await stepStates(runtime, childTaskId(taskId, RESEARCH_TEAMS[index] ?? '', 0, index))).sort()).toEqual(['Classify', 'Synthesize', 'Work', 'Work']);
        return result;
      });

      expect(crashed.status).toBe('ABORTED');
      expect(resumed.status).toBe('SUCCEEDED');
      expect(withoutTaskIds(resumed.output)).toEqual(withoutTaskIds(reference.output));
      expect(resumed.modelCalls).toBeLessThan(reference.modelCalls);
    });
  });
});
