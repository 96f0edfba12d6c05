/**
 * `--inject <fault>` for the local runtime, to show recovery by hand and to test it:
 * - `crash:<StateName>` makes the process die abruptly (SIGKILL, no clean-up) as that state starts;
 * - `inconsistent:<StateName>[:N]` makes the scripted model break the step's contract in that state
 *   N times (default 1), which the state machine answers with an automatic rollback (a scripted
 *   shortcut, not model behaviour).
 * The option repeats, so a crash can be injected in the middle of a recovery.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../functions/shared/errors.ts';
import type { ScriptedFault } from '../../functions/shared/models/scripted-model.ts';
import { PATTERNS } from '../../functions/shared/patterns.ts';
import type { PatternName } from '../../functions/shared/contract.ts';
import { allStates } from '../../local/asl.ts';

export interface Injection {
  onStateEntered?: (stateName: string) => void;
  /** Faults for the scripted model. */
  modelFaults?: ScriptedFault[];
}

const FORMS = 'crash:<StateName> or inconsistent:<StateName>[:N]';

/** Parses an `--inject` value for a pattern, checking the state exists in its ASL. */
export function parseInjection(value: string, pattern: PatternName): Injection {
  const match = /^(crash|inconsistent):([^:]+)(?::(.*))?$/.exec(value);
  if (!match?.[1] || !match[2]) throw new UsageError(`--inject must be ${FORMS}, got "${value}"`);
  const [, kind, target, count] = match;
  requireState(pattern, `${kind}:${target}`, target);
  if (kind === 'crash') {
    if (count !== undefined) throw new UsageError(`--inject crash:${target} takes no count`);
    return { onStateEntered: crashAt(target) };
  }
  const times = count === undefined ? 1 : Number(count);
  if (!Number.isInteger(times) || times < 1) throw new UsageError(`--inject ${value}: the count must be a positive integer`);
  return { modelFaults: [{ kind: 'off-contract', stateName: target, times }] };
}

/** Parses every `--inject` value given (the option repeats) into one injection. */
export function parseInjections(values: readonly string[], pattern: PatternName): Injection {
  const parsed = values.map((value) => parseInjection(value, pattern));
  const crashes = parsed.flatMap((injection) => (injection.onStateEntered ? [injection.onStateEntered] : []));
  if (crashes.length > 1) throw new UsageError('--inject crash:<StateName> may be given once');
  const modelFaults = parsed.flatMap((injection) => injection.modelFaults ?? []);
  return { ...(crashes[0] ? { onStateEntered: crashes[0] } : {}), ...(modelFaults.length > 0 ? { modelFaults } : {}) };
}

function requireState(pattern: PatternName, fault: string, target: string): void {
  const definition = JSON.parse(readFileSync(PATTERNS[pattern].aslFile, 'utf8')) as Parameters<typeof allStates>[0];
  const names = [...allStates(definition)].map(([name]) => name);
  if (!names.includes(target)) {
    throw new UsageError(`--inject ${fault}: ${pattern} has no state "${target}" (states: ${names.join(', ')})`);
  }
}

function crashAt(target: string): (stateName: string) => void {
  return (stateName) => {
    if (stateName !== target) return;
    process.stderr.write(`\nInjected crash: killing this process as ${stateName} starts.\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
