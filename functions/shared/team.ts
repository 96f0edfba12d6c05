/**
 * Team definitions: the data a user writes to bring their own agents to a pattern without touching
 * ASL or runtime code. Validated with zod; every problem is reported with its path.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * team.agents.map((agent) => agent.id); // ['supervisor', 'billing', ...]
 * ```
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { TeamDefinitionError, describeIssues } from './errors.ts';
import { type TeamDefinition, TeamDefinitionSchema } from './team-schema.ts';

export * from './team-schema.ts';

/**
 * Validates a parsed team definition.
 *
 * @param value - the parsed YAML/JSON/TypeScript value
 * @param source - where it came from, quoted in errors
 * @throws {TeamDefinitionError} listing every problem with its path
 */
export function parseTeam(value: unknown, source: string): TeamDefinition {
  const parsed = TeamDefinitionSchema.safeParse(value);
  if (!parsed.success) throw new TeamDefinitionError(source, describeIssues(parsed.error.issues));
  return parsed.data;
}

/**
 * Reads and validates a team definition file: `.yaml`/`.yml`, `.json`, or a `.ts`/`.js` module
 * whose default export is the definition.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * ```
 */
export async function loadTeamFile(path: string): Promise<TeamDefinition> {
  const absolute = resolve(path);
  const extension = extname(absolute).toLowerCase();
  if (extension === '.ts' || extension === '.js' || extension === '.mjs') {
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
    } catch (error) {
      throw new TeamDefinitionError(path, [`cannot load module: ${(error as Error).message}`]);
    }
    return parseTeam(module.default, path);
  }
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new TeamDefinitionError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  return parseTeam(parseTeamText(text, path), path);
}

function parseTeamText(text: string, source: string): unknown {
  try {
    return parseYaml(text) as unknown; // YAML is a superset of JSON
  } catch (error) {
    throw new TeamDefinitionError(source, [`not valid YAML/JSON: ${(error as Error).message}`]);
  }
}

