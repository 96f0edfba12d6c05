/**
 * `legion validate [FILE...] [--json]`: checks team definitions as `legion run` and `cdk deploy`
 * load them (the schema, the roles of the pattern, the sub-teams and their cycles, the tools' and
 * handlers' paths), and names, for each problem, the file, the path in it and what was expected.
 * Without FILE it checks every team file in `./teams`. Exit 0 all valid, 1 any invalid, 2 usage.
 *
 * @example
 * ```ts
 * const code = await validateCommand(['teams/it-helpdesk.yaml'], { json: true }, io); // 0 or 1
 * ```
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TeamDefinitionError, UsageError } from '../../functions/core/errors.ts';
import { loadTeamFile, teamFilesIn } from '../../functions/core/team.ts';
import type { CliIo } from './cli-io.ts';
import { writeSafely } from './terminal-text.ts';

export interface ValidateOptions {
  json?: boolean;
}

/** One problem: where (`agents.1.id`; empty for the file as a whole) and what is wrong; `file` when it is in a sub-team's file. */
export interface ValidationProblem {
  path: string;
  message: string;
  /** The sub-team's file the problem is in, when it is not the file checked. */
  file?: string;
}

/** What `--json` prints for each file. */
export interface FileValidation {
  file: string;
  valid: boolean;
  /** The team's name and pattern, when it is valid. */
  team?: string;
  pattern?: string;
  problems: ValidationProblem[];
}

export async function validateCommand(files: readonly string[], options: ValidateOptions, io: CliIo): Promise<number> {
  const targets = files.length > 0 ? files : await defaultTeamFiles();
  const missing = [];
  for (const file of targets) if (!(await isFile(file))) missing.push(file);
  if (missing.length > 0) throw new UsageError(`no such file: ${missing.join(', ')}`);
  const results: FileValidation[] = [];
  for (const file of targets) results.push(await validateFile(file));
  if (options.json) writeSafely(io.stdout, `${JSON.stringify({ valid: results.every((result) => result.valid), files: results }, null, 2)}\n`);
  else writeSafely(io.stdout, results.map(describeValidation).join(''));
  return results.every((result) => result.valid) ? 0 : 1;
}

async function validateFile(file: string): Promise<FileValidation> {
  try {
    const team = await loadTeamFile(file);
    return { file, valid: true, team: team.name, pattern: team.pattern, problems: [] };
  } catch (error) {
    if (!(error instanceof TeamDefinitionError)) throw error;
    // A sub-team's own problems come from its file: say which.
    const elsewhere = resolve(error.source) === resolve(file) ? {} : { file: error.source };
    return { file, valid: false, problems: error.problems.map((problem) => ({ ...problemOf(problem), ...elsewhere })) };
  }
}

/** `agents.1.id: duplicate agent id "billing"` as its path and its message; a problem of the whole file has no path. */
function problemOf(text: string): ValidationProblem {
  const match = /^([\w$-]+(?:\.[\w$-]+)*): ([\s\S]*)$/.exec(text);
  return match?.[1] && match[2] !== undefined ? { path: match[1], message: match[2] } : { path: '', message: text };
}

function describeValidation(result: FileValidation): string {
  if (result.valid) return `${result.file}: valid (${result.team ?? ''}, ${result.pattern ?? ''})\n`;
  return result.problems.map((problem) => `${result.file}: ${problem.file ? `${problem.file}: ` : ''}${problem.path ? `${problem.path}: ` : ''}${problem.message}\n`).join('');
}

function isFile(path: string): Promise<boolean> {
  return stat(path).then((found) => found.isFile(), () => false);
}

/** Every team file in ./teams, when no file is named. */
async function defaultTeamFiles(): Promise<string[]> {
  const folder = 'teams';
  const isFolder = await stat(folder).then((found) => found.isDirectory(), () => false);
  if (!isFolder) throw new UsageError('give the team files to check (legion validate FILE...), or run it where a teams/ folder is');
  const files = await teamFilesIn(folder);
  if (files.length === 0) throw new UsageError('no team files (.yaml, .yml, .json) in teams/');
  return files;
}
