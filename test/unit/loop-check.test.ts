/**
 * The pipeline's hand-backs: a stage that hands its input back (stage.ts: handBackIn, runStage,
 * stageProblems) and the verifier's loop check that follows (loop-check.ts: loopCheck and its
 * invariants loopCheckProblems). The loop check is deterministic; the stage uses a test double
 * that returns a fixed reply. The team is the shipped content pipeline (researcher, writer,
 * editor of rank 2, publisher; quality-gate the verifier).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAgentResult } from '../../functions/agents/agent.ts';
import { loopCheck, loopCheckProblems } from '../../functions/patterns/pipeline/loop-check.ts';
import { HAND_BACK_PREFIX, handBackIn, runStage, stageProblems } from '../../functions/patterns/pipeline/stage.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { type LoopCheckEvent, LoopCheckEventSchema, LoopCheckResultSchema, type PipelineLoop, type StageEvent, StageEventSchema } from '../../functions/patterns/pipeline/contract.ts';
import { DetectionSchema } from '../../functions/core/contracts/detections.ts';
import { InvalidEventError } from '../../functions/core/errors.ts';
import { detectLoop } from '../../functions/guards/loop-detector.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { agentConfigOf } from '../support/telecom.ts';
import { LOOP_DETECTION } from '../support/detections.ts';
import { FixedReplyModel, stepContext } from '../support/agent-doubles.ts';

const BRIEF = 'Why serverless orchestration suits teams of AI agents, with checkpoints and automatic recovery';
const NOTES = 'Research notes: serverless orchestration, checkpoints after every step, automatic recovery of crashed runs.';
const DRAFT = 'Draft: hey folks, serverless orchestration is great for agent teams, checkpoints save the day!';
const REDRAFT = 'Revised draft: quarterly figures differ by region; bakeries sell bread, cakes and pastries daily.';
const FORMAL = 'Rewrite the draft in a formal tone: no chatty asides.';
const SOURCES = 'Cite one source per figure; keep headings short.';

const AGENT_IDS = ['researcher', 'writer', 'editor', 'publisher'];
const RANKS = ['1', '1', '2', '1'];

/** The loop state when the editor (stage 2) got the writer's draft: researcher and writer passed. */
function loopAtEditor(overrides: Partial<PipelineLoop> = {}): PipelineLoop {
  return {
    cursor: { index: 2, attempt: 1 },
    document: DRAFT,
    feedback: '',
    passed: [
      { agentId: 'researcher', attempts: 1, output: NOTES },
      { agentId: 'writer', attempts: 1, output: DRAFT },
    ],
    handBacks: 0,
    history: [],
    ruling: null,
    ...overrides,
  };
}

/** The editor hands the writer's draft back. */
function loopCheckEvent(overrides: Partial<LoopCheckEvent> = {}): LoopCheckEvent {
  return LoopCheckEventSchema.parse({
    step: 'loop-check',
    taskId: 't-loop-unit',
    stateName: 'CheckLoop',
    stepId: '2-1-h0',
    stage: { agentId: 'editor', index: 2, count: 4 },
    instruction: FORMAL,
    loop: loopAtEditor(),
    agentIds: AGENT_IDS,
    ranks: RANKS,
    maxHandBacks: 4,
    ...overrides,
  });
}

/** The editor's first hand-back, as the loop check records it. */
const FIRST = { from: 'editor', to: 'writer', instruction: FORMAL, work: DRAFT, afterRuling: false };

/** The loop state after the editor's first hand-back: the writer redid the draft and it passed again. */
function afterFirstHandBack(document: string, overrides: Partial<PipelineLoop> = {}): PipelineLoop {
  return loopAtEditor({
    document,
    passed: [
      { agentId: 'researcher', attempts: 1, output: NOTES },
      { agentId: 'writer', attempts: 1, output: document },
    ],
    handBacks: 1,
    history: [FIRST],
    ...overrides,
  });
}

