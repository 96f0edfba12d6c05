/**
 * The pipeline's verification layer (functions/patterns/pipeline/verify-claims.ts): every
 * passed stage's statistics checked against the input's facts, grouped by fact and value with the
 * stages that state them; stages agreeing on a statistic the facts do not confirm is hallucinated
 * consensus, flagged or (high impact) escalated. Deterministic, no model call: the step is also run
 * through the real agent handler with a model that must not be called.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAgentResult, runAgentStep } from '../../functions/agents/agent.ts';
import { claimsVerificationProblems, verifyClaims } from '../../functions/patterns/pipeline/verify-claims.ts';
import { DEFAULT_CONFIDENCE_THRESHOLD, UNCHECKED_PRIOR } from '../../functions/guards/calibrated-confidence.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { type ClaimsVerification, ClaimsVerificationSchema, type VerifyClaimsEvent, VerifyClaimsEventSchema } from '../../functions/patterns/pipeline/contract.ts';
import { InvalidEventError } from '../../functions/core/errors.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { agentConfigOf } from '../support/telecom.ts';
import { agentDependencies, unusedModel } from '../support/agent-doubles.ts';

/** The content pipeline's stages, in order (teams/content-pipeline.yaml). */
const STAGES = ['researcher', 'writer', 'editor', 'publisher'] as const;
/** The facts of the content pipeline's example input. */
const FACTS = { agentPlatformMarketGrowthPercent: 23, standardWorkflowMaxDurationDays: 365 };
const BRIEF = 'Why serverless orchestration suits teams of AI agents, with checkpoints and automatic recovery';

/** What the facts contradict (they say 23), as `--inject hallucination` has the researcher write it. */
const FABRICATED = 'Market research: the agent platform market grew 340% last year.';
/** What the facts confirm. */
const TRUE_GROWTH = 'The agent platform market grew 23% last year.';
const TRUE_DURATION = 'A standard workflow runs for at most 365 days.';
/** A statistic no fact of the input is about. */
const UNKNOWN = 'The cache hit rate rose 40% after the migration.';
const PLAIN = 'Serverless orchestration checkpoints every step, so a crashed run resumes where it stopped.';

/** A verify-claims event as the pipeline ASL sends it: one stage record per output, in stage order. */
function claimsEvent(outputs: readonly string[], input: Record<string, unknown> = { brief: BRIEF, facts: FACTS }): VerifyClaimsEvent {
  return VerifyClaimsEventSchema.parse({
    step: 'verify-claims',
    taskId: 't-verify-claims',
    stateName: 'VerifyClaims',
    stepId: 'final',
    input,
    stages: outputs.map((output, index) => ({ agentId: STAGES[index] ?? `stage-${String(index)}`, attempts: 1, output })),
  });
}

/** `stating` of `count` stages state `sentence`; the others write plain text. */
const outputsWith = (sentence: string, stating: number, count = 4): string[] =>
  Array.from({ length: count }, (_unused, index) => (index < stating ? `${PLAIN} ${sentence}` : PLAIN));

