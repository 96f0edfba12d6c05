/**
 * Early loop detection, before a loop's iteration limit is reached, and the conflict rule that
 * ends a loop between two agents. Pure and deterministic: the state machine carries the history,
 * so a resumed run decides the same way.
 *
 * A *hand-back* is one agent returning work to another with an instruction (a pipeline editor
 * sending a draft back to its writer). The loop detector sees the list of hand-backs so far:
 * - **oscillation**: the same pair hands work back again (A-B-A-B), and the work handed back is
 *   near the same as last time (the receiver did not follow the instruction) or the instruction
 *   is near the same (the sender asks the same thing again);
 * - **limit**: the hand-backs reached the loop's limit, whatever they contain;
 * - **rule did not end it**: the pair handed back again after the conflict rule ruled on it.
 *
 * The conflict rule: the instruction of the agent with the higher `rank` is binding on the other
 * (ranks default by role: supervisor and lead 3, verifier 2, others 1); on a tie, the agent that
 * handed the work back (it reviews the other's output) wins.
 *
 * @example
 * ```ts
 * const verdict = detectLoop([first, second], { maxHandBacks: 4, ranks: { writer: 1, editor: 2 } });
 * // { action: 'conflict-rule', reason: 'oscillation', winner: 'editor', loser: 'writer' }
 * ```
 */
import type { AgentRole } from '../core/contract.ts';

/** One hand-back: `from` returned `to`'s work with an instruction. */
export interface HandBack {
  from: string;
  to: string;
  instruction: string;
  /** The work that was handed back (the output of `to`). */
  work: string;
  /** Set when this hand-back came after the conflict rule had ruled on this pair. */
  afterRuling?: boolean | undefined;
}

export interface LoopLimits {
  /** Hand-backs a run may have in all; reaching it escalates. */
  maxHandBacks: number;
  /** Each agent's rank for the conflict rule (see rankOf). */
  ranks: Readonly<Record<string, number>>;
}

export type LoopVerdict =
  | { action: 'continue' }
  | { action: 'conflict-rule'; reason: 'oscillation'; winner: string; loser: string; similarity: number }
  | { action: 'escalate'; reason: 'limit' | 'rule-did-not-end-it'; similarity: number };

/** Texts at least this similar (word-set Jaccard) count as near the same. */
export const NEAR_SAME_SIMILARITY = 0.8;

/** The default rank of a role for the conflict rule: whoever directs the work outranks whoever does it. */
export const ROLE_RANKS: Record<AgentRole, number> = { supervisor: 3, lead: 3, verifier: 2, worker: 1, stage: 1, peer: 1, bidder: 1 };

/**
 * An agent's rank: its own `rank` if the team sets one, else its role's.
 *
 * @example
 * ```ts
 * rankOf({ role: 'stage', rank: 2 }); // 2
 * rankOf({ role: 'supervisor' }); // 3
 * ```
 */
export function rankOf(agent: { role: AgentRole; rank?: number | undefined }): number {
  return agent.rank ?? ROLE_RANKS[agent.role];
}

/**
 * How alike two texts are: the Jaccard index of their sets of lower-case words (1 = same words).
 *
 * @example
 * ```ts
 * similarity('Hey folks, agents rock!', 'hey folks agents rock'); // 1
 * ```
 */
export function similarity(left: string, right: string): number {
  const a = wordSet(left);
  const b = wordSet(right);
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared += 1;
  return shared / (a.size + b.size - shared);
}

function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/** Decides what the latest hand-back (the last of `history`) means. */
export function detectLoop(history: readonly HandBack[], limits: LoopLimits): LoopVerdict {
  const latest = history.at(-1);
  if (!latest) return { action: 'continue' };
  const earlier = history.slice(0, -1).filter((handBack) => samePair(handBack, latest)).at(-1);
  const alike = earlier ? Math.max(similarity(earlier.work, latest.work), similarity(earlier.instruction, latest.instruction)) : 0;
  if (latest.afterRuling) return { action: 'escalate', reason: 'rule-did-not-end-it', similarity: alike };
  if (history.length >= limits.maxHandBacks) return { action: 'escalate', reason: 'limit', similarity: alike };
  if (!earlier || alike < NEAR_SAME_SIMILARITY) return { action: 'continue' };
  const { winner, loser } = conflictRule(latest, limits.ranks);
  return { action: 'conflict-rule', reason: 'oscillation', winner, loser, similarity: alike };
}

/** The pair is the same whichever way round (A hands back to B, then B to A, is still A-B). */
function samePair(left: HandBack, right: HandBack): boolean {
  return (left.from === right.from && left.to === right.to) || (left.from === right.to && left.to === right.from);
}

/**
 * The conflict rule: the higher rank wins; on a tie the agent handing back wins.
 *
 * @example
 * ```ts
 * conflictRule({ from: 'editor', to: 'writer', ... }, { writer: 1, editor: 1 }); // { winner: 'editor', loser: 'writer' }
 * ```
 */
export function conflictRule(handBack: Pick<HandBack, 'from' | 'to'>, ranks: Readonly<Record<string, number>>): { winner: string; loser: string } {
  const fromRank = ranks[handBack.from] ?? 1;
  const toRank = ranks[handBack.to] ?? 1;
  return toRank > fromRank ? { winner: handBack.to, loser: handBack.from } : { winner: handBack.from, loser: handBack.to };
}

/** How a round's state recurs: the same as the round before (repetition) or as the one before that (oscillation, A-B-A). */
export interface Recurrence {
  kind: 'repetition' | 'oscillation';
  /** How many rounds back the same state was seen. */
  roundsAgo: 1 | 2;
}

/**
 * Whether the state of this round (e.g. which proposal each peer backs) recurs: a negotiation in
 * which nobody moves, or in which positions flip back and forth, will not reach agreement by
 * itself however many rounds it is given.
 *
 * @example
 * ```ts
 * recurrence(['a,b,c'], 'a,b,c'); // { kind: 'repetition', roundsAgo: 1 }
 * recurrence(['a,b', 'b,a'], 'a,b'); // { kind: 'oscillation', roundsAgo: 2 }
 * ```
 */
export function recurrence(earlier: readonly string[], current: string): Recurrence | undefined {
  if (earlier.at(-1) === current) return { kind: 'repetition', roundsAgo: 1 };
  if (earlier.at(-2) === current) return { kind: 'oscillation', roundsAgo: 2 };
  return undefined;
}

/**
 * The conflict rule among equals-in-name: the one agent ranked above every other of `ids`, or
 * undefined when two or more share the top rank (no rule decides between equals: a human does).
 *
 * @example
 * ```ts
 * highestRanked(['a', 'b', 'c'], { a: 1, b: 2, c: 1 }); // 'b'
 * highestRanked(['a', 'b'], { a: 1, b: 1 }); // undefined
 * ```
 */
export function highestRanked(ids: readonly string[], ranks: Readonly<Record<string, number>>): string | undefined {
  const top = Math.max(...ids.map((id) => ranks[id] ?? 1));
  const leaders = ids.filter((id) => (ranks[id] ?? 1) === top);
  return leaders.length === 1 ? leaders[0] : undefined;
}