describe('Function: loopCheck', () => {
  describe('a first hand-back (no loop yet)', () => {
    it('sends the work back to the stage before: cursor one stage back, its input as the document, the instruction as feedback', async () => {
      // Arrange
      const event = loopCheckEvent();

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('hand-back');
      expect(result.detection).toBeNull();
      expect(result.next).toEqual({
        cursor: { index: 1, attempt: 1 },
        document: NOTES,
        feedback: `editor handed your work back: ${FORMAL}`,
        passed: [{ agentId: 'researcher', attempts: 1, output: NOTES }],
        handBacks: 1,
        history: [FIRST],
        ruling: null,
      });
      expect(result.summary).toBe(`editor handed writer's work back (hand-back 1 of at most 4): ${FORMAL}`);
      expect(LoopCheckResultSchema.safeParse(result).success).toBe(true);
      expect(loopCheckProblems(event, result)).toEqual([]);
    });

    it('leaves the event as it was', async () => {
      const event = loopCheckEvent();
      const copy = structuredClone(event);
      await loopCheck(event);
      expect(event).toEqual(copy);
    });

    it('hands back to the first stage with an empty document (the first stage starts from the brief)', async () => {
      // Arrange: the writer (stage 1) hands the research notes back to the researcher.
      const event = loopCheckEvent({
        stage: { agentId: 'writer', index: 1, count: 4 },
        loop: loopAtEditor({ cursor: { index: 1, attempt: 1 }, document: NOTES, passed: [{ agentId: 'researcher', attempts: 1, output: NOTES }] }),
      });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('hand-back');
      expect(result.next).toMatchObject({ cursor: { index: 0, attempt: 1 }, document: '', passed: [], feedback: `writer handed your work back: ${FORMAL}` });
      expect(result.next.history).toEqual([{ from: 'writer', to: 'researcher', instruction: FORMAL, work: NOTES, afterRuling: false }]);
    });

    it('keeps a ruling made earlier on a plain hand-back', async () => {
      const ruling = { agentId: 'publisher', over: 'editor', instruction: 'editor outranks you on this; follow its instruction: shorter title' };
      const result = await loopCheck(loopCheckEvent({ loop: loopAtEditor({ ruling }) }));
      expect(result.verdict).toBe('hand-back');
      expect(result.next.ruling).toEqual(ruling);
    });

    it('cuts the feedback to 2000 characters', async () => {
      const instruction = `Rewrite ${'this '.repeat(400)}`.slice(0, 2000);
      expect(instruction).toHaveLength(2000);
      const result = await loopCheck(loopCheckEvent({ instruction }));
      expect(result.next.feedback).toHaveLength(2000);
      expect(result.next.feedback.startsWith('editor handed your work back: Rewrite this')).toBe(true);
    });

    it('refuses a hand-back from the first stage (there is no stage before it)', async () => {
      const event = loopCheckEvent({ stage: { agentId: 'researcher', index: 0, count: 4 } });
      // loopCheck throws before it returns a promise; the agent handler awaits it inside an async function, so either way the step fails.
      const call = Promise.resolve().then(() => loopCheck(event));
      await expect(call).rejects.toThrow(InvalidEventError);
      await expect(call).rejects.toThrow(/stage researcher \(index 0\) has no stage before it/);
    });
  });

  describe('an oscillation: the conflict rule', () => {
    it('rules for the higher-ranked sender: the receiver runs again, bound by the instruction', async () => {
      // Arrange: the writer handed back the same draft; the editor (rank 2) hands it back again.
      const event = loopCheckEvent({ stepId: '2-1-h1', instruction: SOURCES, loop: afterFirstHandBack(DRAFT) });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('conflict-rule');
      expect(result.next).toEqual({
        cursor: { index: 1, attempt: 1 },
        document: NOTES,
        feedback: `editor handed your work back: ${SOURCES}`,
        passed: [{ agentId: 'researcher', attempts: 1, output: NOTES }],
        handBacks: 2,
        history: [FIRST, { from: 'editor', to: 'writer', instruction: SOURCES, work: DRAFT, afterRuling: false }],
        ruling: { agentId: 'writer', over: 'editor', instruction: `editor outranks you on this; follow its instruction: ${SOURCES}` },
      });
      expect(result.detection).toEqual(LOOP_DETECTION);
      expect(DetectionSchema.safeParse(result.detection).success).toBe(true);
      expect(result.summary).toBe(`editor handed writer's work back (hand-back 2 of at most 4): ${SOURCES} · loop: conflict-rule (oscillation)`);
      expect(LoopCheckResultSchema.safeParse(result).success).toBe(true);
      expect(loopCheckProblems(event, result)).toEqual([]);
    });

    it('also rules when the sender repeats its instruction on a different draft', async () => {
      const event = loopCheckEvent({ instruction: FORMAL, loop: afterFirstHandBack(REDRAFT) });
      const result = await loopCheck(event);
      expect(result.verdict).toBe('conflict-rule');
      expect(result.next.history.at(-1)).toEqual({ from: 'editor', to: 'writer', instruction: FORMAL, work: REDRAFT, afterRuling: false });
    });

    it('rules against the sender when the receiver outranks it: the work stands, this stage runs again bound by the ruling', async () => {
      // Arrange: the writer outranks the editor.
      const event = loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT), ranks: ['1', '3', '2', '1'] });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('conflict-rule');
      expect(result.next).toEqual({
        ...afterFirstHandBack(DRAFT),
        cursor: { index: 2, attempt: 1 },
        document: DRAFT,
        feedback: '',
        handBacks: 2,
        history: [FIRST, { from: 'editor', to: 'writer', instruction: SOURCES, work: DRAFT, afterRuling: false }],
        ruling: { agentId: 'editor', over: 'writer', instruction: "writer outranks you on this: its work stands. Do not hand it back again; do your stage's work on it as it is." },
      });
      expect(result.detection).toMatchObject({ action: 'conflict-rule', details: expect.stringContaining("conflict rule, writer's instruction binds editor") as unknown });
      expect(loopCheckProblems(event, result)).toEqual([]);
    });

    it('on a tie, rules for the stage that handed back', async () => {
      const result = await loopCheck(loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT), ranks: ['1', '1', '1', '1'] }));
      expect(result.next.ruling?.agentId).toBe('writer');
      expect(result.next.cursor.index).toBe(1);
    });

    it('ranks stages missing from the ranks 1', async () => {
      // Arrange: ranks given for the researcher and the writer (3) only; the editor defaults to 1.
      const outranked = await loopCheck(loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT), ranks: ['1', '3'] }));
      // Only the researcher's rank: writer and editor both default to 1, a tie.
      const tie = await loopCheck(loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT), ranks: ['1'] }));

      // Assess
      expect(outranked.next.ruling?.agentId).toBe('editor');
      expect(outranked.next.cursor.index).toBe(2);
      expect(tie.next.ruling?.agentId).toBe('writer');
      expect(tie.next.cursor.index).toBe(1);
    });
  });

  describe('escalation', () => {
    it('escalates when the pair hands back again after the ruling: the loop state is kept, counted, with afterRuling', async () => {
      // Arrange: the rule bound the writer; the writer redid the draft; the editor hands it back once more.
      const ruling = { agentId: 'writer', over: 'editor', instruction: `editor outranks you on this; follow its instruction: ${SOURCES}` };
      const second = { from: 'editor', to: 'writer', instruction: SOURCES, work: DRAFT, afterRuling: false };
      const loop = afterFirstHandBack(REDRAFT, { handBacks: 2, history: [FIRST, second], ruling });
      const event = loopCheckEvent({ stepId: '2-1-h2', instruction: 'Different: add a conclusion.', loop, maxHandBacks: 10 });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('escalate');
      expect(result.next).toEqual({
        ...loop,
        handBacks: 3,
        history: [FIRST, second, { from: 'editor', to: 'writer', instruction: 'Different: add a conclusion.', work: REDRAFT, afterRuling: true }],
      });
      expect(result.detection).toEqual({
        type: 'loop',
        step: 'CheckLoop',
        stepId: 'h3',
        action: 'escalated',
        agents: ['editor', 'writer'],
        details: 'editor and writer handed work back again after the conflict rule ruled: escalated to a human',
      });
      expect(result.summary).toMatch(/· loop: escalate \(rule-did-not-end-it\)$/);
      expect(loopCheckProblems(event, result)).toEqual([]);
    });

    it('escalates at maxHandBacks, even for a first, dissimilar hand-back of the pair', async () => {
      // Arrange: one earlier hand-back of another pair (writer to researcher), the limit is 2.
      const earlier = { from: 'writer', to: 'researcher', instruction: SOURCES, work: NOTES, afterRuling: false };
      const loop = loopAtEditor({ handBacks: 1, history: [earlier] });
      const event = loopCheckEvent({ loop, maxHandBacks: 2 });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('escalate');
      expect(result.next).toEqual({ ...loop, handBacks: 2, history: [earlier, FIRST] });
      expect(result.detection).toEqual({
        type: 'loop',
        step: 'CheckLoop',
        stepId: 'h2',
        action: 'escalated',
        agents: ['editor', 'writer'],
        details: '2 hand-backs reached the limit of 2: escalated to a human',
      });
      expect(result.summary).toBe(`editor handed writer's work back (hand-back 2 of at most 2): ${FORMAL} · loop: escalate (limit)`);
      expect(loopCheckProblems(event, result)).toEqual([]);
    });

    it("names the detection after the event's state and the hand-backs counted", async () => {
      const result = await loopCheck(loopCheckEvent({ stateName: 'CheckHandBack', maxHandBacks: 1 }));
      expect(result.detection).toMatchObject({ step: 'CheckHandBack', stepId: 'h1', action: 'escalated' });
    });
  });

  describe('Regressions', () => {
    // Regression (loop-check.ts, nextLoop: a ruling built from a long instruction): found by this test, fixed.
    it('gives a ruling that fits RulingSchema when the instruction is long (up to 2000 characters)', async () => {
      // Arrange
      const team: TeamDefinition = await loadTeamFile('teams/content-pipeline.yaml');
      const instruction = `${'Formal tone please. '.repeat(99)}Thanks a lot.`.slice(0, 2000);
      const event = loopCheckEvent({ instruction, loop: afterFirstHandBack(DRAFT, { history: [{ ...FIRST, instruction }] }) });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.verdict).toBe('conflict-rule');
      expect(checkAgentResult(event, result, agentConfigOf(team, 'quality-gate'))).toEqual([]);
    });

    // Regression (functions/patterns/pipeline/loop-check.ts, ruledOn): found by this test, fixed.
    it('does not escalate the first hand-back of another pair after a ruling on one of its agents', async () => {
      // Arrange: the rule bound the writer (pair editor-writer); the writer now hands the notes back to the researcher.
      const ruling = { agentId: 'writer', over: 'editor', instruction: `editor outranks you on this; follow its instruction: ${SOURCES}` };
      const second = { from: 'editor', to: 'writer', instruction: SOURCES, work: DRAFT, afterRuling: false };
      const loop = loopAtEditor({
        cursor: { index: 1, attempt: 1 },
        document: NOTES,
        passed: [{ agentId: 'researcher', attempts: 1, output: NOTES }],
        handBacks: 2,
        history: [FIRST, second],
        ruling,
      });
      const event = loopCheckEvent({ stage: { agentId: 'writer', index: 1, count: 4 }, instruction: 'Add figures for 2024.', loop, maxHandBacks: 10 });

      // Act
      const result = await loopCheck(event);

      // Assess
      expect(result.next.history.at(-1)?.afterRuling).toBe(false);
      expect(result.verdict).toBe('hand-back');
    });
  });
});

