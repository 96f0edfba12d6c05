/**
 * Hallucinated consensus in the pipeline, end to end on the local runtime (the real pipeline ASL,
 * the real middy-wrapped handlers, DynamoDB Local): `--inject hallucination` (a scripted shortcut,
 * local/scenarios/hallucination.ts) makes the researcher fabricate a market statistic ("the agent
 * platform market grew 340% last year") that every later stage builds on. The verifier's
 * VerifyClaims step checks the stages' statistics against the input's facts (content-pipeline.yaml:
 * agentPlatformMarketGrowthPercent is 23) after the last stage; the detection is stored, counted and
 * announced, and the document is returned flagged, or for a high-impact task a human decides.
 * Every test has a time bound and asserts that the run ended.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../functions/core/contract.ts';
import type { PipelineOutput } from '../../functions/patterns/pipeline/contract.ts';
import { DETAIL_TYPES } from '../../functions/core/events.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { stagesOf } from '../../functions/patterns/pipeline/spec.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';
import { fabricatedStatistic, hallucinationScenario } from '../../local/scenarios/hallucination.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

/** Every test's bound: a run that hangs fails here instead of stalling the suite. */
const TEST_TIMEOUT_MS = 60_000;
/** Statuses of a run that ended (WAITING: the execution stopped to wait for a human). */
const ENDED = ['SUCCEEDED', 'FAILED', 'WAITING'];

const outputOf = (result: RunResult): PipelineOutput => result.output as PipelineOutput;
const failureEvents = (runtime: LocalRuntime) => runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.failureDetected);
const hallucinationsCounted = (runtime: LocalRuntime): number => runtime.telemetry.metricValues(METRICS.hallucinationsDetected).reduce((sum, value) => sum + value, 0);

