/**
 * The real statemachines/pipeline.asl.json, run by the local runtime with the real middy-wrapped
 * agent handlers (stages and the verifier's gate), against DynamoDB Local (started once in
 * test/global-setup.ts). Models are the scripted model, except where a test names a test double.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyCheckpoint } from '../../functions/recovery/checkpoint-manager.ts';
import { PipelineOutputSchema, type PipelineOutput } from '../../functions/patterns/pipeline/contract.ts';
import { METRICS } from '../../functions/core/contract.ts';
import { ModelInvocationError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { stagesOf } from '../../functions/patterns/pipeline/spec.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

const INPUT = { brief: 'Why serverless orchestration suits teams of AI agents, with checkpoints and automatic recovery' };
const STAGES = ['researcher', 'writer', 'editor', 'publisher'];
const VERIFIER = 'quality-gate';

const taskId = (): string => `pipeline-${randomUUID()}`;

/**
 * TEST DOUBLE (not the scripted model): the scripted model, except that the calls of one stage
 * agent (told apart by its system prompt) can be made to answer too short, answer empty, or fail.
 * Counts the calls of every stage.
 */
class StageTestDouble implements ModelProvider {
  public readonly calls = new Map<string, number>();
  private readonly scripted = new ScriptedModel();

  public constructor(
    private readonly team: TeamDefinition,
    private readonly misbehave?: { agentId: string; reply: 'too-short' | 'empty' | 'throw'; times: number },
  ) {}

  public converse(request: ModelRequest): Promise<ModelReply> {
    const agentId = this.team.agents.find((agent) => agent.systemPrompt === request.system)?.id ?? '?';
    const call = (this.calls.get(agentId) ?? 0) + 1;
    this.calls.set(agentId, call);
    const fault = this.misbehave?.agentId === agentId && call <= this.misbehave.times ? this.misbehave.reply : undefined;
    if (fault === 'throw') return Promise.reject(new ModelInvocationError('test-double', `${agentId} unavailable`));
    if (fault === 'too-short') return Promise.resolve({ text: 'A short draft.', modelId: 'test-double', usage: { inputTokens: 5, outputTokens: 4 } });
    if (fault === 'empty') return Promise.resolve({ text: '  ', modelId: 'test-double', usage: { inputTokens: 5, outputTokens: 0 } });
    return this.scripted.converse(request);
  }
}

/**
 * TEST DOUBLE (not the scripted model): the scripted model, except that the call of one stage
 * never completes: it waits until the run is aborted, then fails, as a process that crashed in the
 * middle of that stage would leave it (no result, no checkpoint). Without it, the in-process
 * handler would go on after the abort and might still checkpoint the stage.
 */
class CrashDuringStageModel implements ModelProvider {
  private readonly inner: StageTestDouble;

  public constructor(
    private readonly team: TeamDefinition,
    private readonly agentId: string,
    private readonly signal: AbortSignal,
    misbehave?: ConstructorParameters<typeof StageTestDouble>[1],
  ) {
    this.inner = new StageTestDouble(team, misbehave);
  }

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const agentId = this.team.agents.find((agent) => agent.systemPrompt === request.system)?.id;
    if (agentId !== this.agentId) return this.inner.converse(request);
    await new Promise((resolve) => {
      if (this.signal.aborted) resolve(undefined);
      else this.signal.addEventListener('abort', resolve, { once: true });
    });
    throw new ModelInvocationError('test-double', 'the process crashed during this call');
  }
}

const steps = (result: RunResult): string[] => result.trace.map((step) => `${step.agent}:${step.state}`);
const alternating = (stages: readonly string[]): string[] => stages.flatMap((stage) => [`${stage}:RunStage`, `${VERIFIER}:Gate`]);

