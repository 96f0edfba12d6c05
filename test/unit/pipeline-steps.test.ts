/**
 * The pipeline's agent steps without middlewares: a stage (with the deterministic scripted model
 * or a test double) and the verifier's gate (deterministic code, no model), their checks and
 * their invariants.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runAgentStep } from '../../functions/agents/agent.ts';
import { gate, gateProblems, verdictFor } from '../../functions/patterns/pipeline/gate.ts';
import { keyTermsOf, qualityProblems } from '../../functions/patterns/pipeline/quality-checks.ts';
import { runStage, stageProblems } from '../../functions/patterns/pipeline/stage.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { type GateEvent, GateEventSchema, type GateResult, type StageEvent, StageEventSchema } from '../../functions/patterns/pipeline/contract.ts';
import { AgentOutputError, InvalidEventError } from '../../functions/core/errors.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { agentConfigOf } from '../support/telecom.ts';
import { FixedReplyModel, agentDependencies, stepContext, unusedModel } from '../support/agent-doubles.ts';

const BRIEF = 'Why serverless orchestration suits teams of AI agents, with checkpoints and automatic recovery';
const GOOD = 'Serverless orchestration gives agent teams checkpoints after every step, so a crashed run resumes where it stopped.';


function stageEvent(overrides: Partial<StageEvent> = {}): StageEvent {
  return StageEventSchema.parse({
    step: 'stage', taskId: 't-unit', stateName: 'RunStage', stepId: '1-1', brief: BRIEF,
    stage: { agentId: 'writer', index: 1, count: 4 }, attempt: 1, previous: 'Research notes.', feedback: '', ruling: null, ...overrides,
  });
}

function gateEvent(overrides: Partial<GateEvent> = {}): GateEvent {
  return GateEventSchema.parse({
    step: 'gate', taskId: 't-unit', stateName: 'Gate', stepId: '1-1', brief: BRIEF,
    stage: { agentId: 'writer', index: 1, count: 4 }, attempt: 1, maxAttempts: 2, output: GOOD,
    passed: [{ agentId: 'researcher', attempts: 1, output: 'Research notes.' }], ...overrides,
  });
}

describe('Function: keyTermsOf and qualityProblems (the gate checks)', () => {
  it('takes up to five distinct words of four letters or more, without stop words', () => {
    expect(keyTermsOf(BRIEF)).toEqual(['serverless', 'orchestration', 'suits', 'teams', 'agents']);
    expect(keyTermsOf('Write about AI')).toEqual([]);
  });

  it('passes an output of fitting length that mentions the brief and holds no placeholder', () => {
    expect(qualityProblems(GOOD, BRIEF)).toEqual([]);
  });

  it.each([
    ['an empty output', '', 'empty output'],
    ['a short output', 'Serverless agent teams.', 'too short: 23 characters, at least 80'],
    ['a long output', `${GOOD} ${'x'.repeat(6000)}`, `too long: ${String(GOOD.length + 6001)} characters, at most 6000`],
    ['a TODO', `${GOOD} TODO: add the figures.`, 'placeholder text: TODO'],
    ['lorem ipsum', `${GOOD} Lorem ipsum dolor sit amet.`, 'placeholder text: Lorem ipsum'],
    ['a TBD', `${GOOD} Release date TBD.`, 'placeholder text: TBD'],
    ['an [insert ...] mark', `${GOOD} [insert chart here]`, 'placeholder text: [insert chart here]'],
  ])('rejects %s', (_label, output, problem) => {
    expect(qualityProblems(output, BRIEF)).toContain(problem);
  });

  it('rejects an output that mentions fewer than two of the key terms', () => {
    const offTopic = 'A recipe for apple pie: flour, butter, sugar and apples, baked for forty minutes until golden brown.';
    expect(qualityProblems(offTopic, BRIEF)).toEqual([
      "mentions 0 of the brief's key terms (serverless, orchestration, suits, teams, agents), at least 2",
    ]);
  });
});

describe('Step: gate (deterministic, no model call)', () => {
  let team: TeamDefinition;
  let verifier: AgentConfig;

  beforeAll(async () => {
    team = await loadTeamFile('teams/content-pipeline.yaml');
    verifier = agentConfigOf(team, 'quality-gate');
  });

  it('decides pass, retry while attempts are left, and fail after the last', () => {
    expect(verdictFor([], 2, 2)).toBe('pass');
    expect(verdictFor(['too short'], 1, 2)).toBe('retry');
    expect(verdictFor(['too short'], 2, 2)).toBe('fail');
  });

  it('passes a good output and adds the stage to the passed ones, through the agent handler without a model', async () => {
    // Act
    const result = (await runAgentStep(gateEvent(), verifier, agentDependencies(unusedModel))) as GateResult;

    // Assess
    expect(result).toEqual({
      verdict: 'pass',
      problems: [],
      feedback: '',
      summary: 'Stage writer (2 of 4), attempt 1 of 2: passed',
      passed: [
        { agentId: 'researcher', attempts: 1, output: 'Research notes.' },
        { agentId: 'writer', attempts: 1, output: GOOD },
      ],
    });
    expect(gateProblems(gateEvent(), result)).toEqual([]);
  });

  it('asks for a retry with feedback, and keeps the passed stages as they were', async () => {
    const event = gateEvent({ output: 'Too short about serverless agents.' });
    const result = await gate(event);
    expect(result.verdict).toBe('retry');
    expect(result.feedback).toBe('too short: 34 characters, at least 80');
    expect(result.passed).toEqual(event.passed);
  });

  it('fails the stage on its last attempt, naming it in the summary', async () => {
    const result = await gate(gateEvent({ output: 'TODO', attempt: 2 }));
    expect(result.verdict).toBe('fail');
    expect(result.feedback).toBe('');
    expect(result.summary).toMatch(/^Stage writer \(2 of 4\), attempt 2 of 2: fail: too short: 4 characters/);
  });

  it('flags a result whose verdict does not follow from its problems, or whose passed list was changed', async () => {
    const event = gateEvent();
    const good = await gate(event);
    expect(gateProblems(event, { ...good, verdict: 'retry' })).toContain('verdict retry with 0 problems at attempt 1 of 2 (expected pass)');
    expect(gateProblems(event, { ...good, passed: good.passed.slice(1) })).toContain('passed is not the earlier stages plus, on pass, this one');
    const forged = { ...good, passed: [...event.passed, { agentId: 'editor', attempts: 1, output: GOOD }] };
    expect(gateProblems(event, forged)).toEqual(["the record added is not stage writer's attempt 1"]);
  });

  it('may only be run by the verifier', async () => {
    await expect(runAgentStep(gateEvent(), agentConfigOf(team, 'writer'), agentDependencies(unusedModel))).rejects.toThrow(InvalidEventError);
  });
});

describe('Step: stage', () => {
  let team: TeamDefinition;
  let writer: AgentConfig;

  beforeAll(async () => {
    team = await loadTeamFile('teams/content-pipeline.yaml');
    writer = agentConfigOf(team, 'writer');
  });

  it("answers offline with the agent's scripted reply, the brief filled in", async () => {
    const result = await runStage(stageEvent(), stepContext(writer, new ScriptedModel()));
    expect(result.agentId).toBe('writer');
    expect(result.output).toMatch(new RegExp(`^Draft of "${BRIEF}": the introduction`));
    expect(stageProblems(stageEvent(), result, writer)).toEqual([]);
    expect(qualityProblems(result.output, BRIEF)).toEqual([]);
  });

  it('puts the brief, the previous output and the gate feedback in the prompt', async () => {
    const model = new FixedReplyModel(GOOD);
    await runStage(stageEvent({ attempt: 2, feedback: 'too short: 14 characters, at least 80' }), stepContext(writer, model));
    const prompt = model.requests[0]?.prompt ?? '';
    expect(prompt).toContain('You are stage 2 of 4');
    expect(prompt).toContain(`Brief: ${BRIEF}`);
    expect(prompt).toContain('Output of the previous stage:\nResearch notes.');
    expect(prompt).toContain('sent back: too short: 14 characters, at least 80');
    expect(model.requests[0]?.system).toBe(writer.agent.systemPrompt);
  });

  it('refuses an event for another stage, and an empty reply', async () => {
    await expect(runStage(stageEvent({ stage: { agentId: 'editor', index: 2, count: 4 } }), stepContext(writer, new ScriptedModel()))).rejects.toThrow(InvalidEventError);
    await expect(runStage(stageEvent(), stepContext(writer, new FixedReplyModel('   ')))).rejects.toThrow(AgentOutputError);
  });

  it('flags a result from another agent', () => {
    expect(stageProblems(stageEvent(), { agentId: 'editor', output: GOOD, handBack: null }, writer)).toEqual(['output is from editor, the stage is writer']);
  });
});
