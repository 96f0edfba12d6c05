/**
 * The teams a CDK app deploys, as the `legion:teams` context names them: team files and folders
 * (every team file directly in a folder), relative to where `cdk` runs, as one comma-separated
 * string (`-c legion:teams=teams/helpdesk.yaml,teams/billing`) or a list in `cdk.json`; a folder
 * brings its YAML and JSON files (modules beside them are tools and handlers), a module team file
 * is named itself. Nothing is
 * deployed unless named: Legion's example teams deploy because this repository's `cdk.json` names
 * `teams`. A hierarchical team brings the sub-teams it names.
 *
 * @example
 * ```ts
 * const teams = await teamsFromContext(app.node); // the loaded, validated definitions
 * new LegionStack(app, 'Legion', { teams });
 * ```
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Node } from 'constructs';
import { type TeamDefinition, loadTeamFile, teamFilesIn } from '../functions/core/team.ts';

export const TEAMS_CONTEXT = 'legion:teams';

/**
 * Loads the teams `legion:teams` names.
 *
 * @throws Error when the context is unset or malformed, names something that does not exist, or a
 * folder without team files; TeamDefinitionError for a definition that does not validate
 */
export async function teamsFromContext(node: Node, cwd = process.cwd()): Promise<TeamDefinition[]> {
  const entries = entriesOf(node.tryGetContext(TEAMS_CONTEXT) as unknown);
  const files: string[] = [];
  for (const entry of entries) files.push(...(await teamFilesAt(resolve(cwd, entry), entry)));
  return Promise.all([...new Set(files)].map((file) => loadTeamFile(file)));
}

function entriesOf(value: unknown): string[] {
  const usage = `Context ${TEAMS_CONTEXT} names the teams to deploy: team files or folders, e.g. -c ${TEAMS_CONTEXT}=teams/my-team.yaml,teams/more`;
  if (value === undefined) throw new Error(`${usage} (it is not set, so nothing would be deployed)`);
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || !list.every((entry): entry is string => typeof entry === 'string')) throw new Error(`${usage}; got ${JSON.stringify(value)}`);
  const entries = list.map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error(`${usage}; it names none`);
  return entries;
}

async function teamFilesAt(path: string, entry: string): Promise<string[]> {
  const found = await stat(path).catch(() => undefined);
  if (!found) throw new Error(`Context ${TEAMS_CONTEXT}: ${entry} does not exist`);
  if (found.isFile()) return [path];
  const files = await teamFilesIn(path);
  if (files.length === 0) throw new Error(`Context ${TEAMS_CONTEXT}: folder ${entry} holds no team files (.yaml, .yml, .json; name a module team file itself)`);
  return files;
}