describe('Function: loopCheckProblems', () => {
  it('accepts what loopCheck returns for each verdict', async () => {
    const events = [
      loopCheckEvent(),
      loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT) }),
      loopCheckEvent({ maxHandBacks: 1 }),
    ];
    const results = await Promise.all(events.map((event) => loopCheck(event)));
    expect(results.map((result) => result.verdict)).toEqual(['hand-back', 'conflict-rule', 'escalate']);
    events.forEach((event, index) => {
      const result = results[index];
      if (result) expect(loopCheckProblems(event, result)).toEqual([]);
    });
  });

  it('flags a verdict that disagrees with the detector', async () => {
    // Arrange
    const event = loopCheckEvent();
    const result = await loopCheck(event);
    const detection = { type: 'loop' as const, step: 'CheckLoop', stepId: 'h1', action: 'escalated' as const, agents: ['editor', 'writer'], details: 'forged' };

    // Act
    const problems = loopCheckProblems(event, { ...result, verdict: 'escalate', detection });

    // Assess
    expect(problems).toEqual(['verdict escalate, the detector says continue']);
  });

  it('flags a plain hand-back turned into a conflict rule (the detector sees no oscillation)', async () => {
    const event = loopCheckEvent();
    const result = await loopCheck(event);
    const forged = { ...result, verdict: 'conflict-rule' as const, detection: { type: 'loop' as const, step: 'CheckLoop', stepId: 'h1', action: 'conflict-rule' as const, agents: [], details: '' } };
    expect(loopCheckProblems(event, forged)).toEqual(['verdict conflict-rule, the detector says continue']);
  });

  it('flags a result whose history did not grow by exactly one hand-back', async () => {
    // Arrange
    const event = loopCheckEvent({ loop: afterFirstHandBack(REDRAFT), instruction: SOURCES });
    const result = await loopCheck(event);
    expect(result.verdict).toBe('hand-back');

    // Act: the history as it was (not grown), and grown by two.
    const unchanged = loopCheckProblems(event, { ...result, next: { ...result.next, history: event.loop.history } });
    const latest = result.next.history.at(-1);
    const doubled = loopCheckProblems(event, { ...result, next: { ...result.next, history: [...result.next.history, ...(latest ? [latest] : [])] } });

    // Assess
    expect(unchanged).toContain('the history must grow by exactly this hand-back');
    expect(doubled).toContain('the history must grow by exactly this hand-back');
    // Grown by the same hand-back twice, the detector sees the pair oscillate: the verdict disagrees too.
    expect(doubled).toContain('verdict hand-back, the detector says conflict-rule');
  });

  it('flags a next stage that is neither this stage nor the one before', async () => {
    const event = loopCheckEvent();
    const result = await loopCheck(event);
    expect(loopCheckProblems(event, { ...result, next: { ...result.next, cursor: { index: 0, attempt: 1 } } })).toEqual(['next stage 0 is neither this stage nor the one before']);
    expect(loopCheckProblems(event, { ...result, next: { ...result.next, cursor: { index: 3, attempt: 1 } } })).toEqual(['next stage 3 is neither this stage nor the one before']);
  });

  it('flags a detection without a loop verdict, and a loop verdict without a detection', async () => {
    const handedBack = loopCheckEvent();
    const plain = await loopCheck(handedBack);
    const oscillating = loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT) });
    const ruled = await loopCheck(oscillating);
    expect(ruled.detection).not.toBeNull();

    expect(loopCheckProblems(handedBack, { ...plain, detection: ruled.detection })).toEqual(['a detection comes with a loop verdict, and only then']);
    expect(loopCheckProblems(oscillating, { ...ruled, detection: null })).toEqual(['a detection comes with a loop verdict, and only then']);
  });

  it('checks the verdict with the ranks of the event: the same history, other ranks, another verdict stays valid', async () => {
    // The detector decides on the history only; the ranks change the winner, not the verdict.
    const event = loopCheckEvent({ instruction: SOURCES, loop: afterFirstHandBack(DRAFT), ranks: ['1', '3', '2', '1'] });
    const result = await loopCheck(event);
    expect(detectLoop(result.next.history, { maxHandBacks: 4, ranks: {} }).action).toBe('conflict-rule');
    expect(loopCheckProblems(event, result)).toEqual([]);
  });
});