describe('Pattern: pipeline (local runtime, DynamoDB Local)', () => {
  let team: TeamDefinition;
  let endpoint: string;
  let reference: RunResult;
  const referenceId = taskId();

  function withRuntime<T>(model: ModelProvider, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
    return withTestRuntime({ model }, work);
  }

  const run = (model: ModelProvider, runTeam: TeamDefinition = team, id = taskId()): Promise<RunResult> =>
    withRuntime(model, (runtime) => runtime.run({ team: runTeam, input: INPUT, taskId: id }));

  beforeAll(async () => {
    team = await loadTeamFile('teams/content-pipeline.yaml');
    endpoint = inject('dynamoEndpoint');
    reference = await run(new ScriptedModel(), team, referenceId);
  });

  describe('Feature: stages in order, a gate after each', () => {
    it('runs the four stages in definition order, each passed by the gate, and returns the last one as the document', () => {
      // Assess
      const output = PipelineOutputSchema.parse(reference.output);
      expect(reference.status).toBe('SUCCEEDED');
      expect(stagesOf(team).map((stage) => stage.id)).toEqual(STAGES);
      expect(output.stages.map((stage) => stage.agentId)).toEqual(STAGES);
      expect(output.stages.every((stage) => stage.attempts === 1)).toBe(true);
      expect(output.brief).toBe(INPUT.brief);
      expect(output.document).toBe(output.stages.at(-1)?.output);
      expect(output.stages[1]?.output).toMatch(/^Draft of "Why serverless orchestration/);
      // The gate is deterministic code: only the four stages called the model.
      expect(reference.modelCalls).toBe(4);
    });

    it('writes one valid checkpoint per stage step and per gate step, in order', async () => {
      // Act
      const stored = await withRuntime(new ScriptedModel(), (runtime) => runtime.checkpoints(referenceId));

      // Assess
      expect(steps(reference)).toEqual(alternating(STAGES));
      expect(stored.map((checkpoint) => checkpoint.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      for (const checkpoint of stored) {
        expect(verifyCheckpoint(checkpoint)).toBe(true);
        expect(checkpoint.valid).toBe(true);
      }
      expect(stored.filter((checkpoint) => checkpoint.stateName === 'Gate').every((checkpoint) => checkpoint.tokens === 0)).toBe(true);
    });

    it('rejects input without a brief before running anything', async () => {
      await expect(withRuntime(new ScriptedModel(), (runtime) => runtime.run({ team, input: { request: 'x' }, taskId: taskId() }))).rejects.toThrow(/brief/);
    });
  });

  describe('Feature: the gate retries or fails a stage', () => {
    it('retries a stage whose first output is too short, with the feedback, and records the attempts', async () => {
      // Prepare
      const model = new StageTestDouble(team, { agentId: 'writer', reply: 'too-short', times: 1 });
      const prompts: string[] = [];
      const recording: ModelProvider = {
        converse: (request) => {
          prompts.push(request.prompt);
          return model.converse(request);
        },
      };

      // Act
      const result = await run(recording);

      // Assess
      const output = result.output as PipelineOutput;
      expect(result.status).toBe('SUCCEEDED');
      expect(output.stages.map((stage) => [stage.agentId, stage.attempts])).toEqual([
        ['researcher', 1],
        ['writer', 2],
        ['editor', 1],
        ['publisher', 1],
      ]);
      expect(output.document).toBe((reference.output as PipelineOutput).document);
      expect(model.calls.get('writer')).toBe(2);
      // Call 3 is the writer's second attempt: it is told why the first was rejected.
      expect(prompts[1]).not.toContain('rejected');
      expect(prompts[2]).toContain('Your previous attempt was sent back: too short: 14 characters, at least 80');
      // Each attempt is its own step: two writer checkpoints and two gate decisions on it.
      expect(steps(result)).toEqual([...alternating(['researcher']), ...alternating(['writer', 'writer', 'editor', 'publisher'])]);
    });

    it('fails the run with StageRejected naming the stage once maxStageAttempts are used up', async () => {
      // Prepare
      const model = new StageTestDouble(team, { agentId: 'writer', reply: 'too-short', times: 10 });

      // Act
      const result = await run(model);

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error?.error).toBe('StageRejected');
      expect(result.error?.cause).toMatch(/^Stage writer \(2 of 4\), attempt 2 of 2: fail: too short/);
      expect(model.calls.get('writer')).toBe(team.limits.maxStageAttempts);
      expect(model.calls.get('editor')).toBeUndefined();
      expect(steps(result)).toEqual(alternating(['researcher', 'writer', 'writer']));
    });

    it("follows the team's maxStageAttempts (1: the first rejection fails the run)", async () => {
      // Prepare
      const strict: TeamDefinition = { ...team, limits: { ...team.limits, maxStageAttempts: 1 } };

      // Act
      const result = await run(new StageTestDouble(team, { agentId: 'writer', reply: 'too-short', times: 1 }), strict);

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error?.cause).toMatch(/^Stage writer \(2 of 4\), attempt 1 of 1: fail/);
    });
  });

  describe('Feature: a stage that cannot run', () => {
    it('ends with StageFailed naming the stage when its function keeps failing after the retries', async () => {
      // Prepare
      const model = new StageTestDouble(team, { agentId: 'editor', reply: 'throw', times: 10 });

      // Act
      const result = await run(model);

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error?.error).toBe('StageFailed');
      expect(result.error?.cause).toMatch(/^Stage editor \(attempt 1\) failed: ModelInvocationError: .*editor unavailable/);
      expect(model.calls.get('editor')).toBe(3); // the first call and the two retries the ASL allows
      expect(steps(result)).toEqual(alternating(['researcher', 'writer']));
    });
  });

  describe('Feature: resume after a crash', () => {
    it('continues at the first stage not yet passed, to the uninterrupted output', async () => {
      // Prepare: abort (as a crash would) when the third RunStage, the editor's, starts; the editor's
      // model call never completes (test double), so the editor has no checkpoint.
      const id = taskId();
      const controller = new AbortController();
      let stagesEntered = 0;
      const onStateEntered = (state: string): void => {
        if (state === 'RunStage' && ++stagesEntered === 3) controller.abort();
      };

      // Act
      const crashed = await withRuntime(new CrashDuringStageModel(team, 'editor', controller.signal), (runtime) =>
        runtime.run({ team, input: INPUT, taskId: id, onStateEntered, signal: controller.signal }),
      );
      const counting = new StageTestDouble(team);
      const resumed = await withRuntime(counting, (runtime) => runtime.resume({ team, taskId: id }));

      // Assess
      expect(crashed.status).toBe('ABORTED');
      expect(steps(crashed)).toEqual(alternating(['researcher', 'writer']));
      expect(resumed.status).toBe('SUCCEEDED');
      expect(resumed.output).toEqual(reference.output);
      expect(resumed.checkpointsBefore).toBe(4);
      // Researcher and writer came from their checkpoints; only the editor and the publisher ran.
      expect(Object.fromEntries(counting.calls)).toEqual({ editor: 1, publisher: 1 });
      expect(steps(resumed)).toEqual(alternating(STAGES));
    });

    it('replays a retried stage from its checkpoints on resume, attempts included', async () => {
      // Prepare: the writer needs two attempts, then the run is aborted as the editor starts.
      const id = taskId();
      const controller = new AbortController();
      let stagesEntered = 0;
      const onStateEntered = (state: string): void => {
        if (state === 'RunStage' && ++stagesEntered === 4) controller.abort();
      };
      const first = new CrashDuringStageModel(team, 'editor', controller.signal, { agentId: 'writer', reply: 'too-short', times: 1 });

      // Act
      await withRuntime(first, (runtime) => runtime.run({ team, input: INPUT, taskId: id, onStateEntered, signal: controller.signal }));
      const counting = new StageTestDouble(team);
      const resumed = await withRuntime(counting, (runtime) => runtime.resume({ team, taskId: id }));

      // Assess
      expect(resumed.status).toBe('SUCCEEDED');
      expect((resumed.output as PipelineOutput).stages.map((stage) => stage.attempts)).toEqual([1, 2, 1, 1]);
      expect(Object.fromEntries(counting.calls)).toEqual({ editor: 1, publisher: 1 });
    });
  });

  describe('Feature: automatic rollback', () => {
    it('rolls back once after an off-contract stage result (scripted fault in RunStage) and still succeeds', async () => {
      // Act: the scripted model's off-contract switch (a scripted shortcut) empties the first RunStage reply.
      const runtime = await LocalRuntime.connect(endpoint, { model: new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'RunStage', times: 1 }] }) });
      let result: RunResult;
      let rollbackMetrics: number;
      try {
        result = await runtime.run({ team, input: INPUT, taskId: taskId() });
        rollbackMetrics = runtime.telemetry.metricValues(METRICS.rollbacks).reduce((sum, value) => sum + value, 0);
      } finally {
        await runtime.stop();
      }

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toEqual(reference.output);
      expect(result.rollbacks).toHaveLength(1);
      expect(result.rollbacks[0]).toMatchObject({ automatic: true, reason: expect.stringContaining('AgentOutputError') as unknown });
      expect(rollbackMetrics).toBe(1);
      expect(steps(result)).toEqual(alternating(STAGES));
    });

    it('re-walks from the first stage after a rollback mid-pipeline, replaying the stages already passed', async () => {
      // Prepare: the editor's first reply is empty (breaks the stage contract).
      const model = new StageTestDouble(team, { agentId: 'editor', reply: 'empty', times: 1 });

      // Act
      const result = await run(model);

      // Assess: researcher and writer were replayed from their checkpoints, not run again.
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toEqual(reference.output);
      expect(result.rollbacks).toHaveLength(1);
      expect(result.rollbacks[0]?.to).toBe(4);
      expect(Object.fromEntries(model.calls)).toEqual({ researcher: 1, writer: 1, editor: 2, publisher: 1 });
      expect(steps(result)).toEqual(alternating(STAGES));
    });
  });
});
