/**
 * Legion as a package a user installs: `npm pack` builds and packs it, the tarball goes into a new
 * project outside this repository, and that project uses it as a user would: the installed `legion`
 * bin writes, validates and runs a team with a custom handler and a tool module, the project's
 * TypeScript app type-checks against the published declarations, and synthesizes its own stack
 * (offline, with the functions bundled by esbuild).
 *
 * The tarball is installed by hand, the way npm lays a package out (the package in
 * node_modules/agent-legion, the bins of top-level packages in node_modules/.bin), because
 * `npm install` would ask the registry for every dependency's metadata and the suite runs offline.
 * Only what the packed package.json declares (dependencies and peer dependencies) is linked from
 * this repository's node_modules, so a module the package imports without declaring it fails here
 * as it would for a user.
 */
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legionEnvironment } from '../support/legion-process.ts';

const run = promisify(execFile);
const REPO = process.cwd();
const MINUTES = 60_000;

interface PackedFile {
  path: string;
}
interface PackResult {
  name: string;
  filename: string;
  files: PackedFile[];
}
interface PackageJson {
  name: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

let work: string;
let project: string;
let packed: PackResult;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'legion-package-'));
  // prepack builds dist/ (tsc) first, as `npm publish` would.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [PackResult];
  project = join(work, 'helpdesk');
  await installTarball(join(work, packed.filename), project);
}, 4 * MINUTES);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('publishes agent-legion with its built modules, declarations, bin and data files, and no tests or TypeScript sources of its own', () => {
    const paths = packed.files.map((file) => file.path);

    expect(packed.name).toBe('agent-legion');
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'bin/legion.js',
        'dist/bin/legion.js',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/functions/agents/agent.lambda.js',
        'dist/local/local-runtime.d.ts',
        'schema/team-definition.schema.json',
        'statemachines/supervisor-worker.asl.json',
        'teams/telecom-support.yaml',
        'docs/teams.md',
        'docs/deploy.md',
      ]),
    );
    expect(paths.filter((path) => /^(test|bench|local|lib|\.ci)\//.test(path) || path.endsWith('.test.ts') || path === 'bin/legion.ts')).toEqual([]);
  });

  it('imports, in its modules and its declarations, only Node and the packages it declares', async () => {
    const packageDir = join(project, 'node_modules/agent-legion');
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as PackageJson;
    const declared = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    // The starters are text written into the user's project (its test imports vitest, which the user installs).
    const modules = packed.files.map((file) => file.path).filter((path) => path.startsWith('dist/') && /\.(js|d\.ts)$/.test(path) && !path.startsWith('dist/bin/cli/starter-'));

    const imported = new Set<string>();
    for (const path of modules) for (const name of packagesImportedBy(await readFile(join(packageDir, path), 'utf8'))) imported.add(name);

    expect(modules.length).toBeGreaterThan(100);
    // A types-only package (aws-lambda) is declared by its @types package.
    expect([...imported].filter((name) => !declared.has(name) && !declared.has(`@types/${name}`) && !builtinModules.includes(name))).toEqual([]);
    expect(imported).toContain('aws-cdk-lib');
  });
});

describe('a project that installed the tarball', () => {
  let written: string;

  beforeAll(async () => {
    written = await legion(['new', 'supervisor-worker', 'helpdesk', '--dir', 'teams', '--handler']);
    await addToolModule();
    await writeApp();
  }, MINUTES);

  it('writes, validates and runs a team with a custom handler on the installed CLI', async () => {
    const validated = await legion(['validate', 'teams/helpdesk.yaml']);
    const ran = await legion(['run', '--team', 'teams/helpdesk.yaml', '--input', '{"request":"I was charged twice"}']);

    expect(written).toContain('wrote teams/agents/billing.ts');
    await expect(readFile(join(project, 'teams/agents/billing.ts'), 'utf8')).resolves.toContain("from 'agent-legion/handlers'");
    expect(validated).toContain('valid (helpdesk, supervisor-worker)');
    expect(ran).toContain('Billing (custom handler): I have checked the charges behind "I was charged twice"');
  }, 2 * MINUTES);

  it('type-checks its app, tool and handler against the published declarations', async () => {
    const checked = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project }).then(
      () => 'no type errors',
      (error: unknown) => String((error as { stdout?: string }).stdout ?? error),
    );

    expect(checked).toBe('no type errors');
  }, MINUTES);

  it('synthesizes a stack of its own with its team (LegionTeam), the handler and the tool bundled from the installed package', async () => {
    await run(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: project, env: { ...process.env, CDK_OUTDIR: 'cdk.out' }, maxBuffer: 64 * 1024 * 1024 });

    const template = JSON.parse(await readFile(join(project, 'cdk.out/Helpdesk.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    const machines = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    const bundles = await bundleTexts(join(project, 'cdk.out'));
    expect(bundles.filter((text) => text.includes('ORDER-TOOL-MARK'))).toHaveLength(1);
    expect(bundles.filter((text) => text.includes('Billing (custom handler)'))).toHaveLength(1);
    // The generated agent entries live in the user's project, not in the installed package.
    expect(readdirSync(join(project, 'node_modules/.cache/legion-agent-entries')).length).toBeGreaterThan(0);
  }, 3 * MINUTES);
});

