/**
 * `legion validate`: each kind of broken definition gives its clear problem, with the file and the
 * path in it; valid files pass; the exit codes are 0 (valid), 1 (invalid) and 2 (usage). In-process
 * (runLegion on captured streams), but for the loading of TypeScript team files, which is the CLI
 * process's own (a child process).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FileValidation } from '../../bin/cli/validate.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { legionProcess } from '../support/legion-process.ts';

const VALID = {
  name: 'helpdesk',
  pattern: 'supervisor-worker',
  description: 'An IT help desk.',
  fallbackAnswer: 'Is this about a device or about access?',
  agents: [
    { id: 'dispatcher', role: 'supervisor', description: 'Routes tickets.', capabilities: ['routing'], systemPrompt: 'You route IT tickets.' },
    { id: 'hardware', role: 'worker', description: 'Laptops.', capabilities: ['laptop'], systemPrompt: 'You fix hardware.' },
  ],
};
type Team = typeof VALID & Record<string, unknown>;
const worker = (team: Team, change: Record<string, unknown>): Team => ({ ...team, agents: [VALID.agents[0], { ...VALID.agents[1], ...change }] as Team['agents'] });
const hierarchical = (name: string, subTeam: string) => ({
  name,
  pattern: 'hierarchical',
  description: `Team ${name}.`,
  agents: [{ id: 'lead', role: 'lead', description: 'Leads.', capabilities: ['plan'], systemPrompt: 'You lead.' }],
  subTeams: [{ id: subTeam, team: subTeam, description: `Team ${subTeam}.`, capabilities: ['research'] }],
});

describe('CLI: legion validate', () => {
  let folder: string;
  const file = (name: string, team: unknown): string => {
    const path = join(folder, `${name}.yaml`);
    writeFileSync(path, stringify(team));
    return path;
  };

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'legion-validate-'));
  });

  it('passes valid files (exit 0), naming each team and its pattern, and the example is optional', async () => {
    const outcome = await legionInProcess(['validate', file('valid', VALID), 'teams/telecom-support.yaml']);

    expect(outcome.status, outcome.stderr).toBe(0);
    expect(outcome.stdout).toBe(`${join(folder, 'valid.yaml')}: valid (helpdesk, supervisor-worker)\nteams/telecom-support.yaml: valid (telecom-support, supervisor-worker)\n`);
  });

  it.each([
    ['an unknown pattern', { ...VALID, pattern: 'round-robin' }, 'pattern', /expected one of "supervisor-worker"\|"pipeline"\|"peer-to-peer"\|"hierarchical"\|"auction"/],
    ['a duplicate agent id', worker(VALID, { id: 'dispatcher' }), 'agents.1.id', /duplicate agent id "dispatcher"/],
    ['a missing prompt', worker(VALID, { systemPrompt: undefined }), 'agents.1.systemPrompt', /expected string, received undefined/],
    ['a tool without a schema', worker(VALID, { tools: [{ lambda: 'arn:aws:lambda:us-east-1:123456789012:function:f', name: 'f', description: 'F.' }] }), 'agents.1.tools.0', /\{ lambda: <function ARN>, name, description, inputSchema \}/],
    ['a negative budget', worker(VALID, { tokenBudget: -5 }), 'agents.1.tokenBudget', /expected number to be >0/],
    ['a wrong count of a role', { ...VALID, agents: [VALID.agents[0]] }, 'agents', /needs at least 1 agent with role "worker", found 0/],
  ])('refuses %s (exit 1), naming the file, the path and what was expected', async (name, team, path, message) => {
    const broken = file(name.replaceAll(' ', '-'), team);

    const outcome = await legionInProcess(['validate', broken, '--json']);

    expect(outcome.status).toBe(1);
    const report = JSON.parse(outcome.stdout) as { valid: boolean; files: FileValidation[] };
    expect(report.valid).toBe(false);
    expect(report.files).toEqual([{ file: broken, valid: false, problems: [{ path, message: expect.stringMatching(message) as unknown }] }]);
  });

  it('refuses a cycle of sub-teams, naming the teams in it', async () => {
    const a = file('a', hierarchical('a', 'b'));
    file('b', hierarchical('b', 'a'));

    const outcome = await legionInProcess(['validate', a]);

    expect(outcome.status).toBe(1);
    expect(outcome.stdout).toBe(`${a}: subTeams: the sub-teams form a cycle: a -> b -> a\n`);
  });

  it.each(['.ts', '.mts'])('loads a %s team file from a folder outside any package, in the CLI process as a user runs it', async (extension) => {
    const module = join(folder, `typed-team${extension}`);
    writeFileSync(module, `const team = ${JSON.stringify({ ...VALID, name: 'typed-team' })};\nexport default team;\n`);

    // A child process: under vitest any TypeScript imports; the CLI's own loader (tsx) is what is tested.
    const outcome = await legionProcess(['validate', module], { timeoutMs: 30_000 });

    expect(outcome.status, outcome.stdout + outcome.stderr).toBe(0);
    expect(outcome.stdout).toBe(`${module}: valid (typed-team, supervisor-worker)\n`);
  });

  it("names a sub-team's file and the path in it for a problem of the sub-team, given a relative path", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'legion-validate-sub-'));
    writeFileSync(join(dir, 'lead.yaml'), stringify(hierarchical('lead', 'helpdesk')));
    writeFileSync(join(dir, 'helpdesk.yaml'), stringify(worker(VALID, { tokenBudget: -1 })));
    const relativeLead = relative(process.cwd(), join(dir, 'lead.yaml'));

    const outcome = await legionInProcess(['validate', relativeLead, '--json']);

    expect(outcome.status).toBe(1);
    const report = JSON.parse(outcome.stdout) as { files: FileValidation[] };
    expect(report.files[0]?.problems).toEqual([{ file: join(dir, 'helpdesk.yaml'), path: 'agents.1.tokenBudget', message: expect.stringMatching(/expected number to be >0/) as unknown }]);
  });

  it('reports every file, valid or not, and fails when one is invalid', async () => {
    const outcome = await legionInProcess(['validate', file('fine', VALID), file('dup', worker(VALID, { id: 'dispatcher' }))]);

    expect(outcome.status).toBe(1);
    expect(outcome.stdout.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/fine\.yaml: valid/), expect.stringMatching(/dup\.yaml: agents\.1\.id: duplicate agent id/)]);
  });

  it('is a usage error (exit 2) for a file that does not exist, before checking any', async () => {
    const outcome = await legionInProcess(['validate', file('ok', VALID), join(folder, 'missing.yaml')]);

    expect(outcome.status).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain(`legion: no such file: ${join(folder, 'missing.yaml')}`);
  });
});

describe('CLI: legion run with a team that has no example', () => {
  it('asks for an input (exit 2) instead of running without one', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'legion-no-example-'));
    const team = join(folder, 'helpdesk.yaml');
    writeFileSync(team, stringify(VALID));

    const outcome = await legionInProcess(['run', 'supervisor-worker', '--team', team]);

    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain('legion: team helpdesk has no example input: give one with --input or --input-file');
  });
});

describe('CLI: legion run --team without the pattern', () => {
  it('runs the pattern the team file names', async () => {
    const outcome = await legionInProcess(['run', '--team', 'test/fixtures/teams/it-helpdesk.yaml', '--json', '--quiet']);

    expect(outcome.status, outcome.stderr).toBe(0);
    expect(outcome.stderr).toContain('on supervisor-worker');
    expect((JSON.parse(outcome.stdout) as { status: string }).status).toBe('SUCCEEDED');
  });

  it('asks for a pattern or a team file when given neither (exit 2)', async () => {
    const outcome = await legionInProcess(['run']);

    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain('legion: give the pattern to run (legion run <pattern>) or a team file (legion run --team FILE)');
  });
});