describe('Function: verifyClaims', () => {
  it('groups the statistics of several stages by fact and value, with statedBy in stage order', async () => {
    // Arrange: the writer and the publisher state the true growth, the editor and the researcher the true duration
    // (the editor first in its text), and the writer also the duration (twice: counted once).
    const event = claimsEvent([
      `${PLAIN} ${TRUE_DURATION}`,
      `${TRUE_GROWTH} ${TRUE_DURATION} ${TRUE_DURATION}`,
      `${TRUE_DURATION} ${PLAIN}`,
      `${PLAIN} ${TRUE_GROWTH}`,
    ]);

    // Act
    const result = await verifyClaims(event);

    // Assess
    expect(result.checks).toEqual([
      { fact: 'standardWorkflowMaxDurationDays', claimed: 365, expected: 365, status: 'confirmed', statistic: '365 days', statedBy: ['researcher', 'writer', 'editor'] },
      { fact: 'agentPlatformMarketGrowthPercent', claimed: 23, expected: 23, status: 'confirmed', statistic: '23%', statedBy: ['writer', 'publisher'] },
    ]);
    expect(ClaimsVerificationSchema.parse(result)).toEqual(result);
  });

  it('keeps two values of one fact apart: each is its own claim with its own stages', async () => {
    const result = await verifyClaims(claimsEvent([`${PLAIN} ${FABRICATED}`, `${PLAIN} ${TRUE_GROWTH}`, `${PLAIN} ${FABRICATED}`, PLAIN]));

    expect(result.checks.map((check) => [check.fact, check.claimed, check.status, check.statedBy])).toEqual([
      ['agentPlatformMarketGrowthPercent', 340, 'contradicted', ['researcher', 'editor']],
      ['agentPlatformMarketGrowthPercent', 23, 'confirmed', ['writer']],
    ]);
  });

  it('verifies a statistic the facts confirm: no hallucination, no detection, calibrated 1', async () => {
    const event = claimsEvent(outputsWith(TRUE_GROWTH, 4));

    const result = await verifyClaims(event);

    expect(result).toMatchObject({ verified: true, hallucination: false, detection: null });
    expect(result.confidence).toEqual({ agreement: 1, calibrated: 1, threshold: DEFAULT_CONFIDENCE_THRESHOLD, verified: true, detection: false });
    expect(result.reason).toBe('all 1 statistics the stages state match the facts of the input');
    expect(claimsVerificationProblems(event, result)).toEqual([]);
  });

  it('detects a contradicted statistic that most stages state: hallucination, flagged, calibrated 0', async () => {
    // Arrange: three of the four stages (0.75, above the 0.7 threshold) build on the fabricated statistic.
    const event = claimsEvent(outputsWith(FABRICATED, 3));

    // Act
    const result = await verifyClaims(event);

    // Assess
    expect(result.verified).toBe(false);
    expect(result.hallucination).toBe(true);
    expect(result.checks).toEqual([
      { fact: 'agentPlatformMarketGrowthPercent', claimed: 340, expected: 23, status: 'contradicted', statistic: '340%', statedBy: ['researcher', 'writer', 'editor'] },
    ]);
    expect(result.confidence).toEqual({ agreement: 0.75, calibrated: 0, threshold: DEFAULT_CONFIDENCE_THRESHOLD, verified: false, detection: true });
    expect(result.detection).toEqual({
      type: 'hallucination',
      step: 'VerifyClaims',
      stepId: 'final',
      action: 'flagged',
      agents: ['researcher', 'writer', 'editor'],
      details: result.reason,
    });
    expect(result.reason).toBe('1 of 1 statistics of the 4 stages are not confirmed by the facts: 340% (agentPlatformMarketGrowthPercent; the facts say 23) stated by researcher, writer, editor');
    expect(claimsVerificationProblems(event, result)).toEqual([]);
  });

  it('escalates the same hallucination for a task marked highImpact', async () => {
    const event = claimsEvent(outputsWith(FABRICATED, 4), { brief: BRIEF, facts: FACTS, highImpact: true });

    const result = await verifyClaims(event);

    expect(result.hallucination).toBe(true);
    expect(result.detection).toMatchObject({ type: 'hallucination', action: 'escalated', agents: [...STAGES] });
    expect(result.confidence).toMatchObject({ agreement: 1, calibrated: 0 });
    expect(claimsVerificationProblems(event, result)).toEqual([]);
  });

  it('does not detect a contradicted statistic only one of four stages states (agreement 0.25), but does not verify it either', async () => {
    // Arrange: every stage states the true duration; only the researcher the fabricated growth.
    const outputs = outputsWith(TRUE_DURATION, 4).map((output, index) => (index === 0 ? `${output} ${FABRICATED}` : output));
    const event = claimsEvent(outputs);

    // Act
    const result = await verifyClaims(event);

    // Assess: the verdict turns on the failed claim, not on the confirmed one all four state.
    expect(result).toMatchObject({ verified: false, hallucination: false, detection: null });
    expect(result.confidence).toMatchObject({ agreement: 0.25, calibrated: 0, detection: false });
    expect(result.reason).toMatch(/^1 of 2 statistics of the 4 stages are not confirmed by the facts: 340% .* stated by researcher$/);
    expect(claimsVerificationProblems(event, result)).toEqual([]);
  });

  it('detects a statistic no fact is about (unknown-fact) that every stage states: verification failed', async () => {
    const event = claimsEvent(outputsWith(UNKNOWN, 4));

    const result = await verifyClaims(event);

    expect(result.checks).toEqual([
      { fact: 'cache hit rate rose 40%', claimed: 40, expected: null, status: 'unknown-fact', statistic: '40%', statedBy: [...STAGES] },
    ]);
    expect(result).toMatchObject({ verified: false, hallucination: true });
    expect(result.confidence).toMatchObject({ agreement: 1, calibrated: 0, detection: true });
    expect(result.detection).toMatchObject({ action: 'flagged', agents: [...STAGES] });
    expect(result.reason).toContain('40% (cache hit rate rose 40%; no such fact) stated by researcher, writer, editor, publisher');
  });

  it('with no statistic at all, verifies nothing: verified false, calibrated 0.5, no detection, and the reason says so', async () => {
    const event = claimsEvent([PLAIN, PLAIN, 'Edited: every claim checked against the research notes.', 'Published, tags: serverless, agents.']);

    const result = await verifyClaims(event);

    expect(result).toEqual({
      verified: false,
      checks: [],
      confidence: { agreement: 0, calibrated: UNCHECKED_PRIOR, threshold: DEFAULT_CONFIDENCE_THRESHOLD, verified: false, detection: false },
      hallucination: false,
      reason: 'the stages state no statistic to check against the facts of the input',
      detection: null,
    });
    expect(claimsVerificationProblems(event, result)).toEqual([]);
  });

  it('does not count a bare number (a year, a list index) as a statistic', async () => {
    const result = await verifyClaims(claimsEvent(['In 2024 the team listed 3 angles: 1) cost, 2) speed.', PLAIN]));

    expect(result.checks).toEqual([]);
  });

  describe('Feature: input with no facts', () => {
    it('checks nothing when the stages state no statistic', async () => {
      const result = await verifyClaims(claimsEvent([PLAIN, PLAIN], { brief: BRIEF }));

      expect(result).toMatchObject({ verified: false, checks: [], hallucination: false, detection: null, confidence: { calibrated: UNCHECKED_PRIOR } });
    });

    it.each([
      ['no facts', { brief: BRIEF }],
      ['an empty facts table', { brief: BRIEF, facts: {} }],
    ])('checks nothing with %s (no source of truth): no claim, no detection, whatever the stages agree on', async (_label, input) => {
      const event = claimsEvent(outputsWith(FABRICATED, 4), input);

      const result = await verifyClaims(event);

      expect(result).toMatchObject({ checks: [], verified: false, hallucination: false, detection: null, reason: 'the input gives no facts to check the stages against' });
      expect(result.confidence.calibrated).toBe(0.5);
      expect(claimsVerificationProblems(event, result)).toEqual([]);
    });
  });

  it('never raises the calibrated confidence as more stages agree (1 to 4 of 4 stages state the statistic)', async () => {
    for (const [sentence, calibrated] of [[FABRICATED, 0], [UNKNOWN, 0], [TRUE_GROWTH, 1]] as const) {
      const seen: { agreement: number; calibrated: number; detection: boolean }[] = [];
      for (let stating = 1; stating <= 4; stating += 1) {
        const { confidence } = await verifyClaims(claimsEvent(outputsWith(sentence, stating)));
        seen.push({ agreement: confidence.agreement, calibrated: confidence.calibrated, detection: confidence.detection });
      }

      expect(seen.map((entry) => entry.agreement)).toEqual([0.25, 0.5, 0.75, 1]);
      expect(seen.map((entry) => entry.calibrated)).toEqual([calibrated, calibrated, calibrated, calibrated]);
      // A detection from 3 of 4 stages on (0.75 >= 0.7), and only for a statistic the facts do not confirm.
      expect(seen.map((entry) => entry.detection)).toEqual(calibrated === 1 ? [false, false, false, false] : [false, false, true, true]);
    }
  });

  it('keeps the reason (and the detection details) to 1500 characters with many statistics', async () => {
    // Arrange: 80 different values of the growth, none the true one, spread over the four stages.
    const sentences = Array.from({ length: 80 }, (_unused, index) => `The agent platform market grew ${String(100 + index)}% last year.`);
    const outputs = STAGES.map((_stage, stage) => sentences.filter((_sentence, index) => index % 4 === stage).join(' '));
    const everyStage = outputs.map((output) => `${output} ${FABRICATED}`);
    const event = claimsEvent(everyStage);

    // Act
    const result = await verifyClaims(event);

    // Assess
    expect(result.checks).toHaveLength(81);
    expect(result.reason.length).toBeLessThanOrEqual(1500);
    expect(result.reason.length).toBeGreaterThan(1000);
    expect(result.reason).toMatch(/^81 of 81 statistics of the 4 stages are not confirmed by the facts: /);
    expect(result.detection?.details).toBe(result.reason);
    // The detection names the stages of the most widely stated claim: the 340% every stage repeats.
    expect(result.detection?.agents).toEqual([...STAGES]);
    expect(ClaimsVerificationSchema.parse(result)).toEqual(result);
  });
});

