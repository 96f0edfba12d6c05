/**
 * An MCP server built with the official SDK (test/support/mcp-test-server.ts) used by an agent in
 * a whole local run: the real supervisor-worker ASL on the local runtime, the scripted model, the
 * test run's DynamoDB Local. Over stdio (a child process the agent's toolbox starts, and the
 * runtime stops after the run) and over streamable HTTP; through the runtime and through the CLI.
 * A server that cannot be started fails the run rather than leaving the agent without its tool.
 *
 * The scripted model fills `lookup_invoice`'s `invoiceId` (a string without a pattern) with the
 * whole request, so the request is the invoice id alone, and the worker's capability is that id.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type TeamDefinition, type ToolSource, parseTeam } from '../../functions/core/team.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { withTestRuntime } from '../support/local-runtime.ts';
import { KNOWN_INVOICE, type McpHttpServer, startMcpHttpServer } from '../support/mcp-test-server.ts';
import { isAlive } from '../support/processes.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STDIO_SERVER = { command: process.execPath, args: ['--import', 'tsx', 'test/support/mcp-stdio-server.ts'], cwd: REPO_ROOT };
const NO_SUCH_COMMAND = 'legion-no-such-mcp-server';
const INVOICE_LINE = `[tool lookup_invoice] ${JSON.stringify(KNOWN_INVOICE)}`;

/** recorder.yaml's shape, with one MCP tool source on its worker (the `clerk`). */
function teamDefinition(tool: ToolSource): Record<string, unknown> {
  return {
    name: 'mcp-invoices',
    pattern: 'supervisor-worker',
    description: 'Looks invoices up on an MCP server.',
    fallbackAnswer: 'Tell me the invoice id.',
    agents: [
      { id: 'supervisor', role: 'supervisor', description: 'Routes requests to the clerk.', capabilities: ['routing'], systemPrompt: 'You route requests.' },
      {
        id: 'clerk',
        role: 'worker',
        description: 'Looks invoices up.',
        capabilities: [KNOWN_INVOICE.invoiceId],
        systemPrompt: 'You look invoices up.',
        timeoutSeconds: 60,
        toolTimeoutSeconds: 30,
        tools: [tool],
      },
    ],
    example: { request: KNOWN_INVOICE.invoiceId },
  };
}

const teamWith = (tool: ToolSource): TeamDefinition => parseTeam(teamDefinition(tool), 'mcp-team-run.test.ts');

function runTeam(team: TeamDefinition): Promise<RunResult> {
  return withTestRuntime({ model: new ScriptedModel() }, (runtime) => runtime.run({ team, input: { request: KNOWN_INVOICE.invoiceId }, taskId: `mcp-run-${randomUUID()}` }));
}

const answerOf = (result: Pick<RunResult, 'output'>): string => (result.output as { answer: string }).answer;
const workEntry = (result: Pick<RunResult, 'trace'>): RunResult['trace'][number] | undefined => result.trace.find((entry) => entry.state === 'Work');
const lookupCall = { name: 'lookup_invoice', input: { invoiceId: KNOWN_INVOICE.invoiceId }, ok: true, durationMs: expect.any(Number) as number };

describe('Scenario: an agent uses an MCP server in a full local run', () => {
  describe('over stdio', () => {
    it("calls the server's tool, reports the call in the Work step's trace, and stops the server after the run", async () => {
      const result = await runTeam(teamWith({ mcp: STDIO_SERVER, include: ['lookup_invoice', 'server_pid'] }));

      expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
      const answer = answerOf(result);
      expect(answer).toContain(INVOICE_LINE);
      expect(workEntry(result)).toMatchObject({ agent: 'clerk', toolCalls: [lookupCall, { name: 'server_pid', input: {}, ok: true, durationMs: expect.any(Number) as number }] });
      const pid = Number(/\[tool server_pid\] (\d+)/.exec(answer)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(process.pid);
      // The runtime closed the agent's toolbox when the run ended: the server's process is gone.
      expect(isAlive(pid)).toBe(false);
    });

    it('fails the run when the server cannot be started, naming its command', async () => {
      const result = await runTeam(teamWith({ mcp: { command: NO_SUCH_COMMAND, args: [] } }));

      expect(result.status).toBe('FAILED');
      expect(result.error).toEqual({ error: 'InfrastructureError', cause: expect.stringContaining(`MCP server \`${NO_SUCH_COMMAND}\` is unavailable`) as string });
      // The worker never answered without its tool: no Work checkpoint, no answer.
      expect(result.trace.map((entry) => entry.state)).toEqual(['Classify']);
      expect(result.output).toBeNull();
    });
  });

  describe('over streamable HTTP', () => {
    let server: McpHttpServer;
    let dir: string;

    beforeAll(async () => {
      server = await startMcpHttpServer();
      dir = await mkdtemp(join(tmpdir(), 'legion-mcp-team-'));
    });
    afterAll(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("calls the server's tool and reports the call in the Work step's trace", async () => {
      const before = server.authorizations.length;
      const result = await runTeam(teamWith({ mcp: { url: server.url }, include: ['lookup_invoice'] }));

      expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
      expect(answerOf(result)).toContain(INVOICE_LINE);
      expect(workEntry(result)).toMatchObject({ agent: 'clerk', toolCalls: [lookupCall] });
      expect(server.authorizations.length).toBeGreaterThan(before);
    });

    it('works from a team file through the CLI: `legion run --team <file> --json` shows the call', async () => {
      const teamFile = join(dir, 'mcp-invoices.yaml');
      await writeFile(teamFile, stringify(teamDefinition({ mcp: { url: server.url }, include: ['lookup_invoice'] })));

      const outcome = await legionInProcess(['run', 'supervisor-worker', '--team', teamFile, '--json', '--quiet']);

      expect(outcome.status, outcome.stderr).toBe(0);
      const result = JSON.parse(outcome.stdout) as Pick<RunResult, 'status' | 'output' | 'trace'>;
      expect(result.status).toBe('SUCCEEDED');
      expect(answerOf(result)).toContain(INVOICE_LINE);
      expect(workEntry(result)).toMatchObject({ agent: 'clerk', toolCalls: [lookupCall] });
    });
  });
});
