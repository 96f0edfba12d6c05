/**
 * `legion recommend`: suggests a pattern from four answers about the task, by a fixed decision
 * table (first matching row wins), and says why. The table is the one in docs/architecture.md.
 *
 * @example
 * ```ts
 * recommendPattern({ complexity: 'high', flow: 'many-roles', dynamic: false, decentralised: false });
 * // { pattern: 'hierarchical', reason: 'a complex goal that splits into parts for several teams', ... }
 * ```
 */
import { PATTERN_NAMES } from '../../functions/core/contract.ts';
import { UsageError } from '../../functions/core/errors.ts';
import type { CliIo } from './cli-io.ts';
import { writeSafely } from './terminal-text.ts';

export interface TaskProfile {
  /** How hard the task is to do well. */
  complexity: 'low' | 'medium' | 'high';
  /** One fixed sequence of steps, or many specialised roles. */
  flow: 'single' | 'many-roles';
  /** Work goes to whichever agent has the capacity or offers the best terms at run time. */
  dynamic: boolean;
  /** No central agent may decide the content: equals must agree. */
  decentralised: boolean;
}

interface DecisionRow {
  when: (profile: TaskProfile) => boolean;
  pattern: string;
  reason: string;
}

/** Checked in order; the last row always matches. */
export const DECISION_TABLE: readonly DecisionRow[] = [
  { when: (p) => p.decentralised, pattern: 'peer-to-peer', reason: 'no central agent may decide: equal peers propose, critique and agree by quorum' },
  { when: (p) => p.dynamic, pattern: 'auction', reason: 'work is allocated at run time to the agent that bids best for it (capability, capacity, price)' },
  { when: (p) => p.flow === 'single', pattern: 'pipeline', reason: 'one fixed flow of stages, each checked by a validation gate before the next' },
  { when: (p) => p.complexity === 'high', pattern: 'hierarchical', reason: 'a complex goal that splits into sub-goals for several teams, whose results roll up' },
  { when: () => true, pattern: 'supervisor-worker', reason: 'one request, classified and answered by the matching specialists in parallel' },
];

export interface Recommendation {
  pattern: string;
  reason: string;
  /** Whether this version of Legion has the pattern (`legion patterns`). */
  available: boolean;
  /** The first available pattern further down the table, when the recommended one is not available. */
  fallback?: string | undefined;
}

export function recommendPattern(profile: TaskProfile): Recommendation {
  const index = DECISION_TABLE.findIndex((row) => row.when(profile));
  const row = DECISION_TABLE[index] ?? DECISION_TABLE[DECISION_TABLE.length - 1];
  if (!row) throw new Error('the decision table is empty');
  const isAvailable = (pattern: string): boolean => (PATTERN_NAMES as readonly string[]).includes(pattern);
  const fallback = isAvailable(row.pattern) ? undefined : DECISION_TABLE.slice(index + 1).find((next) => next.when(profile) && isAvailable(next.pattern))?.pattern;
  return { pattern: row.pattern, reason: row.reason, available: isAvailable(row.pattern), fallback };
}

/** The questions, each with its flag and allowed answers, for the command line and the prompts. */
export const QUESTIONS = [
  { key: 'complexity', flag: '--complexity', question: 'How complex is the task?', choices: ['low', 'medium', 'high'] },
  { key: 'flow', flag: '--flow', question: 'One fixed flow of steps, or many specialised roles?', choices: ['single', 'many-roles'] },
  { key: 'dynamic', flag: '--dynamic', question: 'Is work given at run time to whichever agent can take it?', choices: ['yes', 'no'] },
  { key: 'decentralised', flag: '--decentralised', question: 'Must equals agree, with no central agent deciding?', choices: ['yes', 'no'] },
] as const;

export type Answers = Partial<Record<(typeof QUESTIONS)[number]['key'], string>>;

/**
 * Turns raw answers into a profile.
 *
 * @throws {UsageError} naming every missing or invalid answer and its allowed values
 */
export function profileFrom(answers: Answers): TaskProfile {
  const problems = QUESTIONS.flatMap((question) => {
    const value = answers[question.key];
    if (value === undefined) return [`${question.flag} is missing (${question.choices.join(' | ')})`];
    return (question.choices as readonly string[]).includes(value) ? [] : [`${question.flag} must be ${question.choices.join(' | ')}, got "${value}"`];
  });
  if (problems.length > 0) throw new UsageError(`legion recommend: ${problems.join('; ')}`);
  return {
    complexity: answers.complexity as TaskProfile['complexity'],
    flow: answers.flow as TaskProfile['flow'],
    dynamic: answers.dynamic === 'yes',
    decentralised: answers.decentralised === 'yes',
  };
}

/**
 * Runs `legion recommend`: asks, on a terminal, what the flags did not answer; returns the exit code.
 *
 * @example
 * ```ts
 * await recommendCommand({ complexity: 'low', flow: 'single', dynamic: 'no', decentralised: 'no', json: true }, processIo());
 * ```
 */
export async function recommendCommand(options: Answers & { json?: boolean }, io: CliIo): Promise<number> {
  const answers = io.stdin.isTTY === true && io.stderr.isTTY === true ? await askMissing(options, io) : options;
  const recommendation = recommendPattern(profileFrom(answers));
  if (options.json) {
    writeSafely(io.stdout, `${JSON.stringify(recommendation, null, 2)}\n`);
    return 0;
  }
  const { pattern, reason, available, fallback } = recommendation;
  writeSafely(io.stdout, `${pattern}: ${reason}\n`);
  if (available) writeSafely(io.stdout, `Try it: legion run ${pattern}\n`);
  else writeSafely(io.stdout, `${pattern} is not in this version of Legion yet; the nearest available is ${fallback ?? 'supervisor-worker'}: legion run ${fallback ?? 'supervisor-worker'}\n`);
  return 0;
}

/** Asks, on a terminal, the questions not answered by flags. */
async function askMissing(answers: Answers, io: CliIo): Promise<Answers> {
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const complete: Answers = { ...answers };
    for (const question of QUESTIONS) {
      if (complete[question.key] !== undefined) continue;
      complete[question.key] = (await prompt.question(`${question.question} (${question.choices.join(' | ')}) `)).trim();
    }
    return complete;
  } finally {
    prompt.close();
  }
}
