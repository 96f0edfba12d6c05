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
import { access, readFile, readdir } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TeamDefinitionError, describeIssues } from './errors.ts';
import { importModule } from './import-module.ts';
import { packageFile } from './package-files.ts';
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
 * const hierarchy = await loadTeamFile('teams/research-hierarchy.yaml');
 * Object.keys(hierarchy.subTeamDefinitions ?? {}); // ['market-research', 'technical-research']
 * ```
 *
 * A hierarchical team's sub-teams are loaded with it (into `subTeamDefinitions`): each from
 * `<team>.yaml` next to the file, else from the shipped `teams/` folder.
 */
export async function loadTeamFile(path: string): Promise<TeamDefinition> {
  return loadTeamTree(path, []);
}

/** The folder of the shipped team definitions: where a sub-team is looked up when it is not next to its parent. */
const SHIPPED_TEAMS_DIR = packageFile('teams');
/** Team definitions as data, and as modules whose default export is the definition. */
const DATA_EXTENSIONS = ['.yaml', '.yml', '.json'];
const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
/** The files a team definition may be. */
const TEAM_FILE_EXTENSIONS = [...DATA_EXTENSIONS, ...MODULE_EXTENSIONS];

/**
 * Whether a file of a folder is a team definition when the folder is named: YAML or JSON only, as
 * the modules beside them are tools, handlers and tests (a module team file is named itself).
 */
export function isTeamDataFile(name: string): boolean {
  return DATA_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** The team definitions of a folder (isTeamDataFile), sorted, as paths under it. */
export async function teamFilesIn(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter(isTeamDataFile).sort().map((name) => join(folder, name));
}

/** Loads one definition and, for a hierarchical team, the sub-teams it names (`parents` catches cycles). */
async function loadTeamTree(path: string, parents: readonly string[]): Promise<TeamDefinition> {
  const team = await loadOneTeamFile(path);
  if (!team.subTeams) return team;
  if (parents.includes(team.name)) throw new TeamDefinitionError(path, [`subTeams: the sub-teams form a cycle: ${[...parents, team.name].join(' -> ')}`]);
  const subTeamDefinitions: Record<string, TeamDefinition> = {};
  for (const [index, subTeam] of team.subTeams.entries()) {
    if (subTeamDefinitions[subTeam.team]) continue;
    const file = await findTeamFile(subTeam.team, [dirname(resolve(path)), SHIPPED_TEAMS_DIR]);
    if (!file) throw new TeamDefinitionError(path, [`subTeams.${index}.team: no definition ${subTeam.team}.yaml next to this file or in teams/`]);
    const definition = await loadTeamTree(file, [...parents, team.name]);
    if (definition.name !== subTeam.team) throw new TeamDefinitionError(path, [`subTeams.${index}.team: ${file} defines team ${definition.name}, not ${subTeam.team}`]);
    subTeamDefinitions[subTeam.team] = definition;
  }
  return { ...team, subTeamDefinitions };
}

/**
 * Where a sub-team's definition is: `<name>.yaml` (or .yml, .json, .ts) in the first folder that has
 * one; the parent's own folder comes first, so a team folder is self-contained.
 */
async function findTeamFile(name: string, folders: readonly string[]): Promise<string | undefined> {
  for (const folder of folders) {
    for (const extension of TEAM_FILE_EXTENSIONS) {
      const candidate = join(folder, `${name}${extension}`);
      try {
        await access(candidate);
        return candidate;
      } catch {
        // not there: try the next candidate
      }
    }
  }
  return undefined;
}

async function loadOneTeamFile(path: string): Promise<TeamDefinition> {
  const absolute = resolve(path);
  const extension = extname(absolute).toLowerCase();
  if (MODULE_EXTENSIONS.includes(extension)) {
    let definition: unknown;
    try {
      definition = (await importModule(absolute)).default;
    } catch (error) {
      throw new TeamDefinitionError(path, [`cannot load module: ${(error as Error).message}`]);
    }
    return anchorToolPaths(parseTeam(definition, path), dirname(absolute));
  }
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new TeamDefinitionError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  return anchorToolPaths(parseTeam(parseTeamText(text, path), path), dirname(absolute));
}

/**
 * Tool and handler paths are written relative to the team file, and the agent runs from anywhere: a
 * module's path becomes absolute, and an MCP command runs in the team's folder unless it names its own.
 */
function anchorToolPaths(team: TeamDefinition, folder: string): TeamDefinition {
  const agents = team.agents.map((agent) => ({
    ...agent,
    ...(agent.handler ? { handler: resolve(folder, agent.handler) } : {}),
    tools: agent.tools.map((tool) => {
      if ('module' in tool) return { ...tool, module: resolve(folder, tool.module) };
      if ('mcp' in tool && 'command' in tool.mcp) return { ...tool, mcp: { ...tool.mcp, cwd: resolve(folder, tool.mcp.cwd ?? '.') } };
      return tool;
    }),
  }));
  return { ...team, agents };
}

function parseTeamText(text: string, source: string): unknown {
  try {
    return parseYaml(text) as unknown; // YAML is a superset of JSON
  } catch (error) {
    throw new TeamDefinitionError(source, [`not valid YAML/JSON: ${(error as Error).message}`]);
  }
}

