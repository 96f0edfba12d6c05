/**
 * What CDK and the local runtime both need to know about each pattern: its ASL file, the input it
 * accepts, its example team, and the definition substitutions that fill the generic ASL with a
 * team. Both sides call `substitutions()`, so the deployed and the local machine cannot drift.
 *
 * @example
 * ```ts
 * const spec = PATTERNS['supervisor-worker'];
 * const values = spec.substitutions(team, { agent: (id) => agentArns[id], control: (name) => controlArns[name] });
 * ```
 */
import type { PatternName } from '../core/contract.ts';
import type { PatternSpec } from '../core/pattern-spec.ts';
import { peerToPeerPattern } from './peer-to-peer/spec.ts';
import { pipelinePattern } from './pipeline/spec.ts';
import { supervisorWorkerPattern } from './supervisor-worker/spec.ts';
import { hierarchicalPattern } from './hierarchical/spec.ts';
import { auctionPattern } from './auction/spec.ts';

export type { AslRules, FunctionArnLookup, PatternSpec } from '../core/pattern-spec.ts';

/** Every pattern, by name. A new pattern adds its spec module here. */
export const PATTERNS: Record<PatternName, PatternSpec> = {
  'supervisor-worker': supervisorWorkerPattern,
  hierarchical: hierarchicalPattern,
  'peer-to-peer': peerToPeerPattern,
  pipeline: pipelinePattern,
  auction: auctionPattern,
};

/** Finds every `${Name}` placeholder in an ASL text. */
export function placeholdersIn(aslText: string): string[] {
  return [...new Set([...aslText.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] ?? ''))].sort();
}

/** Replaces every `${Name}` with its value, as CloudFormation's DefinitionSubstitutions does. */
export function applySubstitutions(aslText: string, values: Record<string, string>): string {
  return aslText.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => values[name] ?? placeholder);
}

/** The name of a pattern's example team (its file is named after it, e.g. `teams/telecom-support.yaml`). */
export function exampleTeamName(pattern: PatternName): string {
  return PATTERNS[pattern].exampleTeamFile.replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '');
}

/**
 * The team a `RunRequested` event of `pattern` runs when it names none: the pattern's example team
 * if it is among `teams`, else the pattern's only team; undefined when there are several (the
 * event must then name one). CDK and the local event triggers both decide with this.
 *
 * @example
 * ```ts
 * defaultTeamOf('supervisor-worker', [{ name: 'telecom-support', pattern: 'supervisor-worker' }, { name: 'market-research', pattern: 'supervisor-worker' }]);
 * // 'telecom-support'
 * ```
 */
export function defaultTeamOf(pattern: PatternName, teams: readonly { name: string; pattern: string }[]): string | undefined {
  const ofPattern = teams.filter((team) => team.pattern === pattern);
  const example = exampleTeamName(pattern);
  if (ofPattern.some((team) => team.name === example)) return example;
  return ofPattern.length === 1 ? ofPattern[0]?.name : undefined;
}
