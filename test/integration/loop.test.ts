/**
 * Loops, end to end on the local runtime: the content pipeline's writer and editor hand a draft
 * back and forth (the `--inject loop` scenario, a scripted shortcut) on the real pipeline ASL,
 * with the real loop-check and record-detection handlers against DynamoDB Local. The loop is
 * detected early (before maxHandBacks), ended by the conflict rule, or escalated to a human when
 * the rule does not end it. Every run is bounded by the test's timeout and asserted to have ended.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { METRICS } from '../../functions/core/contract.ts';
import { DETAIL_TYPES } from '../../functions/core/events.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';
import { type LoopScenarioOptions, loopScenario } from '../../local/scenarios/loop.ts';

const RUN_BOUND_MS = 60_000;

describe('Feature: loop detection in the pipeline (local runtime, DynamoDB Local)', () => {
  let pipeline: TeamDefinition;
  let endpoint: string;

  beforeAll(async () => {
    pipeline = await loadTeamFile('teams/content-pipeline.yaml');
    endpoint = inject('dynamoEndpoint');
  });

  async function withLoopingRuntime<T>(team: TeamDefinition, options: LoopScenarioOptions, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
    const runtime = await LocalRuntime.connect(endpoint, { model: new ScriptedModel({ scenarios: [loopScenario(team, options)] }) });
    try {
      return await work(runtime);
    } finally {
      await runtime.stop();
    }
  }

  const runLoop = (runtime: LocalRuntime, team: TeamDefinition = pipeline): Promise<RunResult> =>
    runtime.run({ team, input: team.example, taskId: `loop-${randomUUID()}` });

  const withLimits = (limits: Partial<TeamDefinition['limits']>, ranks: Record<string, number | undefined> = {}): TeamDefinition => ({
    ...pipeline,
    limits: { ...pipeline.limits, ...limits },
    agents: pipeline.agents.map((agent) => (agent.id in ranks ? { ...agent, rank: ranks[agent.id] } : agent)),
  });

  it('detects the writer-editor oscillation at the second hand-back and ends it with the conflict rule: the editor (rank 2) wins', { timeout: RUN_BOUND_MS }, async () => {
    // Act
    const { result, failureEvents, loopsCounted } = await withLoopingRuntime(pipeline, {}, async (runtime) => {
      const ran = await runLoop(runtime);
      return {
        result: ran,
        failureEvents: runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.failureDetected),
        loopsCounted: runtime.telemetry.metricValues(METRICS.loopsDetected),
      };
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.detections).toEqual([
      expect.objectContaining({ type: 'loop', step: 'CheckLoop', stepId: 'h2', action: 'conflict-rule', agents: ['editor', 'writer'] }),
    ]);
    // Detected before the limit: 2 of the 4 hand-backs allowed; 4 stages and 4 gates, 2 x (writer, gate, editor), 2 loop checks and the claims check.
    expect(result.trace.length).toBeLessThanOrEqual(17);
    const stages = (result.output as { stages: { agentId: string; output: string }[] }).stages;
    expect(stages.map((stage) => stage.agentId)).toEqual(['researcher', 'writer', 'editor', 'publisher']);
    expect(stages[1]?.output).toContain('Tone: formal');
    expect(loopsCounted).toEqual([1]);
    expect(failureEvents).toHaveLength(1);
    expect(failureEvents[0]?.detail).toMatchObject({ taskId: result.taskId, type: 'loop', action: 'conflict-rule', team: 'content-pipeline', pattern: 'pipeline' });
  });

  it('escalates to a human when the loop goes on after the ruling, and the human decides', { timeout: RUN_BOUND_MS }, async () => {
    // Act
    const { waiting, approved } = await withLoopingRuntime(pipeline, { stubborn: true }, async (runtime) => {
      const first = await runLoop(runtime);
      const decided = await runtime.approve({ team: pipeline, taskId: first.taskId, output: { document: 'approved by a human' }, by: 'editor-in-chief' });
      return { waiting: first, approved: decided };
    });

    // Assess
    expect(waiting.status).toBe('WAITING');
    expect(waiting.approval).toMatchObject({ status: 'PENDING', escalation: { Error: 'LoopDetectedError' } });
    expect(waiting.approval?.escalation.Cause).toContain('rule-did-not-end-it');
    expect(waiting.detections.map((detection) => [detection.stepId, detection.action])).toEqual([
      ['h2', 'conflict-rule'],
      ['h3', 'escalated'],
    ]);
    expect(approved.status).toBe('SUCCEEDED');
    expect(approved.output).toMatchObject({ approvedBy: 'editor-in-chief', output: { document: 'approved by a human' } });
    expect(approved.detections).toHaveLength(2);
    expect(approved.modelCalls).toBe(0);
  });

  it('binds the stage that handed back when the other outranks it: the writer (rank 3) wins and the editor works on the casual draft', { timeout: RUN_BOUND_MS }, async () => {
    // Arrange
    const team = withLimits({}, { writer: 3 });

    // Act
    const result = await withLoopingRuntime(team, {}, (runtime) => runLoop(runtime, team));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.detections).toEqual([expect.objectContaining({ action: 'conflict-rule', details: expect.stringContaining("writer's instruction binds editor") as string })]);
    const stages = (result.output as { stages: { agentId: string; output: string }[] }).stages;
    expect(stages[1]?.output).toContain('Tone: casual');
    expect(stages[2]?.output).not.toBe(stages[1]?.output);
  });

  it('escalates at maxHandBacks whatever the hand-backs contain (the counting backstop)', { timeout: RUN_BOUND_MS }, async () => {
    // Arrange
    const team = withLimits({ maxHandBacks: 1 });

    // Act
    const result = await withLoopingRuntime(team, {}, (runtime) => runLoop(runtime, team));

    // Assess
    expect(result.status).toBe('WAITING');
    expect(result.detections).toEqual([expect.objectContaining({ stepId: 'h1', action: 'escalated', details: expect.stringContaining('reached the limit of 1') as string })]);
    expect(result.approval?.escalation.Error).toBe('LoopDetectedError');
  });

  it('records each detection once when the waiting task is resumed', { timeout: RUN_BOUND_MS }, async () => {
    // Act
    const { first, resumed, failureEvents } = await withLoopingRuntime(pipeline, { stubborn: true }, async (runtime) => {
      const waiting = await runLoop(runtime);
      const again = await runtime.resume({ team: pipeline, taskId: waiting.taskId });
      return { first: waiting, resumed: again, failureEvents: runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.failureDetected) };
    });

    // Assess
    expect(resumed.status).toBe('WAITING');
    expect(resumed.detections).toEqual(first.detections);
    expect(failureEvents).toHaveLength(2);
  });

  it('runs the pipeline without a detection when no stage hands back', { timeout: RUN_BOUND_MS }, async () => {
    // Act
    const runtime = await LocalRuntime.connect(endpoint);
    const result = await runLoop(runtime).finally(() => runtime.stop());

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.detections).toEqual([]);
    // Four stages, four gates and the check of the stages' statistics against the example's facts.
    expect(result.trace).toHaveLength(9);
  });

  describe('peer-to-peer: a stalemate', () => {
    let peerReview: TeamDefinition;

    beforeAll(async () => {
      peerReview = await loadTeamFile('teams/peer-review.yaml');
    });

    it('detects round 2 repeating round 1 and takes the proposal of the highest-ranked peer (security-reviewer, rank 2)', { timeout: RUN_BOUND_MS }, async () => {
      // Act
      const result = await withLoopingRuntime(peerReview, {}, (runtime) => runLoop(runtime, peerReview));

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(result.detections).toEqual([expect.objectContaining({ type: 'loop', step: 'Tally', stepId: 'round-2', action: 'conflict-rule' })]);
      expect(result.output).toMatchObject({ proposedBy: 'security-reviewer', agreed: false, rounds: 2 });
      // Two rounds of three proposals and three critiques, two tallies and the verification: before round 3 (maxRounds).
      expect(result.trace.length).toBeLessThanOrEqual(15);
    });

    it('escalates to a human when no peer outranks the others', { timeout: RUN_BOUND_MS }, async () => {
      // Arrange
      const equals: TeamDefinition = { ...peerReview, agents: peerReview.agents.map(({ rank: _rank, ...agent }) => agent) };

      // Act
      const result = await withLoopingRuntime(equals, {}, (runtime) => runLoop(runtime, equals));

      // Assess
      expect(result.status).toBe('WAITING');
      expect(result.detections).toEqual([expect.objectContaining({ step: 'Tally', stepId: 'round-2', action: 'escalated' })]);
      expect(result.approval?.escalation).toMatchObject({ Error: 'LoopDetectedError', Cause: expect.stringContaining('top rank is shared') as string });
    });
  });
});
