/**
 * Hallucinated consensus, end to end on the local runtime (the real peer-to-peer ASL, the real
 * middy-wrapped handlers, DynamoDB Local): `--inject hallucination` (a scripted shortcut,
 * local/scenarios/hallucination.ts) makes the first reviewer fabricate a market statistic that the
 * others build on, so a quorum agrees on a false premise. The verifier's checks against the input's
 * facts catch it; the detection is stored, counted and announced; the answer is flagged, or for a
 * high-impact task a human decides. Every run has a time bound and is asserted to have ended.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIDENCE_THRESHOLD } from '../../functions/guards/calibrated-confidence.ts';
import { METRICS } from '../../functions/core/contract.ts';
import type { Verification } from '../../functions/patterns/peer-to-peer/contract.ts';
import { DETAIL_TYPES } from '../../functions/core/events.ts';
import { type Facts, checkTextClaims } from '../../functions/guards/fact-check.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, agentsWithRole, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';
import { fabricatedStatistic, hallucinationScenario } from '../../local/scenarios/hallucination.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

interface Negotiated {
  answer: string;
  proposedBy: string;
  agreed: boolean;
  rounds: number;
  verified: boolean;
  hallucination: boolean;
  confidence: Verification['confidence'];
  verification: Verification;
}

/** Every test's bound: a run that hangs fails here instead of stalling the suite. */
const TEST_TIMEOUT_MS = 30_000;
/** Statuses of a run that ended (WAITING: the execution stopped to wait for a human). */
const ENDED = ['SUCCEEDED', 'FAILED', 'WAITING'];

const outputOf = (result: RunResult): Negotiated => result.output as Negotiated;
const failureEvents = (runtime: LocalRuntime) => runtime.eventBus.events.filter((event) => event['detail-type'] === DETAIL_TYPES.failureDetected);
const hallucinationsCounted = (runtime: LocalRuntime): number => runtime.telemetry.metricValues(METRICS.hallucinationsDetected).reduce((sum, value) => sum + value, 0);