function stageEvent(overrides: Partial<StageEvent> = {}): StageEvent {
  return StageEventSchema.parse({
    step: 'stage',
    taskId: 't-loop-unit',
    stateName: 'RunStage',
    stepId: '2-1-h0',
    brief: BRIEF,
    stage: { agentId: 'editor', index: 2, count: 4 },
    attempt: 1,
    previous: DRAFT,
    feedback: '',
    ruling: null,
    ...overrides,
  });
}

describe('Function: handBackIn', () => {
  it('reads the instruction after the HAND BACK: prefix', () => {
    expect(HAND_BACK_PREFIX).toBe('HAND BACK:');
    expect(handBackIn('HAND BACK: use a formal tone')).toEqual({ instruction: 'use a formal tone' });
  });

  it('reads the prefix in any case and trims the instruction', () => {
    expect(handBackIn('hand back:   use a formal tone  \n')).toEqual({ instruction: 'use a formal tone' });
    expect(handBackIn('Hand Back:cite sources')).toEqual({ instruction: 'cite sources' });
  });

  it('asks to "redo this work" when the prefix comes without an instruction', () => {
    expect(handBackIn('HAND BACK:')).toEqual({ instruction: 'redo this work' });
    expect(handBackIn('HAND BACK:   \n ')).toEqual({ instruction: 'redo this work' });
  });

  it('cuts the instruction to 2000 characters', () => {
    expect(handBackIn(`HAND BACK: ${'x'.repeat(2500)}`)?.instruction).toBe('x'.repeat(2000));
  });

  it.each([
    ['a normal output', DRAFT],
    ['the prefix later in the text', `Edited. ${HAND_BACK_PREFIX} no`],
    ['the prefix without its colon', 'HAND BACK use a formal tone'],
    ['leading white space (runStage trims the reply first)', '  HAND BACK: x'],
    ['an empty text', ''],
  ])('returns null for %s', (_label, output) => {
    expect(handBackIn(output)).toBeNull();
  });
});

