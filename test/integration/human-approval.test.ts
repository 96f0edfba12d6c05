/**
 * Human in the loop, end to end on the local runtime: an escalated run waits (status WAITING) on
 * the real `Escalate` state of its pattern's ASL (`.waitForTaskToken`), the real request-approval
 * handler stores its token with the task and puts ApprovalRequested on the bus, and a decision
 * resumes the task: approved, it ends with the human's output; rejected, it fails. The scripted
 * model's `off-contract` fault (a scripted shortcut) makes the runs escalate.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DETAIL_TYPES } from '../../functions/shared/events.ts';
import { ApprovalNotPendingError } from '../../functions/shared/errors.ts';
import { ScriptedModel } from '../../functions/shared/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/shared/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';

describe('Feature: escalation waits for a human (local runtime, DynamoDB Local)', () => {
  let telecom: TeamDefinition;
  let pipeline: TeamDefinition;
  let endpoint: string;

  /** Runs `work` on a runtime whose scripted model breaks `stateName`'s contract `times` times. */
  async function withRuntime<T>(work: (runtime: LocalRuntime) => Promise<T>, faults: { stateName: string; times: number } = { stateName: 'Classify', times: 9 }): Promise<T> {
    const runtime = await LocalRuntime.connect(endpoint, { model: new ScriptedModel({ faults: [{ kind: 'off-contract', ...faults }] }) });
    try {
      return await work(runtime);
    } finally {
      await runtime.stop();
    }
  }

  const escalate = (runtime: LocalRuntime, team: TeamDefinition = telecom): Promise<RunResult> =>
    runtime.run({ team, input: team.example, taskId: `hitl-${randomUUID()}` });

  beforeAll(async () => {
    telecom = await loadTeamFile('teams/telecom-support.yaml');
    pipeline = await loadTeamFile('teams/content-pipeline.yaml');
    endpoint = inject('dynamoEndpoint');
  });

  it('stops WAITING with a pending approval that names the escalation, and notifies on the bus with the task token', async () => {
    // Act
    const { result, requested } = await withRuntime(async (runtime) => {
      const waiting = await escalate(runtime);
      return { result: waiting, requested: runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.approvalRequested) };
    });

    // Assess
    expect(result.status).toBe('WAITING');
    expect(result.error).toBeUndefined();
    expect(result.approval).toMatchObject({ status: 'PENDING', team: 'telecom-support', pattern: 'supervisor-worker', escalation: { Error: 'RollbackLimitExceededError' } });
    expect(result.approval).not.toHaveProperty('taskToken');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.detail).toMatchObject({ taskId: result.taskId, escalation: { error: 'RollbackLimitExceededError' } });
    expect(requested[0]?.detail.taskToken).toEqual(expect.stringContaining(result.taskId));
  });

  it('approved, resumes and ends SUCCEEDED with the output the human gave, without calling a model', async () => {
    // Act
    const { waiting, approved } = await withRuntime(async (runtime) => {
      const first = await escalate(runtime);
      return { waiting: first, approved: await runtime.approve({ team: telecom, taskId: first.taskId, output: { answer: 'Refund issued by hand' }, by: 'ops@example.com' }) };
    });

    // Assess
    expect(waiting.status).toBe('WAITING');
    expect(approved.status).toBe('SUCCEEDED');
    expect(approved.output).toEqual({
      approvedBy: 'ops@example.com',
      output: { answer: 'Refund issued by hand' },
      escalation: expect.objectContaining({ Error: 'RollbackLimitExceededError' }) as unknown,
    });
    expect(approved.modelCalls).toBe(0);
    expect(approved.approval).toMatchObject({ status: 'APPROVED', decidedBy: 'ops@example.com' });
  });

  it('rejected, resumes and ends FAILED with HumanRejectedError and the reason', async () => {
    // Act
    const rejected = await withRuntime(async (runtime) => {
      const first = await escalate(runtime);
      return runtime.reject({ team: telecom, taskId: first.taskId, reason: 'the customer withdrew the request' });
    });

    // Assess
    expect(rejected.status).toBe('FAILED');
    expect(rejected.error?.error).toBe('HumanRejectedError');
    expect(rejected.error?.cause).toMatch(/rejected by a human: the customer withdrew the request/);
    expect(rejected.approval?.status).toBe('REJECTED');
  });

  it('refuses a second decision, and a decision on a task that never escalated, with ApprovalNotPendingError', async () => {
    await withRuntime(async (runtime) => {
      const first = await escalate(runtime);
      await runtime.approve({ team: telecom, taskId: first.taskId });
      await expect(runtime.reject({ team: telecom, taskId: first.taskId, reason: 'too late' })).rejects.toThrow(ApprovalNotPendingError);
      await expect(runtime.approve({ team: telecom, taskId: `never-${randomUUID()}` })).rejects.toThrow(/never escalated/);
    });
  });

  it('a resumed task that is still pending waits again, without running its steps again', async () => {
    // Act
    const { first, again } = await withRuntime(async (runtime) => {
      const waiting = await escalate(runtime);
      return { first: waiting, again: await runtime.resume({ team: telecom, taskId: waiting.taskId }) };
    });

    // Assess
    expect(again.status).toBe('WAITING');
    expect(again.modelCalls).toBe(0);
    expect(again.approval?.requestedAt).toBe(first.approval?.requestedAt);
  });

  it('works the same in another pattern: a pipeline stage that keeps breaking its contract waits for a human', async () => {
    // Act
    const { waiting, approved } = await withRuntime(
      async (runtime) => {
        const first = await escalate(runtime, pipeline);
        return { waiting: first, approved: await runtime.approve({ team: pipeline, taskId: first.taskId, output: { document: 'written by the editor-in-chief' } }) };
      },
      { stateName: 'RunStage', times: 9 },
    );

    // Assess
    expect(waiting.status).toBe('WAITING');
    expect(waiting.approval?.pattern).toBe('pipeline');
    expect(approved.status).toBe('SUCCEEDED');
    expect((approved.output as { output: unknown }).output).toEqual({ document: 'written by the editor-in-chief' });
  });
});