/** The packages a module imports (`from '...'`, `import '...'`, `import('...')`), by package name; relative and `node:` imports, and the examples in doc comments, left out. */
function packagesImportedBy(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '');
  const specifiers = [...code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|(?:^|[\s;])import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? '',
  );
  return specifiers
    .filter((specifier) => specifier !== '' && !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
}

/** The installed `legion` bin, in the project, on the test run's DynamoDB Local. */
async function legion(args: string[]): Promise<string> {
  const { stdout } = await run(join(project, 'node_modules/.bin/legion'), args, { cwd: project, env: legionEnvironment(args), timeout: MINUTES });
  return stdout;
}

/** What `npm install <tarball>` makes of an empty project, from this repository's copies of the declared dependencies. */
async function installTarball(tarball: string, into: string): Promise<void> {
  const modules = join(into, 'node_modules');
  const packageDir = join(modules, 'agent-legion');
  await mkdir(packageDir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
  const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as PackageJson;
  const declared = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
  // The project's own devDependencies: Node's types for its TypeScript.
  for (const name of [...declared, '@types/node']) {
    await mkdir(dirname(join(modules, name)), { recursive: true });
    await symlink(join(REPO, 'node_modules', name), join(modules, name));
  }
  await linkBins(modules, ['agent-legion', ...declared]);
  await writeFile(join(into, 'package.json'), JSON.stringify({ name: 'helpdesk', private: true, type: 'module', dependencies: { 'agent-legion': `file:${tarball}` } }));
  await writeFile(join(into, 'package-lock.json'), JSON.stringify({ name: 'helpdesk', lockfileVersion: 3, requires: true, packages: {} }));
}

async function linkBins(modules: string, names: readonly string[]): Promise<void> {
  const bin = join(modules, '.bin');
  await mkdir(bin, { recursive: true });
  for (const name of names) {
    const manifest = JSON.parse(await readFile(join(modules, name, 'package.json'), 'utf8')) as PackageJson;
    const bins = typeof manifest.bin === 'string' ? { [name.split('/').pop() ?? name]: manifest.bin } : (manifest.bin ?? {});
    for (const [command, file] of Object.entries(bins)) {
      if (!existsSync(join(bin, command))) await symlink(relative(bin, join(modules, name, file)), join(bin, command));
    }
  }
}

async function addToolModule(): Promise<void> {
  await mkdir(join(project, 'teams/tools'), { recursive: true });
  await writeFile(
    join(project, 'teams/tools/orders.ts'),
    `import { defineTool } from 'agent-legion/tools';

export const lookupOrder = defineTool<{ orderId: string }>({
  name: 'lookup_order',
  description: 'Finds an order by its id',
  inputSchema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
  run: ({ orderId }) => ({ orderId, status: 'ORDER-TOOL-MARK shipped' }),
});
`,
  );
  const teamFile = join(project, 'teams/helpdesk.yaml');
  const devices = '    systemPrompt: You are a device specialist. Diagnose step by step and give one clear fix.\n';
  const team = await readFile(teamFile, 'utf8');
  expect(team).toContain(devices);
  await writeFile(teamFile, team.replace(devices, `${devices}    tools:\n      - { module: ./tools/orders.ts, export: lookupOrder }\n`));
}

async function writeApp(): Promise<void> {
  await writeFile(
    join(project, 'app.ts'),
    `import { App, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LegionTeam } from 'agent-legion';
import type { LocalRuntime } from 'agent-legion/local';

const app = new App();
// A stack of the user's own: the team brings its Legion (table, bus, alarms...) into it.
const stack = new Stack(app, 'Helpdesk');
const helpdesk = await LegionTeam.fromFile(stack, 'Helpdesk', 'teams/helpdesk.yaml');
export const billing: IFunction | undefined = helpdesk.functions['billing'];
export type Runtime = LocalRuntime;
// @ts-expect-error a state machine is not a number: the declarations carry real types, not any
export const wrong: number = helpdesk.stateMachine;
app.synth();
`,
  );
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      include: ['app.ts', 'teams/tools/*.ts', 'teams/agents/billing.ts'],
    }),
  );
}

/** The text of every bundled function (`index.mjs` of each asset folder; the other assets are files). */
async function bundleTexts(outdir: string): Promise<string[]> {
  const folders = (await readdir(outdir, { withFileTypes: true })).filter((entry) => entry.isDirectory() && entry.name.startsWith('asset.'));
  return Promise.all(folders.map((folder) => readFile(join(outdir, folder.name, 'index.mjs'), 'utf8')));
}
