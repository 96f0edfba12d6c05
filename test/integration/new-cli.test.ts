/**
 * `legion new`: the starter of every pattern validates and runs offline as written; an existing
 * file, a bad name or `--handler` for a pattern without one is a usage error that writes nothing;
 * with `--handler`, the team runs its worker's handler, and the vitest test written beside it
 * passes when a user runs it (in a child process: that run is what is tested).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { STARTER_HANDLER_MARK } from '../../bin/cli/starter-handler.ts';
import { PATTERN_NAMES } from '../../functions/core/contract.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { legionProcess } from '../support/legion-process.ts';

const run = promisify(execFile);

describe('CLI: legion new', () => {
  const folder = mkdtempSync(join(tmpdir(), 'legion-new-'));

  it.each(PATTERN_NAMES)('writes a %s starter that validates and runs offline as written', async (pattern) => {
    const created = await legionInProcess(['new', pattern, `starter-${pattern}`, '--dir', folder]);
    const file = join(folder, `starter-${pattern}.yaml`);

    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain(`wrote ${file}`);
    expect(readFileSync(file, 'utf8')).toMatch(/^# yaml-language-server: \$schema=.*schema\/team-definition\.schema\.json\n# /);
    expect((await legionInProcess(['validate', file])).status).toBe(0);
    const ran = await legionInProcess(['run', pattern, '--team', file, '--json', '--quiet']);
    expect(ran.status, ran.stderr).toBe(0);
    expect((JSON.parse(ran.stdout) as RunResult).status).toBe('SUCCEEDED');
  }, 60_000);

  it.each([
    ['an existing file', ['new', 'pipeline', 'starter-pipeline-twice'], /starter-pipeline-twice\.yaml already exists: choose another name or --dir \(nothing was written\)/],
    ['a name that is not a team name', ['new', 'pipeline', 'My Team'], /team name "My Team" must be lower-case letters, digits and dashes/],
    ['--handler for a pattern without a starter handler', ['new', 'auction', 'bids', '--handler'], /--handler writes a handler for a supervisor-worker team's worker/],
    ['an unknown pattern', ['new', 'round-robin', 'x'], /value 'round-robin' is invalid for argument 'pattern'. Allowed choices are supervisor-worker, pipeline/],
  ])('refuses %s (exit 2), writing nothing', async (_case, args, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'legion-new-refused-'));
    if (args[2] === 'starter-pipeline-twice') writeFileSync(join(dir, 'starter-pipeline-twice.yaml'), 'mine\n');

    const outcome = await legionInProcess([...args, '--dir', dir]);

    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toMatch(message);
    expect(readdirSync(dir).filter((name) => name !== 'starter-pipeline-twice.yaml')).toEqual([]);
    if (args[2] === 'starter-pipeline-twice') expect(readFileSync(join(dir, 'starter-pipeline-twice.yaml'), 'utf8')).toBe('mine\n');
  });

  it('writes all its files or none: a file in the way of agents/ takes back the team file (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'legion-new-blocked-'));
    writeFileSync(join(dir, 'agents'), 'not a folder\n');

    const outcome = await legionInProcess(['new', 'supervisor-worker', 'helpdesk', '--dir', dir, '--handler']);

    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toMatch(/cannot write the starter: .* \(nothing was written\)/);
    expect(readdirSync(dir)).toEqual(['agents']);
  });

  it('writes a handler that a user runs from a folder outside any package, in the CLI process', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'legion-new-outside-'));
    const team = join(outside, 'helpdesk.yaml');
    expect((await legionProcess(['new', 'supervisor-worker', 'helpdesk', '--dir', outside, '--handler'], { timeoutMs: 30_000 })).status).toBe(0);

    // A child process: under vitest any TypeScript imports; the CLI's own loader (tsx) is what is tested.
    const ran = await legionProcess(['run', 'supervisor-worker', '--team', team, '--input', '{"request":"I was charged twice"}', '--json', '--quiet'], { timeoutMs: 60_000 });

    expect(ran.status, ran.stderr).toBe(0);
    expect(JSON.stringify((JSON.parse(ran.stdout) as RunResult).output)).toContain(STARTER_HANDLER_MARK);
  }, 90_000);

  describe('Option: --handler', () => {
    // Inside the repository (ignored by git, ESLint and tsc), so that the written test finds vitest as a user's project would.
    const project = join('.generated', `new-${randomUUID().slice(0, 8)}`);
    afterAll(() => {
      rmSync(project, { recursive: true, force: true });
    });

    it('writes a handler for the billing worker that the team runs, and a test of it that passes', async () => {
      const created = await legionInProcess(['new', 'supervisor-worker', 'helpdesk', '--dir', project, '--handler']);
      expect(created.status, created.stderr).toBe(0);
      expect(['helpdesk.yaml', 'agents/billing.ts', 'agents/billing.test.ts'].every((file) => existsSync(join(project, file)))).toBe(true);

      const ran = await legionInProcess(['run', 'supervisor-worker', '--team', join(project, 'helpdesk.yaml'), '--input', '{"request":"I was charged twice"}', '--json', '--quiet']);
      expect(ran.status, ran.stderr).toBe(0);
      expect(JSON.stringify((JSON.parse(ran.stdout) as RunResult).output)).toContain(STARTER_HANDLER_MARK);

      // A user's project has its own vitest configuration; without one, vitest would take the repository's.
      mkdirSync(project, { recursive: true });
      writeFileSync(join(project, 'vitest.config.mts'), 'export default { test: {} };\n');
      const { stdout } = await run('npx', ['vitest', 'run', '--reporter', 'dot'], { cwd: project, env: { ...process.env, CI: '1' } });
      expect(stdout).toMatch(/1 passed/);
    }, 120_000);
  });
});
