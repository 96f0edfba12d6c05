import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SupervisorWorkerInputSchema } from '../../functions/core/agent-contract.ts';
import { TeamDefinitionError } from '../../functions/core/errors.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { MAX_SYSTEM_PROMPT_CHARS, loadTeamFile, parseTeam, supervisorOf, workersOf } from '../../functions/core/team.ts';
import { TELECOM_TEAM_FILE } from '../support/telecom.ts';

/** A minimal valid team: only required fields, so every default is observable. */
function minimalTeam(): Record<string, unknown> & { agents: Record<string, unknown>[] } {
  return {
    name: 'tiny-team',
    pattern: 'supervisor-worker',
    description: 'A team with one supervisor and one worker.',
    fallbackAnswer: 'Sorry, I cannot help with that.',
    example: { request: 'hello' },
    agents: [
      {
        id: 'boss',
        role: 'supervisor',
        description: 'Routes requests.',
        capabilities: ['routing'],
        systemPrompt: 'You route requests.',
      },
      {
        id: 'helper',
        role: 'worker',
        description: 'Helps.',
        capabilities: ['help'],
        systemPrompt: 'You help.',
      },
    ],
  };
}

/** Runs `parseTeam` and returns the TeamDefinitionError it must throw. */
function problemsOf(value: unknown): TeamDefinitionError {
  try {
    parseTeam(value, 'inline-team');
  } catch (error) {
    expect(error).toBeInstanceOf(TeamDefinitionError);
    return error as TeamDefinitionError;
  }
  throw new Error('expected parseTeam to throw a TeamDefinitionError');
}

async function loadError(path: string): Promise<TeamDefinitionError> {
  try {
    await loadTeamFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(TeamDefinitionError);
    return error as TeamDefinitionError;
  }
  throw new Error(`expected loadTeamFile(${path}) to throw a TeamDefinitionError`);
}

