/**
 * `legion new <pattern> <name> [--dir D] [--handler]`: writes a commented starter team definition
 * (`<dir>/<name>.yaml`) that validates and runs offline as written; with `--handler` (a
 * supervisor-worker team) also a custom handler for its billing worker (`agents/billing.ts`) and a
 * vitest test of the team with it on Legion's local runtime (`agents/billing.test.ts`). Never
 * overwrites a file: an existing one is a usage error, and nothing is written.
 *
 * @example
 * ```ts
 * await newCommand('supervisor-worker', 'helpdesk', { dir: 'teams', handler: true }, io);
 * ```
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { PatternName } from '../../functions/core/contract.ts';
import { UsageError } from '../../functions/core/errors.ts';
import { PACKAGE_ROOT } from '../../functions/core/package-files.ts';
import type { CliIo } from './cli-io.ts';
import { starterHandler, starterHandlerTest } from './starter-handler.ts';
import { starterTeam } from './starter-teams.ts';
import { writeSafely } from './terminal-text.ts';

export interface NewOptions {
  dir?: string;
  handler?: boolean;
}

/** Legion's modules a starter imports, as the installed package exports them. */
const PACKAGE_EXPORTS: Readonly<Record<string, string>> = {
  'functions/agents/custom-handler.ts': 'agent-legion/handlers',
  'functions/core/team.ts': 'agent-legion/team',
  'local/local-runtime.ts': 'agent-legion/local',
};
/** Installed as a package (under node_modules), starters import its exports; in a clone, its files. */
const INSTALLED = PACKAGE_ROOT.split(sep).includes('node_modules');
const TEAM_NAME = /^[a-z][a-z0-9-]{0,39}$/;
/** The worker the starter handler is for (the supervisor-worker starter's first worker). */
const HANDLED_AGENT = 'billing';

export async function newCommand(pattern: PatternName, name: string, options: NewOptions, io: CliIo): Promise<number> {
  if (!TEAM_NAME.test(name)) throw new UsageError(`team name "${name}" must be lower-case letters, digits and dashes, starting with a letter (max 40)`);
  if (options.handler && pattern !== 'supervisor-worker') throw new UsageError('--handler writes a handler for a supervisor-worker team\'s worker; for other patterns see "Custom handlers" in the README');
  const dir = options.dir ?? '.';
  const files = filesOf(pattern, name, dir, options.handler === true);
  const existing = Object.keys(files).filter((path) => existsSync(path));
  if (existing.length > 0) throw new UsageError(`${existing.join(', ')} already exists: choose another name or --dir (nothing was written)`);
  await writeAll(files);
  for (const path of Object.keys(files)) writeSafely(io.stdout, `wrote ${path}\n`);
  const teamFile = join(dir, `${name}.yaml`);
  writeSafely(io.stdout, `next: legion validate ${teamFile} && legion run ${pattern} --team ${teamFile}\n`);
  return 0;
}

/** Writes every file or none: one that cannot be written (a folder in the way, no permission) takes back those written before it. */
async function writeAll(files: Record<string, string>): Promise<void> {
  const written: string[] = [];
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(path), { recursive: true });
      // 'wx': never over a file that appeared since the check.
      await writeFile(path, text, { flag: 'wx' });
      written.push(path);
    }
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw new UsageError(`cannot write the starter: ${(error as Error).message} (nothing was written)`);
  }
}

function filesOf(pattern: PatternName, name: string, dir: string, handler: boolean): Record<string, string> {
  const legion = (path: string, from: string): string => (INSTALLED ? PACKAGE_EXPORTS[path] : undefined) ?? importPath(relative(from, join(PACKAGE_ROOT, path)));
  const team = starterTeam(pattern, name, legion('schema/team-definition.schema.json', dir).replace(/^\.\//, ''));
  if (!handler) return { [join(dir, `${name}.yaml`)]: team };
  const agents = join(dir, 'agents');
  return {
    [join(dir, `${name}.yaml`)]: withHandler(team, `./agents/${HANDLED_AGENT}.ts`),
    [join(agents, `${HANDLED_AGENT}.ts`)]: starterHandler(legion('functions/agents/custom-handler.ts', agents)),
    [join(agents, `${HANDLED_AGENT}.test.ts`)]: starterHandlerTest(name, (path) => legion(path, agents)),
  };
}

/** The billing worker of the starter, with `handler:` naming its module. */
function withHandler(team: string, handlerPath: string): string {
  const marker = `    systemPrompt: You are a billing specialist. Explain charges precisely and say what happens next.\n`;
  if (!team.includes(marker)) throw new Error('internal: the supervisor-worker starter has no billing worker to give a handler');
  return team.replace(marker, `${marker}    handler: ${handlerPath}   # its work step runs this module's code instead of the generic one\n`);
}

/** A relative path as an import specifier: forward slashes, starting with ./ or ../. */
function importPath(path: string): string {
  const posix = path.split(sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}