describe('Function: claimsVerificationProblems', () => {
  let event: VerifyClaimsEvent;
  let flagged: ClaimsVerification;

  beforeAll(async () => {
    event = claimsEvent(outputsWith(FABRICATED, 4));
    flagged = await verifyClaims(event);
  });

  it('finds nothing wrong with the step\'s own result', () => {
    expect(claimsVerificationProblems(event, flagged)).toEqual([]);
  });

  it('flags verified true while a statistic is contradicted, and verified true with no statistic', async () => {
    expect(claimsVerificationProblems(event, { ...flagged, verified: true })).toEqual(['verified is not what the checks of the stages give']);
    const none = claimsEvent([PLAIN]);
    const unchecked = await verifyClaims(none);
    expect(claimsVerificationProblems(none, { ...unchecked, verified: true })).toEqual(['verified is not what the checks of the stages give']);
  });

  it('flags verified false while every statistic is confirmed', async () => {
    const confirmedEvent = claimsEvent(outputsWith(TRUE_GROWTH, 2));
    const confirmed = await verifyClaims(confirmedEvent);
    expect(claimsVerificationProblems(confirmedEvent, { ...confirmed, verified: false })).toEqual(['verified is not what the checks of the stages give']);
  });

  it('flags a detection without a hallucination, and a hallucination without a detection', () => {
    const quiet = { ...flagged, hallucination: false, confidence: { ...flagged.confidence, detection: false } };
    expect(claimsVerificationProblems(event, quiet)).toEqual(['confidence is not what the checks of the stages give', 'hallucination is not what the checks of the stages give']);
    expect(claimsVerificationProblems(event, { ...flagged, detection: null })).toEqual(['detection is not what the checks of the stages give']);
  });

  it('flags a hallucination the confidence does not report', () => {
    expect(claimsVerificationProblems(event, { ...flagged, confidence: { ...flagged.confidence, detection: false } })).toEqual(['confidence is not what the checks of the stages give']);
  });

  it('flags an escalation of a task not marked highImpact, and a flagged high-impact task', () => {
    const escalated = { ...flagged, detection: { ...(flagged.detection ?? fail('no detection')), action: 'escalated' as const } };
    expect(claimsVerificationProblems(event, escalated)).toEqual(['detection is not what the checks of the stages give']);
    const highImpact = claimsEvent(outputsWith(FABRICATED, 4), { brief: BRIEF, facts: FACTS, highImpact: true });
    expect(claimsVerificationProblems(highImpact, flagged)).toEqual(['detection is not what the checks of the stages give']);
  });

  it('flags a statistic attributed to an agent that is no passed stage', () => {
    const [check] = flagged.checks;
    const forged = { ...flagged, checks: [{ ...(check ?? fail('no check')), statedBy: ['researcher', 'quality-gate'] }] };
    expect(claimsVerificationProblems(event, forged)).toEqual(['checks is not what the checks of the stages give']);
  });

  // Regression: the invariant once missed this (found by this test, fixed).
  it('flags a result that hides the hallucinated consensus its own checks show', () => {
    const hidden: ClaimsVerification = { ...flagged, hallucination: false, detection: null, confidence: { ...flagged.confidence, agreement: 0.25, detection: false } };
    expect(claimsVerificationProblems(event, hidden)).not.toEqual([]);
  });

  // Regression: the invariant once missed this (found by this test, fixed).
  it('flags a calibrated confidence raised above what the checks allow', () => {
    expect(claimsVerificationProblems(event, { ...flagged, confidence: { ...flagged.confidence, calibrated: 1 } })).not.toEqual([]);
  });
});