describe('Feature: hallucinated consensus in peer-to-peer (local runtime, DynamoDB Local)', () => {
  let team: TeamDefinition;
  let peers: string[];
  /** Agent steps of one round: every peer proposes and critiques, then one tally and one verification. */
  let oneRoundSteps: number;

  beforeAll(async () => {
    team = await loadTeamFile('teams/peer-review.yaml');
    peers = agentsWithRole(team, 'peer').map((peer) => peer.id);
    oneRoundSteps = 2 * peers.length + 2;
  });

  /** Runs `work` on a runtime of its own (its own bus and telemetry), with the hallucination scenario unless told otherwise. */
  function withRuntime<T>(work: (runtime: LocalRuntime) => Promise<T>, scenario = true): Promise<T> {
    const model = new ScriptedModel({ scenarios: scenario ? [hallucinationScenario(team)] : [] });
    return withTestRuntime({ model }, work);
  }

  const runOn = (runtime: LocalRuntime, input: Record<string, unknown> = team.example ?? {}): Promise<RunResult> =>
    runtime.run({ team, input, taskId: `hallucination-${randomUUID()}` });

  it('without the injection, detects nothing: the answer is verified and calibrated fully', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { result, events, counted } = await withRuntime(async (runtime) => {
      const run = await runOn(runtime);
      return { result: run, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
    }, false);
    const output = outputOf(result);

    expect(result.status).toBe('SUCCEEDED');
    expect(output).toMatchObject({ agreed: true, verified: true, hallucination: false, confidence: { agreement: 1, calibrated: 1, detection: false } });
    expect(result.detections).toEqual([]);
    expect(events).toEqual([]);
    expect(counted).toBe(0);
  });

  it('reproduces the fabricated statistic: the other reviewers cite it and a quorum backs it in round 1', { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await withRuntime((runtime) => runOn(runtime));
    const output = outputOf(result);
    const statistic = fabricatedStatistic(team);
    const facts = (team.example as { facts: Facts }).facts;

    expect(ENDED).toContain(result.status);
    expect(output).toMatchObject({ agreed: true, rounds: 1, proposedBy: peers[0] });
    expect(output.answer).toContain(statistic.sentence);
    expect(output.verification.checks).toContainEqual({ fact: statistic.fact, claimed: statistic.value, expected: facts[statistic.fact], status: 'contradicted' });
    // The statistic in the answer's own words is contradicted by the facts table, too.
    expect(checkTextClaims(output.answer, facts).map((check) => [check.fact, check.status])).toEqual([[statistic.fact, 'contradicted']]);
  });

  it('detects it within one round, flags the answer, counts it and announces it on the bus', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { result, events, counted } = await withRuntime(async (runtime) => {
      const run = await runOn(runtime);
      return { result: run, events: failureEvents(runtime), counted: hallucinationsCounted(runtime) };
    });
    const output = outputOf(result);

    expect(result.status).toBe('SUCCEEDED');
    expect(output).toMatchObject({ verified: false, hallucination: true });
    expect(output.confidence.agreement).toBeGreaterThanOrEqual(DEFAULT_CONFIDENCE_THRESHOLD);
    expect(output.confidence.calibrated).toBeLessThan(DEFAULT_CONFIDENCE_THRESHOLD);
    expect(result.detections).toHaveLength(1);
    expect(result.detections[0]).toMatchObject({ type: 'hallucination', step: 'Verify', stepId: 'round-1', action: 'flagged', agents: peers, taskId: result.taskId });
    expect(result.detections[0]?.details).toMatch(/3 of 3 peers backed the proposal of security-reviewer.*cacheMarketGrowthPercent=340 \(input: 23\)/);
    // Detected at the end of the first round: no more agent steps than one round has.
    expect(result.trace.length).toBeLessThanOrEqual(oneRoundSteps);
    expect(counted).toBe(1);
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({ type: 'hallucination', action: 'flagged', taskId: result.taskId, team: team.name, pattern: 'peer-to-peer' });
  });

  describe('Feature: a high-impact task', () => {
    const highImpact = (): Record<string, unknown> => ({ ...team.example, highImpact: true });

    it('waits for a human with UnverifiedConsensusError, the detection marked escalated', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { result, events } = await withRuntime(async (runtime) => {
        const run = await runOn(runtime, highImpact());
        return { result: run, events: failureEvents(runtime) };
      });

      expect(result.status).toBe('WAITING');
      expect(result.approval).toMatchObject({ status: 'PENDING', pattern: 'peer-to-peer', escalation: { Error: 'UnverifiedConsensusError' } });
      expect(result.approval?.escalation.Cause).toMatch(/failed verification.*cacheMarketGrowthPercent/);
      expect(result.detections.map((detection) => [detection.type, detection.step, detection.action])).toEqual([['hallucination', 'Verify', 'escalated']]);
      expect(events.map((event) => event.detail.action)).toEqual(['escalated']);
      expect(result.trace.length).toBeLessThanOrEqual(oneRoundSteps);
    });

    it('approved, ends SUCCEEDED with the human\'s answer, without a model call or a second detection', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { waiting, approved } = await withRuntime(async (runtime) => {
        const first = await runOn(runtime, highImpact());
        const answer = { answer: 'Adopt the cache; market growth is 23%, as the facts say.' };
        return { waiting: first, approved: await runtime.approve({ team, taskId: first.taskId, output: answer, by: 'reviewer@example.com' }) };
      });

      expect(waiting.status).toBe('WAITING');
      expect(approved.status).toBe('SUCCEEDED');
      expect(approved.output).toMatchObject({ approvedBy: 'reviewer@example.com', output: { answer: expect.stringContaining('23%') as unknown }, escalation: { Error: 'UnverifiedConsensusError' } });
      expect(approved.modelCalls).toBe(0);
      expect(approved.detections).toHaveLength(1);
    });

    it('rejected, ends FAILED with HumanRejectedError', { timeout: TEST_TIMEOUT_MS }, async () => {
      const rejected = await withRuntime(async (runtime) => {
        const first = await runOn(runtime, highImpact());
        return runtime.reject({ team, taskId: first.taskId, reason: 'the market statistic is made up' });
      });

      expect(rejected.status).toBe('FAILED');
      expect(rejected.error?.error).toBe('HumanRejectedError');
      expect(rejected.detections.map((detection) => detection.action)).toEqual(['escalated']);
    });
  });

  describe('Feature: recovery', () => {
    it('a resumed run replays the detection without recording, counting or announcing it again', { timeout: TEST_TIMEOUT_MS }, async () => {
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

    it('a resumed high-impact task that is still pending waits again, with its one detection', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { first, again } = await withRuntime(async (runtime) => {
        const waiting = await runOn(runtime, { ...team.example, highImpact: true });
        return { first: waiting, again: await runtime.resume({ team, taskId: waiting.taskId }) };
      });

      expect(first.status).toBe('WAITING');
      expect(again.status).toBe('WAITING');
      expect(again.modelCalls).toBe(0);
      expect(again.detections).toEqual(first.detections);
    });
  });
});
