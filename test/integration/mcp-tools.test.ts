/**
 * MCP tools against a real MCP server built with the official SDK (test/support/mcp-test-server.ts):
 * over stdio as a child process, and over streamable HTTP. Listing, `include`, calls and their
 * errors, and failing closed: a server that cannot be started, reached or does not answer is an
 * InfrastructureError naming it, and leaves no process behind.
 */
import { createServer } from 'node:http';
import { mkdtemp, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, InfrastructureError } from '../../functions/core/errors.ts';
import { type McpServerSource, type McpTools, connectMcpTools } from '../../functions/tools/mcp-tools.ts';
import type { Tool, ToolCallContext } from '../../functions/tools/tool.ts';
import { KNOWN_INVOICE, type McpHttpServer, startMcpHttpServer } from '../support/mcp-test-server.ts';
import { isAlive } from '../support/processes.ts';
import { rejectionOf } from '../support/rejection.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const context = (): ToolCallContext => ({ signal: AbortSignal.timeout(10_000), idempotencyKey: 'step-1' });

function stdioServer(env: Record<string, string> = {}): McpServerSource {
  return { command: process.execPath, args: ['--import', 'tsx', 'test/support/mcp-stdio-server.ts'], cwd: repoRoot, env };
}

function toolNamed(tools: readonly Tool[], name: string): Tool {
  const tool = tools.find((candidate) => candidate.spec.name === name);
  if (!tool) throw new Error(`no tool ${name} among ${tools.map((candidate) => candidate.spec.name).join(', ')}`);
  return tool;
}

