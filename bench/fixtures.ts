/**
 * Agent-step states of a given JSON size, shaped like the results the agent steps return
 * (functions/core/agent-contract.ts): a worker's answer for small states, a synthesis that
 * carries a long conversation for large ones. The text is made of words, so gzip compresses it
 * about as well as it compresses real answers (not as well as it compresses repeated characters).
 *
 * @example
 * ```ts
 * const state = agentStepState(1024, seededRandom(1));
 * Buffer.byteLength(JSON.stringify(state)); // 1024
 * ```
 */
import type { ConversationTurn, Synthesis, WorkerResult } from '../functions/core/agent-contract.ts';
import { type Random, randomText } from './random.ts';

/** Longest text of one conversation turn allowed by the contract. */
const TURN_TEXT_MAX = 8000;
const TURN_TEXT = 4000;

/** A state whose JSON is exactly `bytes` long (ASCII, so characters are bytes). */
export function agentStepState(bytes: number, random: Random): WorkerResult | Synthesis {
  return bytes <= TURN_TEXT_MAX ? workerResult(bytes, random) : synthesis(bytes, random);
}

function workerResult(bytes: number, random: Random): WorkerResult {
  const build = (answer: string): WorkerResult => ({
    agentId: 'billing',
    status: 'ANSWERED',
    answer,
    usage: { inputTokens: 412, outputTokens: 187 },
  });
  return build(randomText(bytes - jsonBytes(build('')), random));
}

function synthesis(bytes: number, random: Random): Synthesis {
  const build = (answer: string, conversation: ConversationTurn[]): Synthesis => ({
    answer,
    intents: ['billing', 'shipping'],
    handledBy: ['billing', 'shipping'],
    conversation,
    usage: { inputTokens: 9_850, outputTokens: 1_210 },
  });
  const answer = randomText(600, random);
  const turns: ConversationTurn[] = [];
  // Add full turns while one more still fits, then one turn that takes the exact remainder.
  for (;;) {
    const from = turns.length % 2 === 0 ? 'customer' : 'agent';
    const remaining = bytes - jsonBytes(build(answer, [...turns, { from, text: '' }]));
    if (remaining <= TURN_TEXT) {
      if (remaining < 1) throw new RangeError(`cannot build a state of exactly ${bytes} bytes`);
      turns.push({ from, text: randomText(remaining, random) });
      return build(answer, turns);
    }
    turns.push({ from, text: randomText(TURN_TEXT, random) });
  }
}

/** UTF-8 bytes of a value's JSON, as the CheckpointManager serialises it. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
