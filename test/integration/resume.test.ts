/**
 * Resuming a task on the local runtime (real ASL, real handlers, DynamoDB Local): steps that
 * already have a valid checkpoint are not run again, the rest run, and the result equals an
 * uninterrupted run. Fake models here (not the scripted one) count calls and fail on purpose.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ModelInvocationError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime } from '../../local/local-runtime.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

/** The scripted model, counting calls per step kind; it can be told to fail one kind. */
class CountingModel implements ModelProvider {
  public readonly calls = new Map<string, number>();
  private readonly scripted = new ScriptedModel();

  public constructor(private readonly failKind?: ModelRequest['script']['kind']) {}

  public converse(request: ModelRequest) {
    const kind = request.script.kind;
    this.calls.set(kind, (this.calls.get(kind) ?? 0) + 1);
    if (kind === this.failKind) return Promise.reject(new ModelInvocationError('fake', `${kind} unavailable`));
    return this.scripted.converse(request);
  }
}

const REQUEST = { request: 'My bill is wrong and my wifi keeps dropping' };

describe('Feature: resume a task', () => {
  let team: TeamDefinition;

  beforeAll(async () => {
    team = await loadTeamFile('teams/telecom-support.yaml');
  });

  function withRuntime<T>(model: ModelProvider, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
    return withTestRuntime({ model }, work);
  }

  it('finishes a failed run without repeating the steps it had done', async () => {
    const taskId = `resume-${randomUUID()}`;
    const reference = await withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team, input: REQUEST, taskId: `${taskId}-ref` }));

    const failing = new CountingModel('synthesize');
    const failed = await withRuntime(failing, (runtime) => runtime.run({ team, input: REQUEST, taskId }));
    const counting = new CountingModel();
    const resumed = await withRuntime(counting, (runtime) => runtime.resume({ team, taskId }));

    expect(failed.status).toBe('FAILED');
    expect(failed.trace.map((step) => step.state)).toEqual(['Classify', 'Work', 'Work']);
    expect(resumed.status).toBe('SUCCEEDED');
    expect(resumed.output).toEqual(reference.output);
    // Classify and both workers came from their checkpoints; only the synthesis ran.
    expect(Object.fromEntries(counting.calls)).toEqual({ synthesize: 1 });
    expect(resumed.trace.map((step) => `${step.agent}:${step.state}`).sort()).toEqual(
      reference.trace.map((step) => `${step.agent}:${step.state}`).sort(),
    );
  });

  it('resumes a finished task to the same output without calling any model', async () => {
    const taskId = `resume-${randomUUID()}`;
    const first = await withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team, input: REQUEST, taskId }));
    const counting = new CountingModel();
    const again = await withRuntime(counting, (runtime) => runtime.resume({ team, taskId }));

    expect(again.output).toEqual(first.output);
    expect(counting.calls.size).toBe(0);
    expect(again.checkpoints).toBe(first.checkpoints);
  });

  it('fails clearly when the task to resume does not exist', async () => {
    const result = await withRuntime(new ScriptedModel(), (runtime) => runtime.resume({ team, taskId: `missing-${randomUUID()}` }));

    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('TaskNotFoundError');
  });

  it('refuses to start a task id again with another input', async () => {
    const taskId = `resume-${randomUUID()}`;
    await withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team, input: REQUEST, taskId }));
    const second = await withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team, input: { request: 'cancel my plan' }, taskId }));

    expect(second.status).toBe('FAILED');
    expect(second.error?.error).toBe('TaskConflictError');
  });
});

/** The scripted model, slowed down: each call takes `delayMs`, to make steps long. */
class SlowModel implements ModelProvider {
  private readonly scripted = new ScriptedModel();

  public constructor(private readonly delayMs: number) {}

  public async converse(request: ModelRequest) {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return this.scripted.converse(request);
  }
}

describe('Feature: progress checkpoints inside long steps', () => {
  it('writes a progress checkpoint each interval while a step runs; restore and the trace skip them', async () => {
    const team = await loadTeamFile('teams/telecom-support.yaml');
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'), { model: new SlowModel(700), progressCheckpointSeconds: 0.2 });
    try {
      const taskId = `progress-${randomUUID()}`;
      const result = await runtime.run({ team, input: { request: 'cancel my plan' }, taskId });
      const stored = await runtime.checkpoints(taskId);
      const progress = stored.filter((checkpoint) => checkpoint.kind === 'progress');

      expect(result.status).toBe('SUCCEEDED');
      expect(result.trace.map((step) => step.state)).toEqual(['Classify', 'Work', 'Synthesize']);
      // Each 700 ms step passes the 200 ms interval at least twice.
      for (const state of ['Classify', 'Work', 'Synthesize']) {
        expect(progress.filter((checkpoint) => checkpoint.stateName === state).length).toBeGreaterThanOrEqual(2);
      }
      expect(progress.every((checkpoint) => (JSON.parse(checkpoint.state) as { inProgress: boolean }).inProgress)).toBe(true);
      // The last step checkpoint is the synthesis: progress ones never stand in for a step.
      const last = stored.filter((checkpoint) => checkpoint.kind === 'step').at(-1);
      expect(last?.stateName).toBe('Synthesize');
    } finally {
      await runtime.stop();
    }
  });
});
