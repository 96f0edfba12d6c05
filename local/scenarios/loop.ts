/**
 * `--inject loop`: two pipeline stages that disagree on the tone, on purpose. A scripted shortcut
 * (offline scripted model only): it stands for agents that will not give way, not for anything a
 * model does by itself.
 *
 * The "writer" (the stage before the "editor") always writes a casual draft and keeps it casual
 * when handed back. The "editor" hands any casual draft back, demanding a formal tone. So they hand
 * the draft back and forth (A-B-A-B) until the loop check applies the conflict rule: the higher
 * rank's instruction binds the other. Whichever of the two the ruling binds follows it, unless
 * `stubborn`: then the loop goes on after the ruling and the run escalates to a human.
 *
 * With content-pipeline.yaml, the writer is `writer` and the editor `editor` (rank 2).
 *
 * @example
 * ```ts
 * const model = new ScriptedModel({ scenarios: [loopScenario(team)] });
 * ```
 */
import { UsageError } from '../../functions/shared/errors.ts';
import type { ModelRequest } from '../../functions/shared/models/model-provider.ts';
import type { ScriptedScenario } from '../../functions/shared/models/scripted-model.ts';
import { stagesOf } from '../../functions/shared/pattern-specs/pipeline.ts';
import type { TeamDefinition } from '../../functions/shared/team-schema.ts';

export interface LoopScenarioOptions {
  /** The writer ignores the conflict rule's ruling too. @default false */
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
