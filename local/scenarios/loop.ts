/**
 * `--inject loop`: agents that will not give way, on purpose. A scripted shortcut (offline scripted
 * model only): it stands for agents that misbehave, not for anything a model does by itself.
 *
 * - **pipeline**: the "writer" (the stage before the "editor") always writes a casual draft and
 *   keeps it casual when handed back; the "editor" hands any casual draft back, demanding a formal
 *   tone. They hand the draft back and forth (A-B-A-B) until the loop check applies the conflict
 *   rule: the higher rank's instruction binds the other, who follows it, unless `stubborn`: then
 *   the loop goes on after the ruling and the run escalates to a human. With
 *   content-pipeline.yaml the pair is `writer` and `editor` (rank 2).
 * - **peer-to-peer**: every peer keeps backing its own proposal, round after round (a stalemate).
 *   The tally sees round 2 repeat round 1's positions and applies the conflict rule: the proposal
 *   of the peer ranked above the others is taken (peer-review.yaml: `security-reviewer`, rank 2);
 *   with the top rank shared, a human decides.
 *
 * @example
 * ```ts
 * const model = new ScriptedModel({ scenarios: [loopScenario(team)] });
 * ```
 */
import { UsageError } from '../../functions/core/errors.ts';
import type { ModelRequest } from '../../functions/models/model-provider.ts';
import type { ScriptedScenario } from '../../functions/models/scripted-model.ts';
import { stagesOf } from '../../functions/patterns/pipeline/spec.ts';
import type { TeamDefinition } from '../../functions/core/team-schema.ts';

export interface LoopScenarioOptions {
  /** pipeline: the agent bound by the conflict rule ignores its ruling too. @default false */
  stubborn?: boolean;
}

/** What marks the writer's draft as casual, and what the editor asks instead. */
const CASUAL_TONE = 'Tone: casual and chatty, the way our readers like it, so it stays casual.';
const FORMAL_TONE = 'Tone: formal, as the house style requires.';
const EDITOR_DEMAND = 'HAND BACK: Rewrite the draft in a formal tone: no chatty asides, no casual phrasing.';
const RULING_MARK = 'Binding decision (conflict rule)';

/** The pair of stages that loop: the editor is the third stage (or the last), the writer the one before it. */
export function loopingPair(team: TeamDefinition): { writer: string; editor: string } {
  const stages = stagesOf(team).map((stage) => stage.id);
  if (team.pattern !== 'pipeline' || stages.length < 2) {
    throw new UsageError(`--inject loop needs a pipeline team with at least two stages (team ${team.name} is ${team.pattern})`);
  }
  const editorIndex = Math.min(2, stages.length - 1);
  return { writer: stages[editorIndex - 1] ?? '', editor: stages[editorIndex] ?? '' };
}

export function loopScenario(team: TeamDefinition, options: LoopScenarioOptions = {}): ScriptedScenario {
  return team.pattern === 'peer-to-peer' ? stalemate() : toneDispute(team, options);
}

function toneDispute(team: TeamDefinition, options: LoopScenarioOptions): ScriptedScenario {
  const { writer, editor } = loopingPair(team);
  return (request: ModelRequest, reply: string): string => {
    if (request.agentId === writer) return `${reply} ${followsRuling(request, options) ? FORMAL_TONE : CASUAL_TONE}`;
    if (request.agentId === editor && request.prompt.includes(CASUAL_TONE) && !followsRuling(request, options)) return EDITOR_DEMAND;
    return reply;
  };
}

function followsRuling(request: ModelRequest, options: LoopScenarioOptions): boolean {
  return !options.stubborn && request.prompt.includes(RULING_MARK);
}

/** Every critic backs its own proposal (it always makes one), whatever the others answered. */
function stalemate(): ScriptedScenario {
  return (request: ModelRequest, reply: string): string => {
    if (request.stateName !== 'Critique' || !request.agentId) return reply;
    try {
      const critique = JSON.parse(reply) as Record<string, unknown>;
      return JSON.stringify({ ...critique, supports: request.agentId });
    } catch {
      // An injected off-contract reply stays as it is.
      return reply;
    }
  };
}
