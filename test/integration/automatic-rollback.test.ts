/**
 * Automatic rollback on the local runtime (real ASL, real handlers, DynamoDB Local): a step whose
 * result breaks its contract is not checkpointed, the task rolls back to its latest valid
 * checkpoint, the step runs again, and past the team's limit the run escalates. The faults come
 * from the scripted model's `off-contract` switch (a scripted shortcut, named as such), or from a
 * fake model that tampers with one reply.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { METRICS } from '../../functions/core/contract.ts';
import type { ModelProvider } from '../../functions/models/model-provider.ts';
import { ScriptedModel, type ScriptedFault } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';

const REQUEST = { request: 'My bill is wrong and my wifi keeps dropping' };

describe('Feature: automatic rollback on an inconsistent step result', () => {
  let team: TeamDefinition;
  let endpoint: string;
  let reference: RunResult;

  beforeAll(async () => {
    team = await loadTeamFile('teams/telecom-support.yaml');
    endpoint = inject('dynamoEndpoint');
    reference = await run(new ScriptedModel());
  });

  async function run(model: ModelProvider, runTeam: TeamDefinition = team): Promise<RunResult & { rollbackMetrics: number }> {
    const runtime = await LocalRuntime.connect(endpoint, { model });
    try {
      const result = await runtime.run({ team: runTeam, input: REQUEST, taskId: `rollback-${randomUUID()}` });
      return { ...result, rollbackMetrics: runtime.telemetry.metricValues(METRICS.rollbacks).reduce((sum, value) => sum + value, 0) };
    } finally {
      await runtime.stop();
    }
  }

  const offContract = (stateName: string, times = 1): ScriptedFault[] => [{ kind: 'off-contract', stateName, times }];

  it.each(['Classify', 'Work', 'Synthesize'])('rolls back once after an off-contract result in %s and still succeeds', async (stateName) => {
    // Act
    const result = await run(new ScriptedModel({ faults: offContract(stateName) }));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual(reference.output);
    expect(result.rollbacks).toHaveLength(1);
    expect(result.rollbacks[0]).toMatchObject({ automatic: true, reason: expect.stringContaining('AgentOutputError') as unknown });
    expect(result.rollbackMetrics).toBe(1);
    // The bad result was never checkpointed: each step has exactly one checkpoint, all valid.
    expect(result.trace.map((step) => `${step.agent}:${step.state}`).sort()).toEqual(
      reference.trace.map((step) => `${step.agent}:${step.state}`).sort(),
    );
  });

  it('goes back to the latest valid checkpoint: steps before the fault are not run again', async () => {
    // Act
    const result = await run(new ScriptedModel({ faults: offContract('Synthesize') }));

    // Assess: classify 1 + two workers + synthesis twice (the faulty call and the retry).
    expect(result.modelCalls).toBe(reference.modelCalls + 1);
    expect(result.rollbacks[0]?.to).toBe(3);
  });

  it('escalates to a human when the step keeps failing past the limit, and records every rollback', async () => {
    // Act
    const result = await run(new ScriptedModel({ faults: offContract('Synthesize', 10) }));

    // Assess: the default limit is 2 automatic rollbacks, then the run waits for a human.
    expect(result.status).toBe('WAITING');
    expect(result.approval?.status).toBe('PENDING');
    expect(result.approval?.escalation.Error).toBe('RollbackLimitExceededError');
    expect(result.approval?.escalation.Cause).toContain('2 automatic rollbacks reached the limit of 2');
    expect(result.rollbacks).toHaveLength(2);
    expect(result.rollbackMetrics).toBe(2);
  });

  it('lets a slow sibling worker finish and checkpoint before the rollback, so it is not run twice', async () => {
    // Prepare: TEST DOUBLE around the scripted model: billing breaks its contract once, while the
    // technical-support worker is still thinking; calls are counted per worker.
    const scripted = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Work', times: 1 }] });
    const calls = new Map<string, number>();
    const model: ModelProvider = {
      converse: async (request) => {
        const agent = request.script.kind === 'answer' ? request.script.agentId : request.script.kind;
        calls.set(agent, (calls.get(agent) ?? 0) + 1);
        if (agent === 'technical-support') await new Promise((resolve) => setTimeout(resolve, 300));
        return scripted.converse(request);
      },
    };

    // Act
    const result = await run(model);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual(reference.output);
    expect(result.rollbacks).toHaveLength(1);
    expect(calls.get('technical-support')).toBe(1);
    expect(calls.get('billing')).toBe(2);
  });

  it("follows the team's maxRollbacks", async () => {
    // Prepare
    const strict: TeamDefinition = { ...team, limits: { ...team.limits, maxRollbacks: 0 } };

    // Act
    const result = await run(new ScriptedModel({ faults: offContract('Classify') }), strict);

    // Assess
    expect(result.status).toBe('WAITING');
    expect(result.approval?.escalation.Error).toBe('RollbackLimitExceededError');
    expect(result.rollbacks).toHaveLength(0);
  });
});
