/**
 * Run totals and task status on the local runtime: a hierarchical run (the lead's steps and each
 * sub-team's, run as nested executions) against DynamoDB Local, with the model calls counted by a
 * wrapper around the scripted model, so the totals are checked against the calls really made. A
 * run crashed at Review and resumed counts every step and call once: the steps it restored from
 * their checkpoints (the lead's Decompose, every step of both sub-teams) count nothing again.
 * An escalated run shows WAITING until a human's decision resumes it.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { childTaskId } from '../../functions/patterns/hierarchical/contract.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime } from '../../local/local-runtime.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

/** Test double around the scripted model: counts every call that reaches it. */
class CountingModel implements ModelProvider {
  public calls = 0;
  private readonly scripted = new ScriptedModel();

  public converse(request: ModelRequest): Promise<ModelReply> {
    this.calls += 1;
    return this.scripted.converse(request);
  }
}

const GOAL = { request: 'Should we launch a serverless AI agent platform for mid-sized companies next year?' };
const SUB_TEAMS = ['market-research', 'technical-research'] as const;

describe('Feature: run totals and task status (local runtime, hierarchical)', () => {
  let team: TeamDefinition;

  function withRuntime<T>(model: ModelProvider, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
    return withTestRuntime({ model }, work);
  }

  /** Step checkpoints of the task and of both its sub-teams' tasks: every agent step that ran to its end once. */
  async function familySteps(runtime: LocalRuntime, taskId: string): Promise<number> {
    const tasks = [taskId, ...SUB_TEAMS.map((name, index) => childTaskId(taskId, name, 0, index))];
    const checkpoints = await Promise.all(tasks.map((id) => runtime.checkpoints(id)));
    return checkpoints.flat().filter((checkpoint) => checkpoint.kind === 'step').length;
  }

  beforeAll(async () => {
    team = await loadTeamFile('teams/research-hierarchy.yaml');
  });

  it('totals every model call and agent step of the run, the sub-teams included; the status items say how each task ended', async () => {
    const taskId = `totals-${randomUUID()}`;
    const model = new CountingModel();
    await withRuntime(model, async (runtime) => {
      const result = await runtime.run({ team, input: GOAL, taskId });

      expect(result.status).toBe('SUCCEEDED');
      // The lead's own trace is 3 steps; the sub-teams' steps are in the totals.
      expect(result.trace).toHaveLength(3);
      expect(result.totals.modelCalls).toBe(model.calls);
      expect(result.totals.agentSteps).toBe(await familySteps(runtime, taskId));
      expect(result.totals.agentSteps).toBeGreaterThan(result.trace.length);
      expect(result.totals).toMatchObject({ rollbacks: 0, detections: 0, budgetRefusals: 0, checkpoints: result.totals.agentSteps });
      expect(result.totals.inputTokens).toBeGreaterThan(0);
      expect(result.totals.outputTokens).toBeGreaterThan(0);

      const report = await runtime.taskStatus(taskId);
      expect(report?.status).toMatchObject({ taskId, team: 'research-hierarchy', pattern: 'hierarchical', status: 'SUCCEEDED', currentState: 'Rollup', agent: 'strategist', stepsDone: 3 });
      expect(report?.totals).toEqual(result.totals);
      expect(report?.children.map((child) => [child.team, child.status, child.stepsDone, child.parent])).toEqual(
        SUB_TEAMS.map((name) => [name, 'SUCCEEDED', 4, { team: 'research-hierarchy', taskId }]),
      );
    });
  });

  it('crashed at Review and resumed, counts each step and model call once: restored steps add nothing', async () => {
    const reference = await withRuntime(new CountingModel(), (runtime) => runtime.run({ team, input: GOAL, taskId: `totals-ref-${randomUUID()}` }));
    const taskId = `totals-res-${randomUUID()}`;
    const first = new CountingModel();
    const controller = new AbortController();
    const crashed = await withRuntime(first, (runtime) =>
      runtime.run({ team, input: GOAL, taskId, signal: controller.signal, onStateEntered: (state) => { if (state === 'Review') controller.abort(); } }),
    );
    const second = new CountingModel();
    const resumed = await withRuntime(second, async (runtime) => {
      const result = await runtime.resume({ team, taskId });
      expect(result.totals.agentSteps).toBe(await familySteps(runtime, taskId));
      return result;
    });

    expect(crashed.status).toBe('ABORTED');
    expect(crashed.totals.agentSteps).toBeLessThan(reference.totals.agentSteps);
    expect(resumed.status).toBe('SUCCEEDED');
    // The sub-teams ran again as nested executions, from their checkpoints: no call, no step.
    expect(second.calls).toBeLessThan(first.calls);
    expect(resumed.totals.modelCalls).toBe(first.calls + second.calls);
    expect(resumed.totals).toMatchObject({ modelCalls: reference.totals.modelCalls, agentSteps: reference.totals.agentSteps, checkpoints: reference.totals.checkpoints });
  });

  it('shows an escalated task WAITING for a human, with its rollbacks in the totals, until the approval ends it', async () => {
    const telecom = await loadTeamFile('teams/telecom-support.yaml');
    const taskId = `totals-wait-${randomUUID()}`;
    const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Classify', times: 9 }] });
    await withRuntime(model, async (runtime) => {
      const waiting = await runtime.run({ team: telecom, input: telecom.example, taskId });
      expect(waiting.status).toBe('WAITING');
      expect((await runtime.taskStatus(taskId))?.status.status).toBe('WAITING');
      expect(waiting.totals.rollbacks).toBe(waiting.rollbacks.length);
      // Every Classify broke its contract: no step done, but each one's model call was made and counts.
      expect(waiting.totals.agentSteps).toBe(0);
      expect(waiting.totals.modelCalls).toBe(waiting.modelCalls);
      expect(waiting.totals.modelCalls).toBeGreaterThan(0);

      const approved = await runtime.approve({ team: telecom, taskId, output: { answer: 'done by a human' }, by: 'test' });
      expect(approved.status).toBe('SUCCEEDED');
      expect((await runtime.taskStatus(taskId))?.status.status).toBe('SUCCEEDED');
    });
  });
});