describe('Module: team', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'legion-team-test-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('Function: loadTeamFile', () => {
    it('loads and validates the shipped telecom team', async () => {
      // Act
      const team = await loadTeamFile(TELECOM_TEAM_FILE);

      // Assess
      expect(team.name).toBe('telecom-support');
      expect(team.pattern).toBe('supervisor-worker');
      expect(team.agents.map((agent) => agent.id)).toEqual(['supervisor', 'billing', 'technical-support', 'account-management']);
      expect(supervisorOf(team).id).toBe('supervisor');
      expect(supervisorOf(team).modelTier).toBe('balanced');
      expect(workersOf(team).map((agent) => agent.id)).toEqual(['billing', 'technical-support', 'account-management']);
      expect(team.limits).toEqual({ maxParallelWorkers: 3, maxRollbacks: 2, maxStageAttempts: 2, maxHandBacks: 4, maxDepth: 2, maxFanOut: 4, maxRounds: 3, quorum: 2 / 3, taskTokenBudget: 100_000, bidWindowSeconds: 30, maxAuctionRounds: 3, maxAwards: 2 });
      expect(team.fallbackAnswer).toMatch(/^Sorry, I could not tell what you need help with\./);
      expect(workersOf(team).every((agent) => agent.scriptedReply?.includes('{request}'))).toBe(true);
    });

    it('ships an example input that the pattern accepts', async () => {
      // Prepare
      const spec = PATTERNS['supervisor-worker'];

      // Act
      const team = await loadTeamFile(spec.exampleTeamFile);
      const parsed = SupervisorWorkerInputSchema.safeParse(team.example);

      // Assess
      expect(spec.exampleTeamFile).toBe(TELECOM_TEAM_FILE);
      expect(parsed.success).toBe(true);
      expect(parsed.data?.conversation).toHaveLength(2);
    });

    it('reads a JSON file (YAML is a superset of JSON)', async () => {
      // Prepare
      const path = join(dir, 'tiny.json');
      await writeFile(path, JSON.stringify(minimalTeam()));

      // Act
      const team = await loadTeamFile(path);

      // Assess
      expect(team.name).toBe('tiny-team');
      expect(team.agents).toHaveLength(2);
    });

    it('reads a JavaScript module whose default export is the definition', async () => {
      // Prepare
      const path = join(dir, 'tiny-module.mjs');
      await writeFile(path, `export default ${JSON.stringify(minimalTeam())};\n`);

      // Act
      const team = await loadTeamFile(path);

      // Assess
      expect(team.name).toBe('tiny-team');
    });

    it('rejects a module without a default export, naming the file', async () => {
      // Prepare
      const path = join(dir, 'no-default.mjs');
      await writeFile(path, 'export const team = {};\n');

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.source).toBe(path);
      expect(error.message).toContain(path);
    });

    it('reports malformed YAML as a TeamDefinitionError naming the file', async () => {
      // Prepare
      const path = join(dir, 'broken.yaml');
      await writeFile(path, 'name: tiny-team\nagents: [unclosed\n  - id: x\n');

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.source).toBe(path);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^not valid YAML\/JSON: /);
      expect(error.message).toContain(path);
    });

    it('reports duplicate YAML keys as malformed YAML', async () => {
      // Prepare
      const path = join(dir, 'duplicate-key.yaml');
      await writeFile(path, `${stringify(minimalTeam())}name: other-name\n`);

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.problems[0]).toMatch(/^not valid YAML\/JSON: /);
    });

    it('reports a missing YAML file as a TeamDefinitionError', async () => {
      // Prepare
      const path = join(dir, 'does-not-exist.yaml');

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.source).toBe(path);
      expect(error.problems).toEqual([expect.stringMatching(/^cannot read file: .*ENOENT/)]);
    });

    it('reports a missing module file as a TeamDefinitionError', async () => {
      // Prepare
      const path = join(dir, 'does-not-exist.ts');

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.source).toBe(path);
      expect(error.problems).toEqual([expect.stringMatching(/^cannot load module: /)]);
    });

    it('reports a module that throws while loading as a TeamDefinitionError', async () => {
      // Prepare
      const path = join(dir, 'throws.mjs');
      await writeFile(path, "throw new Error('team module exploded');\n");

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.problems).toEqual(['cannot load module: team module exploded']);
    });

    it('reports an empty file as a definition that is not an object', async () => {
      // Prepare
      const path = join(dir, 'empty.yaml');
      await writeFile(path, '');

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/expected object/);
    });

    it('reports schema problems of a file with their paths', async () => {
      // Prepare
      const team = minimalTeam();
      team.pattern = 'round-robin';
      const path = join(dir, 'bad-pattern.yaml');
      await writeFile(path, stringify(team));

      // Act
      const error = await loadError(path);

      // Assess
      expect(error.source).toBe(path);
      expect(error.problems).toEqual([expect.stringMatching(/^pattern: .*supervisor-worker/)]);
    });
  });

  describe('Function: loadTeamFile (tool paths)', () => {
    /** The minimal team, its worker with tools of every kind, paths relative to the team file. */
    function teamWithTools(): Record<string, unknown> {
      const team = minimalTeam();
      Object.assign(team.agents[1] ?? {}, {
        tools: [
          { module: './tools/invoices.ts', export: 'lookupInvoice' },
          { module: '../shared/catalogue.ts' },
          { module: '/opt/legion/tools/absolute.ts' },
          { mcp: { command: 'node', args: ['kb-server.js'] } },
          { mcp: { command: 'node', cwd: 'servers/kb' } },
          { mcp: { url: 'https://mcp.example.com/mcp' }, include: ['search'] },
        ],
      });
      return team;
    }

    const anchoredIn = (folder: string): unknown[] => [
      { module: join(folder, 'tools', 'invoices.ts'), export: 'lookupInvoice' },
      { module: join(folder, '..', 'shared', 'catalogue.ts') },
      { module: '/opt/legion/tools/absolute.ts' },
      { mcp: { command: 'node', args: ['kb-server.js'], cwd: folder } },
      { mcp: { command: 'node', args: [], cwd: join(folder, 'servers', 'kb') } },
      { mcp: { url: 'https://mcp.example.com/mcp' }, include: ['search'] },
    ];

    it('resolves module paths against the team file’s folder and runs MCP commands there, for a YAML file', async () => {
      // Prepare: a folder of its own, so the team file's folder is neither the working directory nor the test's
      const folder = join(dir, 'yaml-team');
      await mkdir(folder, { recursive: true });
      const path = join(folder, 'team.yaml');
      await writeFile(path, stringify(teamWithTools()));

      // Act
      const team = await loadTeamFile(path);

      // Assess
      expect(team.agents[1]?.tools).toEqual(anchoredIn(folder));
      expect(team.agents[0]?.tools).toEqual([]);
    });

    it('anchors the tool paths of a team given as a JavaScript module the same way', async () => {
      // Prepare
      const folder = join(dir, 'module-team');
      await mkdir(folder, { recursive: true });
      const path = join(folder, 'team.mjs');
      await writeFile(path, `export default ${JSON.stringify(teamWithTools())};\n`);

      // Act
      const team = await loadTeamFile(path);

      // Assess
      expect(team.agents[1]?.tools).toEqual(anchoredIn(folder));
    });

    it('anchors against the file’s folder when the file is named by a relative path', async () => {
      // Prepare
      const folder = join(dir, 'relative-team');
      await mkdir(folder, { recursive: true });
      const path = join(folder, 'team.yaml');
      await writeFile(path, stringify(teamWithTools()));

      // Act
      const team = await loadTeamFile(relative(process.cwd(), path));

      // Assess
      expect(team.agents[1]?.tools).toEqual(anchoredIn(folder));
    });
  });

  describe('Function: parseTeam', () => {
    it('applies the defaults of agents and limits', () => {
      // Act
      const team = parseTeam(minimalTeam(), 'inline-team');

      // Assess
      expect(team.limits).toEqual({ maxParallelWorkers: 10, maxRollbacks: 2, maxStageAttempts: 2, maxHandBacks: 4, maxDepth: 2, maxFanOut: 4, maxRounds: 3, quorum: 2 / 3, taskTokenBudget: 100_000, bidWindowSeconds: 30, maxAuctionRounds: 3, maxAwards: 2 });
      expect(team.agents[0]).toEqual({
        id: 'boss',
        role: 'supervisor',
        description: 'Routes requests.',
        capabilities: ['routing'],
        systemPrompt: 'You route requests.',
        modelTier: 'fast',
        tokenBudget: 4000,
        tools: [],
        maxToolCalls: 8,
        toolTimeoutSeconds: 10,
        memoryMb: 512,
        timeoutSeconds: 30,
        resources: [],
      });
      expect(team.agents[0]).not.toHaveProperty('reservedConcurrency');
      expect(team.agents[0]).not.toHaveProperty('scriptedReply');
    });

    it('takes an agent’s resources as identifiers, each once, in the order given', () => {
      const withResources = (resources: unknown) => {
        const team = minimalTeam();
        return { ...team, agents: team.agents.map((agent, index) => (index === 0 ? { ...agent, resources } : agent)) };
      };

      expect(parseTeam(withResources(['verification-key', 'database']), 'inline-team').agents[0]?.resources).toEqual(['verification-key', 'database']);
      expect(() => parseTeam(withResources(['database', 'database']), 'inline-team')).toThrow(/resources: must not name a resource twice/);
      expect(() => parseTeam(withResources(['Database Lock']), 'inline-team')).toThrow(/resources\.0: must be lower-case letters/);
    });

    it('fills the missing limits of a partial limits object', () => {
      // Prepare
      const value = { ...minimalTeam(), limits: { maxParallelWorkers: 2 } };

      // Act
      const team = parseTeam(value, 'inline-team');

      // Assess
      expect(team.limits).toEqual({ maxParallelWorkers: 2, maxRollbacks: 2, maxStageAttempts: 2, maxHandBacks: 4, maxDepth: 2, maxFanOut: 4, maxRounds: 3, quorum: 2 / 3, taskTokenBudget: 100_000, bidWindowSeconds: 30, maxAuctionRounds: 3, maxAwards: 2 });
    });

    it('keeps values that are given instead of the defaults', () => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[1] ?? {}, { modelTier: 'deep', tokenBudget: 1234, reservedConcurrency: 5 });

      // Act
      const team = parseTeam(value, 'inline-team');

      // Assess
      expect(team.agents[1]).toMatchObject({ modelTier: 'deep', tokenBudget: 1234, reservedConcurrency: 5 });
    });

    it('takes a team without an example (issue 16: the run may get its input otherwise)', () => {
      // Prepare
      const value: Record<string, unknown> = minimalTeam();
      delete value.example;

      // Act
      const team = parseTeam(value, 'inline-team');

      // Assess
      expect(team.example).toBeUndefined();
    });

    it('names every missing top-level field', () => {
      // Prepare
      const value: Record<string, unknown> = minimalTeam();
      delete value.description;
      delete value.name;

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.source).toBe('inline-team');
      expect(error.problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/^description: /), expect.stringMatching(/^name: /)]),
      );
      expect(error.problems).toHaveLength(2);
      expect(error.message).toContain('inline-team');
      expect(error.message).toContain('description: ');
    });

    it('accepts a system prompt longer than the environment holds (it is bundled), up to MAX_SYSTEM_PROMPT_CHARS', () => {
      const value = minimalTeam();
      value.agents[1] = { ...value.agents[1], systemPrompt: 'x'.repeat(MAX_SYSTEM_PROMPT_CHARS) };
      expect(parseTeam(value, 'test').agents[1]?.systemPrompt).toHaveLength(MAX_SYSTEM_PROMPT_CHARS);
      value.agents[1] = { ...value.agents[1], systemPrompt: 'x'.repeat(MAX_SYSTEM_PROMPT_CHARS + 1) };
      expect(problemsOf(value).problems).toEqual([expect.stringMatching(/^agents\.1\.systemPrompt: .*50000/)]);
    });

    it('names a missing field of an agent with its index', () => {
      // Prepare
      const value = minimalTeam();
      delete value.agents[1]?.systemPrompt;

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^agents\.1\.systemPrompt: /)]);
    });

    it.each([
      ['upper case', 'Billing'],
      ['leading digit', '1billing'],
      ['underscore', 'bill_ing'],
      ['empty', ''],
      ['41 characters', `a${'b'.repeat(40)}`],
    ])('rejects an agent id with %s', (_case, id) => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[1] ?? {}, { id });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^agents\.1\.id: must be lower-case letters, digits and dashes/)]);
    });

    it('accepts an id of exactly 40 characters', () => {
      // Prepare
      const value = minimalTeam();
      const id = `a${'b'.repeat(39)}`;
      Object.assign(value.agents[1] ?? {}, { id });

      // Act
      const team = parseTeam(value, 'inline-team');

      // Assess
      expect(team.agents[1]?.id).toBe(id);
    });

    it('rejects a team name with a bad format', () => {
      // Act
      const error = problemsOf({ ...minimalTeam(), name: 'Tiny Team' });

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^name: must be lower-case/)]);
    });

    it('rejects duplicate agent ids, pointing at the second one', () => {
      // Prepare
      const value = minimalTeam();
      value.agents.push({ ...value.agents[1], description: 'A second helper with the same id.' });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual(['agents.2.id: duplicate agent id "helper"']);
    });

    it('rejects a team without a supervisor', () => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[0] ?? {}, { role: 'worker' });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual(['agents: needs exactly 1 agent with role "supervisor", found 0']);
    });

    it('rejects a team with two supervisors', () => {
      // Prepare
      const value = minimalTeam();
      value.agents.push({ ...value.agents[0], id: 'second-boss' });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual(['agents: needs exactly 1 agent with role "supervisor", found 2']);
    });

    it('rejects a team without a worker', () => {
      // Prepare
      const value = minimalTeam();
      value.agents.pop();

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual(['agents: needs at least 1 agent with role "worker", found 0']);
    });

    it('rejects a team without agents', () => {
      // Act
      const error = problemsOf({ ...minimalTeam(), agents: [] });

      // Assess
      expect(error.problems).toContainEqual(expect.stringMatching(/^agents: /));
    });

    it('rejects an unknown role', () => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[1] ?? {}, { role: 'manager' });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toContainEqual(expect.stringMatching(/^agents\.1\.role: /));
    });

    it('rejects an unknown pattern, listing the known ones', () => {
      // Act
      const error = problemsOf({ ...minimalTeam(), pattern: 'blackboard' });

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^pattern: .*"supervisor-worker"/)]);
    });

    it('rejects an unknown model tier', () => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[0] ?? {}, { modelTier: 'huge' });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^agents\.0\.modelTier: /)]);
    });

    it('rejects an unknown top-level key (strict)', () => {
      // Act
      const error = problemsOf({ ...minimalTeam(), colour: 'blue' });

      // Assess
      expect(error.problems).toEqual([expect.stringContaining('"colour"')]);
    });

    it('rejects an unknown key of an agent, with the path of the agent', () => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[1] ?? {}, { temperature: 0.7 });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^agents\.1: .*"temperature"/)]);
    });

    it('rejects an unknown key of the limits, with its path', () => {
      // Act
      const error = problemsOf({ ...minimalTeam(), limits: { maxLoops: 3 } });

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^limits: .*"maxLoops"/)]);
    });

    it('asks a team with a supervisor for its fallbackAnswer', () => {
      // Prepare
      const value: Record<string, unknown> = minimalTeam();
      delete value.fallbackAnswer;

      // Act & Assess
      expect(problemsOf(value).problems).toEqual(['fallbackAnswer: a team with a supervisor needs a fallbackAnswer']);
    });

    it('rejects a role its pattern does not have, naming the roles it has', () => {
      // Prepare
      const value = minimalTeam();
      Object.assign(value.agents[1] ?? {}, { role: 'peer' });

      // Act & Assess
      expect(problemsOf(value).problems).toEqual([
        expect.stringMatching(/^agents: agent .*: a supervisor-worker team has no role "peer" \(roles: supervisor, worker\)$/),
        'agents: needs at least 1 agent with role "worker", found 0',
      ]);
    });

    it('rejects limits out of range', () => {
      // Act
      const error = problemsOf({ ...minimalTeam(), limits: { maxParallelWorkers: 0 } });

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^limits\.maxParallelWorkers: /)]);
    });

    it('rejects an agent timeout that the state machine would cut short', () => {
      // Act
      const value = minimalTeam();
      Object.assign(value.agents[0] ?? {}, { timeoutSeconds: 300 });
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/^agents\.0\.timeoutSeconds: /)]);
    });

    it('reports several problems at once, one line each', () => {
      // Prepare
      const value = { ...minimalTeam(), name: 'BAD', pattern: 'unknown' };
      Object.assign(value.agents[0] ?? {}, { tokenBudget: -1 });

      // Act
      const error = problemsOf(value);

      // Assess
      expect(error.problems).toHaveLength(3);
      expect(error.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^name: /),
          expect.stringMatching(/^pattern: /),
          expect.stringMatching(/^agents\.0\.tokenBudget: /),
        ]),
      );
      expect(error.message.split('\n  - ')).toHaveLength(4);
    });

    describe('agent tools', () => {
      /** The minimal team, its worker with these tool settings. */
      const withWorkerTools = (settings: Record<string, unknown>): Record<string, unknown> => {
        const team = minimalTeam();
        Object.assign(team.agents[1] ?? {}, settings);
        return team;
      };

      it('takes a module tool, with or without an export name, keeping its path as written', () => {
        // Act
        const team = parseTeam(withWorkerTools({ tools: [{ module: './tools/invoices.ts', export: 'lookupInvoice' }, { module: 'tools/all.ts' }] }), 'inline-team');

        // Assess
        expect(team.agents[1]?.tools).toEqual([{ module: './tools/invoices.ts', export: 'lookupInvoice' }, { module: 'tools/all.ts' }]);
      });

      it('takes an MCP server run as a command, its args none unless given', () => {
        // Act
        const team = parseTeam(
          withWorkerTools({ tools: [{ mcp: { command: 'node', env: { API_URL: 'http://localhost:9000' } }, include: ['search_kb'] }, { mcp: { command: 'npx', args: ['-y', 'kb-server'] } }] }),
          'inline-team',
        );

        // Assess
        expect(team.agents[1]?.tools).toEqual([
          { mcp: { command: 'node', args: [], env: { API_URL: 'http://localhost:9000' } }, include: ['search_kb'] },
          { mcp: { command: 'npx', args: ['-y', 'kb-server'] } },
        ]);
      });

      it('takes an MCP server by its http or https URL', () => {
        // Act
        const team = parseTeam(withWorkerTools({ tools: [{ mcp: { url: 'https://mcp.example.com/mcp' } }, { mcp: { url: 'http://localhost:3000/mcp' }, include: ['a-tool', 'other_tool'] }] }), 'inline-team');

        // Assess
        expect(team.agents[1]?.tools).toEqual([{ mcp: { url: 'https://mcp.example.com/mcp' } }, { mcp: { url: 'http://localhost:3000/mcp' }, include: ['a-tool', 'other_tool'] }]);
      });

      it('takes a Lambda function as a tool, described as the model sees it, by its ARN (an alias too)', () => {
        const lambdaTool = { name: 'lookup_plan', description: "A customer's plan.", inputSchema: { type: 'object', properties: { customerId: { type: 'string' } } } };
        const entries = [
          { lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', ...lambdaTool },
          { lambda: 'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:lookup_plan:live', ...lambdaTool, name: 'lookup_plan_live' },
        ];

        // Act
        const team = parseTeam(withWorkerTools({ tools: entries }), 'inline-team');

        // Assess
        expect(team.agents[1]?.tools).toEqual(entries);
      });

      it.each([
        ['a Lambda tool given by function name, not ARN', { lambda: 'lookup-plan', name: 'lookup_plan', description: 'd', inputSchema: { type: 'object' } }],
        ['a Lambda tool without a description', { lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', name: 'lookup_plan', inputSchema: { type: 'object' } }],
        ['a Lambda tool whose input schema is not of an object', { lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', name: 'lookup_plan', description: 'd', inputSchema: { type: 'string' } }],
        ['a Lambda tool without an input schema', { lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', name: 'lookup_plan', description: 'd' }],
        ['an MCP URL that is not http(s)', { mcp: { url: 'ftp://x' } }],
        ['a plain tool name (the old form)', 'search'],
        ['an empty module path', { module: '' }],
        ['an export that is not a JavaScript name', { module: './tools.ts', export: 'look-up' }],
        ['an MCP server with both a command and a URL', { mcp: { command: 'node', url: 'http://localhost:3000/mcp' } }],
        ['a module and an MCP server in one entry', { module: './tools.ts', mcp: { url: 'http://localhost:3000/mcp' } }],
        ['an empty include list', { mcp: { url: 'http://localhost:3000/mcp' }, include: [] }],
        ['an included name the model APIs refuse', { mcp: { url: 'http://localhost:3000/mcp' }, include: ['search kb'] }],
        ['an MCP command without a command', { mcp: { args: ['server.js'] } }],
      ])('rejects %s, naming the path of the entry', (_case, entry) => {
        // Act
        const error = problemsOf(withWorkerTools({ tools: [entry] }));

        // Assess
        expect(error.problems).toEqual([expect.stringMatching(/^agents\.1\.tools\.0[.:]/)]);
        expect(error.message).toContain('agents.1.tools.0');
      });

      it('rejects more than 20 tool entries', () => {
        // Act
        const error = problemsOf(withWorkerTools({ tools: Array.from({ length: 21 }, (_entry, index) => ({ module: `./tools/${String(index)}.ts` })) }));

        // Assess
        expect(error.problems).toEqual([expect.stringMatching(/^agents\.1\.tools: /)]);
      });

      it('keeps maxToolCalls and toolTimeoutSeconds that are given, within their ranges', () => {
        // Act
        const team = parseTeam(withWorkerTools({ maxToolCalls: 50, toolTimeoutSeconds: 1 }), 'inline-team');

        // Assess
        expect(team.agents[1]).toMatchObject({ maxToolCalls: 50, toolTimeoutSeconds: 1 });
        expect(team.agents[0]).toMatchObject({ maxToolCalls: 8, toolTimeoutSeconds: 10 });
      });

      it.each([
        ['maxToolCalls', 0],
        ['maxToolCalls', 51],
        ['maxToolCalls', 2.5],
        ['toolTimeoutSeconds', 0],
        ['toolTimeoutSeconds', 101],
      ])('rejects %s of %s', (setting, value) => {
        // Act
        const error = problemsOf(withWorkerTools({ [setting]: value }));

        // Assess
        expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^agents\\.1\\.${setting}: `))]);
      });
    });

    it('rejects a value that is not an object', () => {
      // Act
      const error = problemsOf(['not', 'a', 'team']);

      // Assess
      expect(error.problems).toEqual([expect.stringMatching(/expected object/)]);
    });
  });

  describe('Function: supervisorOf', () => {
    it('returns the only supervisor', () => {
      // Act
      const team = parseTeam(minimalTeam(), 'inline-team');

      // Assess
      expect(supervisorOf(team).id).toBe('boss');
      expect(workersOf(team).map((agent) => agent.id)).toEqual(['helper']);
    });
  });
});