/** The content pipeline's editor and researcher, for the stage's hand-back tests. */
let editor: AgentConfig;
let researcher: AgentConfig;

beforeAll(async () => {
  const team = await loadTeamFile('teams/content-pipeline.yaml');
  editor = agentConfigOf(team, 'editor');
  researcher = agentConfigOf(team, 'researcher');
});

describe('Function: runStage (hand-back)', () => {


  it('hands back: passes on the work it was given, unchanged, with the instruction', async () => {
    // Arrange
    const event = stageEvent();
    const model = new FixedReplyModel(`  ${HAND_BACK_PREFIX} ${FORMAL}  `);

    // Act
    const result = await runStage(event, stepContext(editor, model));

    // Assess
    expect(result).toEqual({ agentId: 'editor', output: DRAFT, handBack: { instruction: FORMAL }, usage: { inputTokens: 3, outputTokens: 5 } });
    expect(stageProblems(event, result, editor)).toEqual([]);
  });

  it('returns a normal output with handBack null', async () => {
    const event = stageEvent();
    const edited = 'Edited article: serverless orchestration gives agent teams checkpoints and automatic recovery.';
    const result = await runStage(event, stepContext(editor, new FixedReplyModel(edited)));
    expect(result).toMatchObject({ agentId: 'editor', output: edited, handBack: null });
  });

  it('offers the hand-back in the prompt of every stage but the first', async () => {
    const later = new FixedReplyModel(DRAFT);
    const first = new FixedReplyModel(NOTES);
    await runStage(stageEvent(), stepContext(editor, later));
    await runStage(stageEvent({ stage: { agentId: 'researcher', index: 0, count: 4 }, previous: '' }), stepContext(researcher, first));
    expect(later.requests[0]?.prompt).toContain(`reply "${HAND_BACK_PREFIX} <what the previous stage must change>"`);
    expect(first.requests[0]?.prompt).not.toContain(HAND_BACK_PREFIX);
  });

  it('puts the feedback of a hand-back and a ruling that binds this stage in the prompt, not a ruling on another stage', async () => {
    // Arrange
    const bound = new FixedReplyModel(DRAFT);
    const notBound = new FixedReplyModel(DRAFT);
    const ruling = { agentId: 'editor', over: 'writer', instruction: 'writer outranks you on this: its work stands.' };

    // Act
    await runStage(stageEvent({ feedback: `publisher handed your work back: ${SOURCES}`, ruling }), stepContext(editor, bound));
    await runStage(stageEvent({ ruling: { ...ruling, agentId: 'writer' } }), stepContext(editor, notBound));

    // Assess
    expect(bound.requests[0]?.prompt).toContain(`Your previous attempt was sent back: publisher handed your work back: ${SOURCES}`);
    expect(bound.requests[0]?.prompt).toContain(`Binding decision (conflict rule): ${ruling.instruction}`);
    expect(notBound.requests[0]?.prompt).not.toContain('Binding decision');
  });

  it('takes a HAND BACK reply of the first stage as its output (there is no stage to hand back to)', async () => {
    const reply = `${HAND_BACK_PREFIX} the brief is too vague`;
    const event = stageEvent({ stage: { agentId: 'researcher', index: 0, count: 4 }, previous: '' });
    const result = await runStage(event, stepContext(researcher, new FixedReplyModel(reply)));
    expect(result).toMatchObject({ agentId: 'researcher', output: reply, handBack: null });
    expect(stageProblems(event, result, researcher)).toEqual([]);
  });
});

