/**
 * The verifier's loop check, after a stage handed its input back to the stage before it.
 * Deterministic, no model call: it adds the hand-back to the run's history and asks the loop
 * detector (functions/guards/loop-detector.ts) what it means:
 * - `hand-back`: no loop yet; the previous stage runs again with the instruction;
 * - `conflict-rule`: the pair is oscillating; the higher-ranked agent's position is made binding
 *   on the other (a `ruling` in its next step), and the run goes on;
 * - `escalate`: the pair handed back again after a ruling, or the run reached `maxHandBacks`;
 *   a human decides.
 * It computes the whole loop state the pipeline continues with, so the ASL only copies it.
 *
 * @example
 * ```ts
 * const result = await loopCheck(event); // { verdict: 'conflict-rule', next: { cursor: { index: 1, attempt: 1 }, ruling: { agentId: 'writer', ... } }, ... }
 * ```
 */
import {
  type HandBackRecordSchema,
  type LoopCheckEvent,
  LoopCheckEventSchema,
  type LoopCheckResult,
  LoopCheckResultSchema,
  type PipelineLoop,
} from './contract.ts';
import type { Detection } from '../../core/contracts/detections.ts';
import { InvalidEventError } from '../../core/errors.ts';
import { type LoopVerdict, detectLoop } from '../../guards/loop-detector.ts';
import type { z } from 'zod';
import { defineStep } from '../../agents/steps/step-definition.ts';

type HandBackRecord = z.infer<typeof HandBackRecordSchema>;

export function loopCheck(event: LoopCheckEvent): Promise<LoopCheckResult> {
  const { loop, stage } = event;
  const to = event.agentIds[stage.index - 1];
  if (to === undefined) throw new InvalidEventError('loop-check', [`stage ${stage.agentId} (index ${String(stage.index)}) has no stage before it to hand back to`]);
  const handBack: HandBackRecord = { from: stage.agentId, to, instruction: event.instruction, work: loop.document, afterRuling: ruledOn(loop, stage.agentId, to) };
  const history = [...loop.history, handBack];
  const verdict = detectLoop(history, { maxHandBacks: event.maxHandBacks, ranks: ranksOf(event) });
  const counted: PipelineLoop = { ...loop, history, handBacks: loop.handBacks + 1 };
  return Promise.resolve({
    verdict: verdict.action === 'continue' ? 'hand-back' : verdict.action,
    next: nextLoop(counted, verdict, handBack, stage.index),
    detection: detectionOf(verdict, handBack, event, counted.handBacks),
    summary: summaryOf(verdict, handBack, counted.handBacks, event.maxHandBacks),
  });
}

/** Whether the conflict rule has ruled on this pair before (either way round). */
function ruledOn(loop: PipelineLoop, from: string, to: string): boolean {
  const pair = [loop.ruling?.agentId, loop.ruling?.over];
  return pair.includes(from) && pair.includes(to);
}

function ranksOf(event: LoopCheckEvent): Record<string, number> {
  return Object.fromEntries(event.agentIds.map((agentId, index) => [agentId, Number(event.ranks[index] ?? '1')]));
}

/**
 * Where the pipeline goes on: back to the receiving stage (a hand-back, or a ruling against it),
 * or to the same stage again (a ruling against the stage that handed back: the work stands).
 */
function nextLoop(loop: PipelineLoop, verdict: LoopVerdict, handBack: HandBackRecord, index: number): PipelineLoop {
  if (verdict.action === 'escalate') return loop;
  if (verdict.action === 'conflict-rule' && verdict.loser === handBack.from) {
    const instruction = `${handBack.to} outranks you on this: its work stands. Do not hand it back again; do your stage's work on it as it is.`;
    return { ...loop, cursor: { index, attempt: 1 }, feedback: '', ruling: { agentId: handBack.from, over: handBack.to, instruction } };
  }
  const ruling =
    verdict.action === 'conflict-rule'
      ? { agentId: handBack.to, over: handBack.from, instruction: `${handBack.from} outranks you on this; follow its instruction: ${handBack.instruction}`.slice(0, 2000) }
      : loop.ruling;
  const passed = loop.passed.slice(0, index - 1);
  return {
    ...loop,
    cursor: { index: index - 1, attempt: 1 },
    document: passed.at(-1)?.output ?? '',
    feedback: `${handBack.from} handed your work back: ${handBack.instruction}`.slice(0, 2000),
    passed,
    ruling,
  };
}

function detectionOf(verdict: LoopVerdict, handBack: HandBackRecord, event: LoopCheckEvent, handBacks: number): Detection | null {
  if (verdict.action === 'continue') return null;
  const pair = `${handBack.from} and ${handBack.to}`;
  const details =
    verdict.action === 'conflict-rule'
      ? `${pair} handed work back and forth (similarity ${verdict.similarity.toFixed(2)}): conflict rule, ${verdict.winner}'s instruction binds ${verdict.loser}`
      : verdict.reason === 'limit'
        ? `${String(handBacks)} hand-backs reached the limit of ${String(event.maxHandBacks)}: escalated to a human`
        : `${pair} handed work back again after the conflict rule ruled: escalated to a human`;
  return { type: 'loop', step: event.stateName, stepId: `h${String(handBacks)}`, action: verdict.action === 'conflict-rule' ? 'conflict-rule' : 'escalated', agents: [handBack.from, handBack.to], details };
}

function summaryOf(verdict: LoopVerdict, handBack: HandBackRecord, handBacks: number, max: number): string {
  const what = `${handBack.from} handed ${handBack.to}'s work back (hand-back ${String(handBacks)} of at most ${String(max)}): ${handBack.instruction}`;
  return verdict.action === 'continue' ? what : `${what} · loop: ${verdict.action} (${verdict.reason})`;
}

/** The verdict is the detector's, the history grows by exactly this hand-back, and the next stage is this one or the one before. */
export function loopCheckProblems(event: LoopCheckEvent, result: LoopCheckResult): string[] {
  const problems: string[] = [];
  const { history, cursor } = result.next;
  if (history.length !== event.loop.history.length + 1) problems.push('the history must grow by exactly this hand-back');
  const expected = detectLoop(history, { maxHandBacks: event.maxHandBacks, ranks: ranksOf(event) }).action;
  if (result.verdict !== (expected === 'continue' ? 'hand-back' : expected)) problems.push(`verdict ${result.verdict}, the detector says ${expected}`);
  if (cursor.index !== event.stage.index && cursor.index !== event.stage.index - 1) problems.push(`next stage ${String(cursor.index)} is neither this stage nor the one before`);
  if ((result.verdict === 'hand-back') !== (result.detection === null)) problems.push('a detection comes with a loop verdict, and only then');
  return problems;
}

export const loopCheckStep = defineStep({
  step: 'loop-check',
  roles: ['verifier'],
  eventSchema: LoopCheckEventSchema,
  resultSchema: LoopCheckResultSchema,
  run: loopCheck,
  invariants: loopCheckProblems,
});