/** Fails the test with a message (for values a test needs present). */
function fail(message: string): never {
  throw new Error(message);
}

describe('Step: verify-claims (through the agent handler, no model call)', () => {
  let team: TeamDefinition;
  let verifier: AgentConfig;

  beforeAll(async () => {
    team = await loadTeamFile('teams/content-pipeline.yaml');
    verifier = agentConfigOf(team, 'quality-gate');
  });

  it('is run by the verifier without a model call and returns what verifyClaims returns', async () => {
    const event = claimsEvent(outputsWith(FABRICATED, 4));

    const result = (await runAgentStep(event, verifier, agentDependencies(unusedModel))) as ClaimsVerification;

    expect(result).toEqual(await verifyClaims(event));
    expect(result.detection).toMatchObject({ type: 'hallucination', step: 'VerifyClaims', stepId: 'final', action: 'flagged' });
    expect(checkAgentResult(event, result, verifier)).toEqual([]);
  });

  it('refuses an event with no stage, and a stage agent asking to run it', async () => {
    const noStages = { ...claimsEvent([PLAIN]), stages: [] };
    await expect(runAgentStep(noStages, verifier, agentDependencies(unusedModel))).rejects.toThrow(InvalidEventError);
    await expect(runAgentStep(claimsEvent([PLAIN]), agentConfigOf(team, 'writer'), agentDependencies(unusedModel))).rejects.toThrow(InvalidEventError);
  });

  it('reports the invariants of a tampered result through the output check', async () => {
    const event = claimsEvent(outputsWith(FABRICATED, 4));
    const tampered: ClaimsVerification = { ...(await verifyClaims(event)), verified: true };

    expect(checkAgentResult(event, tampered, verifier)).toEqual(['verified is not what the checks of the stages give']);
  });
});