describe('Feature: hallucinated consensus in the pipeline (local runtime, DynamoDB Local)', () => {
  let team: TeamDefinition;
  let stages: string[];

  beforeAll(async () => {
    team = await loadTeamFile('teams/content-pipeline.yaml');
    stages = stagesOf(team).map((stage) => stage.id);
  });

  /** Runs `work` on a runtime of its own (its own bus and telemetry), with the hallucination scenario unless told otherwise. */
  function withRuntime<T>(work: (runtime: LocalRuntime) => Promise<T>, scenario = true): Promise<T> {
    const model = new ScriptedModel({ scenarios: scenario ? [hallucinationScenario(team)] : [] });
    return withTestRuntime({ model }, work);
  }

  const runOn = (runtime: LocalRuntime, input: Record<string, unknown> = team.example ?? {}): Promise<RunResult> =>
    runtime.run({ team, input, taskId: `pipeline-hallucination-${randomUUID()}` });

  it('without the injection, the example\'s stages state no statistic: nothing detected, nothing verified', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { result, events, counted } = await withRuntime(async (runtime) => {
      const run = await runOn(runtime);
      return { result: run, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
    }, false);

    expect(result.status).toBe('SUCCEEDED');
    expect(outputOf(result).verification).toMatchObject({ verified: false, checks: [], hallucination: false, detection: null, confidence: { calibrated: 0.5 } });
    expect(result.detections).toEqual([]);
    expect(events).toEqual([]);
    expect(counted).toBe(0);
  });

  it('flags the statistic every stage builds on: SUCCEEDED, hallucination, agreement 1, calibrated 0, recorded, counted and announced', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Act
    const { result, events, counted } = await withRuntime(async (runtime) => {
      const run = await runOn(runtime);
      return { result: run, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
    });

    // Assess
    const statistic = fabricatedStatistic(team);
    const output = outputOf(result);
    expect(result.status).toBe('SUCCEEDED');
    expect(output.stages.map((stage) => stage.agentId)).toEqual(stages);
    expect(output.document).toContain(statistic.sentence);
    expect(output.verification).toMatchObject({ verified: false, hallucination: true, confidence: { agreement: 1, calibrated: 0, verified: false, detection: true } });
    expect(output.verification?.checks).toEqual([
      { fact: 'agentPlatformMarketGrowthPercent', claimed: 340, expected: 23, status: 'contradicted', statistic: '340%', statedBy: stages },
    ]);
    expect(result.detections).toHaveLength(1);
    expect(result.detections[0]).toMatchObject({ type: 'hallucination', step: 'VerifyClaims', stepId: 'final', action: 'flagged', agents: stages, taskId: result.taskId });
    expect(result.detections[0]?.details).toMatch(/340% \(agentPlatformMarketGrowthPercent; the facts say 23\) stated by researcher, writer, editor, publisher/);
    // The verifier's claims check ran once, after the last stage.
    expect(result.trace.map((entry) => entry.state).filter((state) => state === 'VerifyClaims')).toEqual(['VerifyClaims']);
    expect(result.trace.at(-1)?.state).toBe('VerifyClaims');
    expect(counted).toBe(1);
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({ type: 'hallucination', step: 'VerifyClaims', action: 'flagged', taskId: result.taskId, team: team.name, pattern: 'pipeline' });
  });

  it('a resumed flagged run replays the detection without recording, counting or announcing it again', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { first, resumed, events, counted } = await withRuntime(async (runtime) => {
      const run = await runOn(runtime);
      const again = await runtime.resume({ team, taskId: run.taskId });
      return { first: run, resumed: again, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
    });

    expect(first.status).toBe('SUCCEEDED');
    expect(resumed.status).toBe('SUCCEEDED');
    expect(resumed.output).toEqual(first.output);
    expect(resumed.modelCalls).toBe(0);
    expect(resumed.detections).toEqual(first.detections);
    expect(events).toHaveLength(1);
    expect(counted).toBe(1);
  });

  it('skips the claims check for an input without facts: no VerifyClaims step, verification null, nothing detected', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Arrange: the same fabricated statistic, but no source of truth to check it against.
    const { result, counted } = await withRuntime(async (runtime) => {
      const run = await runOn(runtime, { brief: team.example?.brief });
      return { result: run, counted: hallucinationsCounted(runtime) };
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(outputOf(result).document).toContain(fabricatedStatistic(team).sentence);
    expect(outputOf(result).verification).toBeNull();
    const states = result.trace.map((entry) => entry.state);
    expect(states).not.toContain('VerifyClaims');
    expect(states).toEqual(['RunStage', 'Gate', 'RunStage', 'Gate', 'RunStage', 'Gate', 'RunStage', 'Gate']);
    expect(result.detections).toEqual([]);
    expect(counted).toBe(0);
  });

  it('treats an empty facts table as no source of truth: nothing is checked, nothing detected', { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await withRuntime((runtime) => runOn(runtime, { brief: team.example?.brief, facts: {} }));

    expect(result.status).toBe('SUCCEEDED');
    expect(outputOf(result).verification).toMatchObject({ verified: false, checks: [], hallucination: false, reason: 'the input gives no facts to check the stages against' });
    expect(result.detections).toEqual([]);
  });

  describe('Feature: a high-impact task', () => {
    const highImpact = (): Record<string, unknown> => ({ ...team.example, highImpact: true });

    it('waits for a human with UnverifiedConsensusError, the detection marked escalated; approved, ends SUCCEEDED without a model call', { timeout: TEST_TIMEOUT_MS }, async () => {
      // Act
      const { waiting, approved, events, counted } = await withRuntime(async (runtime) => {
        const first = await runOn(runtime, highImpact());
        const document = { document: 'The agent platform market grew 23% last year, as the facts say.' };
        const decided = await runtime.approve({ team, taskId: first.taskId, output: document, by: 'editor-in-chief@example.com' });
        return { waiting: first, approved: decided, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
      });

      // Assess
      expect(ENDED).toContain(waiting.status);
      expect(waiting.status).toBe('WAITING');
      expect(waiting.approval).toMatchObject({ status: 'PENDING', pattern: 'pipeline', escalation: { Error: 'UnverifiedConsensusError' } });
      expect(waiting.approval?.escalation.Cause).toMatch(/340% \(agentPlatformMarketGrowthPercent; the facts say 23\)/);
      expect(waiting.detections.map((detection) => [detection.type, detection.step, detection.stepId, detection.action])).toEqual([['hallucination', 'VerifyClaims', 'final', 'escalated']]);
      expect(waiting.detections[0]?.agents).toEqual(stages);

      expect(approved.status).toBe('SUCCEEDED');
      expect(approved.modelCalls).toBe(0);
      expect(approved.output).toMatchObject({ approvedBy: 'editor-in-chief@example.com', output: { document: expect.stringContaining('23%') as unknown }, escalation: { Error: 'UnverifiedConsensusError' } });
      expect(approved.detections).toEqual(waiting.detections);
      expect(events.map((event) => event.detail.action)).toEqual(['escalated']);
      expect(counted).toBe(1);
    });

    it('resumed while still pending, waits again with its one detection: nothing recorded, counted or announced twice', { timeout: TEST_TIMEOUT_MS }, async () => {
      // Act
      const { first, again, events, counted } = await withRuntime(async (runtime) => {
        const waiting = await runOn(runtime, highImpact());
        const resumed = await runtime.resume({ team, taskId: waiting.taskId });
        return { first: waiting, again: resumed, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
      });

      // Assess
      expect(first.status).toBe('WAITING');
      expect(again.status).toBe('WAITING');
      expect(again.modelCalls).toBe(0);
      expect(again.detections).toHaveLength(1);
      expect(again.detections).toEqual(first.detections);
      expect(events).toHaveLength(1);
      expect(counted).toBe(1);
    });
  });
});