describe('Function: stageProblems (hand-back rules)', () => {

  it('accepts a hand-back that passes on the work it was given', () => {
    expect(stageProblems(stageEvent(), { agentId: 'editor', output: DRAFT, handBack: { instruction: FORMAL } }, editor)).toEqual([]);
  });

  it('flags a hand-back whose output is not the work it was given', () => {
    expect(stageProblems(stageEvent(), { agentId: 'editor', output: REDRAFT, handBack: { instruction: FORMAL } }, editor)).toEqual([
      'a hand-back must pass on the work it was given, unchanged',
    ]);
  });

  it('flags a hand-back from the first stage', () => {
    const event = stageEvent({ stage: { agentId: 'researcher', index: 0, count: 4 }, previous: NOTES });
    expect(stageProblems(event, { agentId: 'researcher', output: NOTES, handBack: { instruction: FORMAL } }, researcher)).toEqual([
      'the first stage has no stage to hand back to',
    ]);
  });

  it('lists both problems of a first stage handing back other work', () => {
    const event = stageEvent({ stage: { agentId: 'researcher', index: 0, count: 4 }, previous: '' });
    expect(stageProblems(event, { agentId: 'researcher', output: NOTES, handBack: { instruction: FORMAL } }, researcher)).toEqual([
      'the first stage has no stage to hand back to',
      'a hand-back must pass on the work it was given, unchanged',
    ]);
  });

  it('does not apply the hand-back rules to a normal output', () => {
    expect(stageProblems(stageEvent(), { agentId: 'editor', output: REDRAFT, handBack: null }, editor)).toEqual([]);
  });
});