/** So that a failing test does not leave an orphan behind (the SDK's kill timers do not hold the worker open). */
function killIfAlive(pid: number): void {
  if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** A port on which nothing listens (it did a moment ago). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.concurrent('Function: connectMcpTools', () => {
  describe('over stdio', () => {
    let dir: string;
    let server: McpTools;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'legion-mcp-'));
      server = await connectMcpTools(stdioServer({ LEGION_TEST_APPEND_FILE: join(dir, 'ledger.txt') }), {});
    });
    afterAll(() => server.close());

    it('lists every tool the server offers, with its description and input schema', () => {
      expect(server.tools.map((tool) => tool.spec.name)).toEqual(['add', 'lookup_invoice', 'append_line', 'server_pid']);
      const add = toolNamed(server.tools, 'add').spec;
      expect(add.description).toBe('The sum of two numbers.');
      expect(add.inputSchema).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] });
    });

    it('gives a tool without a description one that names it', () => {
      expect(toolNamed(server.tools, 'server_pid').spec.description).toMatch(/server_pid/);
    });

    it('calls a tool and resolves to the text of its result', async () => {
      await expect(toolNamed(server.tools, 'add').call({ a: 2, b: 3 }, context())).resolves.toBe('5');
      const invoice = await toolNamed(server.tools, 'lookup_invoice').call({ invoiceId: KNOWN_INVOICE.invoiceId }, context());
      expect(JSON.parse(invoice)).toEqual(KNOWN_INVOICE);
    });

    it('runs a side-effecting tool in the server, with the environment it was given', async () => {
      await expect(toolNamed(server.tools, 'append_line').call({ line: 'refund INV-1001' }, context())).resolves.toBe('appended');
      await expect(readFile(join(dir, 'ledger.txt'), 'utf8')).resolves.toBe('refund INV-1001\n');
    });

    it('throws the server message of a result marked isError, for the model to read', async () => {
      const error = await rejectionOf(toolNamed(server.tools, 'lookup_invoice').call({ invoiceId: 'INV-9' }, context()));
      expect(error.message).toBe('No invoice INV-9');
    });

    it("passes the call's signal on: an aborted call rejects", async () => {
      const aborted: ToolCallContext = { signal: AbortSignal.abort(new Error('step timed out')), idempotencyKey: 'step-1' };
      await expect(toolNamed(server.tools, 'add').call({ a: 1, b: 1 }, aborted)).rejects.toThrow('step timed out');
    });

    it('keeps only the tools named in include, and its close ends the server process', async () => {
      const { tools, close } = await connectMcpTools(stdioServer(), { include: ['server_pid', 'add'] });
      expect(tools.map((tool) => tool.spec.name)).toEqual(['add', 'server_pid']);
      const pid = Number(await toolNamed(tools, 'server_pid').call({}, context()));
      try {
        expect(isAlive(pid)).toBe(true);
        await close();
        expect(isAlive(pid)).toBe(false);
      } finally {
        killIfAlive(pid);
      }
    });
  });

  describe('failing closed', () => {
    it('throws an InfrastructureError naming a command that does not exist', async () => {
      const error = await rejectionOf(connectMcpTools({ command: 'legion-no-such-mcp-server', args: ['--stdio'] }, {}));
      expect(error).toBeInstanceOf(InfrastructureError);
      expect(error).toMatchObject({ originalName: 'McpServerUnavailable' });
      expect(error.message).toMatch(/legion-no-such-mcp-server --stdio/);
      expect(error.message).toMatch(/ENOENT/);
    });

    it('says what a server that dies at start wrote to stderr', async () => {
      const script = "console.error('BILLING_TOKEN is not set'); process.exit(1)";
      const error = await rejectionOf(connectMcpTools({ command: process.execPath, args: ['-e', script] }, {}));
      expect(error).toBeInstanceOf(InfrastructureError);
      expect(error.message).toMatch(/BILLING_TOKEN is not set/);
    });

    it('gives up on a server that does not answer within connectTimeoutMs, and leaves no process behind', async () => {
      const pidFile = join(await mkdtemp(join(tmpdir(), 'legion-mcp-')), 'pid');
      const script = "require('node:fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 60_000)";
      const error = await rejectionOf(connectMcpTools({ command: process.execPath, args: ['-e', script, pidFile] }, { connectTimeoutMs: 500 }));
      expect(error).toBeInstanceOf(InfrastructureError);
      expect(error.message).toMatch(/no answer within 500 ms/);
      const pid = Number(await readFile(pidFile, 'utf8'));
      try {
        expect(pid).toBeGreaterThan(0);
        expect(isAlive(pid)).toBe(false);
      } finally {
        killIfAlive(pid);
      }
    });

    it('throws an InfrastructureError naming a URL where nothing listens, without its credentials or query', async () => {
      const port = await deadPort();
      const error = await rejectionOf(connectMcpTools({ url: `http://bob:hunter2@127.0.0.1:${port}/mcp?token=abc123` }, {}));
      expect(error).toBeInstanceOf(InfrastructureError);
      expect(error.message).toContain(`http://127.0.0.1:${port}/mcp`);
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(error.message).not.toMatch(/hunter2|abc123|bob/);
    });
  });

  describe('over streamable HTTP', () => {
    let dir: string;
    let http: McpHttpServer;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'legion-mcp-'));
      http = await startMcpHttpServer({ appendFile: join(dir, 'ledger.txt') });
    });
    afterAll(() => http.close());

    it('lists and calls the tools of a server at a URL', async () => {
      const { tools, close } = await connectMcpTools({ url: http.url }, { include: ['add', 'append_line'] });
      try {
        expect(tools.map((tool) => tool.spec.name)).toEqual(['add', 'append_line']);
        await expect(toolNamed(tools, 'add').call({ a: 40, b: 2 }, context())).resolves.toBe('42');
        await expect(toolNamed(tools, 'append_line').call({ line: 'over http' }, context())).resolves.toBe('appended');
        await expect(readFile(join(dir, 'ledger.txt'), 'utf8')).resolves.toBe('over http\n');
      } finally {
        await close();
      }
    });

    it("sends a URL's credentials as Basic authorization", async () => {
      const withCredentials = http.url.replace('http://', 'http://alice:s%3Acret@');
      const { close } = await connectMcpTools({ url: withCredentials }, {});
      await close();
      expect(http.authorizations.at(-1)).toBe(`Basic ${Buffer.from('alice:s:cret').toString('base64')}`);
    });

    it('rejects an include naming a tool the server does not offer, naming it and the tools offered', async () => {
      const error = await rejectionOf(connectMcpTools({ url: http.url }, { include: ['add', 'refund_invoice'] }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toMatch(/no tool named refund_invoice; it offers: add, lookup_invoice, append_line, server_pid/);
    });
  });
});
