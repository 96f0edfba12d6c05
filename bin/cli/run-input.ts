/**
 * Reads what `legion run` is asked to run: the team (the pattern's example, or `--team FILE`) and
 * the input (`--input JSON`, `--input-file FILE`, or the team's example), all validated before
 * anything is started.
 */
import { readFile } from 'node:fs/promises';
import { UsageError, describeIssues, TeamDefinitionError } from '../../functions/core/errors.ts';
import { executionInputSizeProblem } from '../../functions/core/execution-input.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import type { PatternName } from '../../functions/core/contract.ts';

export interface RunInputOptions {
  team?: string;
  input?: string;
  inputFile?: string;
}

/**
 * The team a command runs: `--team`'s, else the pattern's example team. Without a pattern the team
 * file says which; with one, the two must agree.
 *
 * @throws {UsageError} for neither a pattern nor a team file, a definition that does not validate, or another pattern's team
 */
export async function resolveTeam(pattern: PatternName | undefined, teamFile: string | undefined): Promise<TeamDefinition> {
  if (pattern === undefined && teamFile === undefined) throw new UsageError('give the pattern to run (legion run <pattern>) or a team file (legion run --team FILE)');
  let team: TeamDefinition;
  try {
    team = await loadTeamFile(teamFile ?? PATTERNS[pattern ?? 'supervisor-worker'].exampleTeamFile);
  } catch (error) {
    if (error instanceof TeamDefinitionError) throw new UsageError(error.message);
    throw error;
  }
  const teamPattern: string = team.pattern; // widened: more patterns will share this check
  if (pattern !== undefined && teamPattern !== pattern) {
    throw new UsageError(`team ${team.name} (${teamFile ?? ''}) is for pattern ${teamPattern}, not ${pattern}`);
  }
  return team;
}

export async function resolveInput(pattern: PatternName, team: TeamDefinition, options: RunInputOptions): Promise<unknown> {
  let input: unknown = team.example;
  if (options.input !== undefined) input = parseJson(options.input, '--input');
  if (options.inputFile !== undefined) input = parseJson(await readInputFile(options.inputFile), `--input-file ${options.inputFile}`);
  if (input === undefined) throw new UsageError(`team ${team.name} has no example input: give one with --input or --input-file`);
  const parsed = PATTERNS[pattern].inputSchema.safeParse(input);
  if (!parsed.success) {
    throw new UsageError(`input for ${pattern} is not valid:\n  - ${describeIssues(parsed.error.issues).join('\n  - ')}`);
  }
  // Checked before the runtime starts, so that nothing is stored for an input Step Functions would refuse.
  const tooLarge = executionInputSizeProblem(input);
  if (tooLarge) throw new UsageError(`input for ${pattern} ${tooLarge}`);
  return input;
}

async function readInputFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --input-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The JSON value of an option (`legion approve --output JSON`).
 *
 * @throws {UsageError} naming the option when the text is not JSON
 * @example
 * ```ts
 * parseJsonOption('--output', '{"answer": "refund issued"}'); // { answer: 'refund issued' }
 * ```
 */
export function parseJsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${name} must be JSON (e.g. '{"answer": "..."}'), got: ${text}`);
  }
}
