/**
 * Test support: an MCP server built with the official SDK, for tests of `connectMcpTools`. Its
 * tools: `add` (a pure function), `lookup_invoice` (a fixed invoice, or an `isError` result for an
 * unknown id), `append_line` (the side-effecting one: appends to a file) and `server_pid` (no
 * description, on purpose; it tells a test which process serves, so that it can check the process
 * is gone after close). Serve it over stdio with test/support/mcp-stdio-server.ts, or over
 * streamable HTTP with `startMcpHttpServer`.
 *
 * @example
 * ```ts
 * const server = await startMcpHttpServer({ appendFile: join(dir, 'lines.txt') });
 * const { tools, close } = await connectMcpTools({ url: server.url }, {});
 * await close();
 * await server.close();
 * ```
 */
import { appendFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** The one invoice `lookup_invoice` knows. */
export const KNOWN_INVOICE = { invoiceId: 'INV-1001', amount: 1250, currency: 'EUR', status: 'paid' } as const;

export interface McpTestServerOptions {
  /** The file `append_line` appends to. @default the env var LEGION_TEST_APPEND_FILE */
  appendFile?: string | undefined;
}

const text = (value: string): { content: { type: 'text'; text: string }[] } => ({ content: [{ type: 'text', text: value }] });

/**
 * The test MCP server, not yet connected to a transport.
 *
 * @example
 * ```ts
 * await buildMcpTestServer().connect(new StdioServerTransport());
 * ```
 */
export function buildMcpTestServer(options: McpTestServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'legion-mcp-test-server', version: '1.0.0' });
  server.registerTool('add', { description: 'The sum of two numbers.', inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => text(String(a + b)));
  server.registerTool('lookup_invoice', { description: 'An invoice by its id (INV-1234).', inputSchema: { invoiceId: z.string() } }, ({ invoiceId }) =>
    invoiceId === KNOWN_INVOICE.invoiceId ? text(JSON.stringify(KNOWN_INVOICE)) : { ...text(`No invoice ${invoiceId}`), isError: true },
  );
  server.registerTool('append_line', { description: 'Appends a line to the ledger file.', inputSchema: { line: z.string() } }, async ({ line }) => {
    const file = options.appendFile ?? process.env.LEGION_TEST_APPEND_FILE;
    if (!file) return { ...text('No file to append to: set LEGION_TEST_APPEND_FILE'), isError: true };
    await appendFile(file, `${line}\n`);
    return text('appended');
  });
  server.registerTool('server_pid', {}, () => text(String(process.pid)));
  return server;
}

export interface McpHttpServer {
  /** `http://127.0.0.1:PORT/mcp` */
  url: string;
  /** The Authorization header of each request, in order. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * Serves the test MCP server over streamable HTTP on 127.0.0.1 (a free port), in stateless mode: a
 * new server and transport for each POST, as the SDK's stateless example does; GET (a standalone
 * SSE stream) and DELETE (ending a session) get 405, which the client accepts.
 *
 * @example
 * ```ts
 * const server = await startMcpHttpServer();
 * const { tools } = await connectMcpTools({ url: server.url }, {});
 * ```
 */
export async function startMcpHttpServer(options: McpTestServerOptions = {}): Promise<McpHttpServer> {
  const authorizations: (string | undefined)[] = [];
  const httpServer = createServer((request, response) => {
    authorizations.push(request.headers.authorization);
    void handle(request, response, options);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    authorizations,
    close: () =>
      new Promise<void>((resolve, reject) => {
        httpServer.closeAllConnections();
        httpServer.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: McpTestServerOptions): Promise<void> {
  if (request.method !== 'POST' || !request.url?.startsWith('/mcp')) {
    response.writeHead(request.method === 'POST' ? 404 : 405).end();
    return;
  }
  const server = buildMcpTestServer(options);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  response.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(request, response);
}
