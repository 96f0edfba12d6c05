/**
 * `--inject crash:<StateName>`: makes the local process die abruptly (SIGKILL, no clean-up) as that
 * state starts, so that crash recovery can be shown by hand and tested. Only for the local runtime.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../functions/shared/errors.ts';
import { PATTERNS } from '../../functions/shared/patterns.ts';
import type { PatternName } from '../../functions/shared/contract.ts';
import { allStates } from '../../local/asl.ts';

export interface Injection {
  onStateEntered: (stateName: string) => void;
}

/** Parses an `--inject` value for a pattern, checking the state exists in its ASL. */
export function parseInjection(value: string, pattern: PatternName): Injection {
  const match = /^crash:(.+)$/.exec(value);
  if (!match?.[1]) throw new UsageError(`--inject must be crash:<StateName>, got "${value}"`);
  const target = match[1];
  const definition = JSON.parse(readFileSync(PATTERNS[pattern].aslFile, 'utf8')) as Parameters<typeof allStates>[0];
  const names = [...allStates(definition)].map(([name]) => name);
  if (!names.includes(target)) {
    throw new UsageError(`--inject crash:${target}: ${pattern} has no state "${target}" (states: ${names.join(', ')})`);
  }
  return {
    onStateEntered: (stateName) => {
      if (stateName !== target) return;
      process.stderr.write(`\nInjected crash: killing this process as ${stateName} starts.\n`);
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
