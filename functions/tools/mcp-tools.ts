/**
 * Tools of an MCP server as Legion tools: connects to the server (a command Legion starts and talks
 * to over stdio, or a URL it reaches over streamable HTTP), lists its tools, and turns each into a
 * `Tool` whose call is a `tools/call` request. A server that cannot be reached fails the connect
 * with an InfrastructureError: an agent never runs without the tools it was given.
 *
 * @example
 * ```ts
 * const billing = await connectMcpTools({ command: 'npx', args: ['-y', 'billing-mcp'] }, { include: ['lookup_invoice'] });
 * try {
 *   const text = await billing.tools[0]!.call({ invoiceId: 'INV-1001' }, { signal, idempotencyKey });
 * } finally {
 *   await billing.close();
 * }
 * ```
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { ConfigurationError, InfrastructureError } from '../core/errors.ts';
import type { Tool } from './tool.ts';

/**
 * Where an MCP server is. A command is started as a child process that gets only `env` on top of a
 * few safe variables (PATH, HOME, …), not Legion's whole environment; its command line appears in
 * error messages, so give secrets in `env`, not in `args`. A URL's credentials (user:password@)
 * are sent as Basic authorization and never appear in messages, nor does its query.
 *
 * @example
 * ```ts
 * const local: McpServerSource = { command: 'node', args: ['billing-server.js'], env: { BILLING_TOKEN: token } };
 * const remote: McpServerSource = { url: 'https://mcp.example.com/mcp' };
 * ```
 */
export type McpServerSource = { command: string; args?: string[]; env?: Record<string, string>; cwd?: string } | { url: string };

/**
 * How to connect.
 *
 * @example
 * ```ts
 * const options: McpToolsOptions = { include: ['lookup_invoice'], connectTimeoutMs: 5_000 };
 * ```
 */
export interface McpToolsOptions {
  /** Only these tools of the server; each must be one it offers. @default all of them */
  include?: readonly string[] | undefined;
  /** The client name the server sees. @default 'legion' */
  clientName?: string | undefined;
  /** How long starting (or reaching) the server and listing its tools may take. @default 10_000 */
  connectTimeoutMs?: number | undefined;
  /**
   * An upper bound on one tool call. The call's signal is its real deadline; this only replaces the
   * SDK's own 60 s default, which would cut a slow tool short before the tool loop's timeout.
   * @default 900_000 (a Lambda function's longest run)
   */
  callTimeoutMs?: number | undefined;
}

/**
 * An MCP server's tools, connected; `close` ends the connection (and the server's process, for a
 * command).
 *
 * @example
 * ```ts
 * const { tools, close }: McpTools = await connectMcpTools({ url }, {});
 * ```
 */
export interface McpTools {
  tools: Tool[];
  /** A property, not a method: it may be taken off the object (`const { tools, close } = …`). */
  close: () => Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 900_000;
const STDERR_TAIL_CHARS = 2_000;

/**
 * Connects to an MCP server and gives its tools (all, or those in `include`) as Legion tools.
 * Throws an InfrastructureError (`McpServerUnavailable`) when the server cannot be started or
 * reached or does not list its tools in time, and a ConfigurationError when `include` names a tool
 * it does not offer; in both cases nothing is left running.
 *
 * @example
 * ```ts
 * const { tools, close } = await connectMcpTools({ command: 'node', args: ['server.js'] }, { include: ['add'] });
 * const sum = await tools[0]!.call({ a: 2, b: 3 }, { signal: AbortSignal.timeout(30_000), idempotencyKey: 'step-1' }); // '5'
 * await close();
 * ```
 */
export async function connectMcpTools(source: McpServerSource, options: McpToolsOptions): Promise<McpTools> {
  const connection = openTransport(source);
  const client = new Client({ name: options.clientName ?? 'legion', version: '1.0.0' });
  const offered = await listToolsOrFail(client, connection, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  const selected = selectTools(offered, options.include);
  if (!Array.isArray(selected)) {
    await client.close();
    throw new ConfigurationError([`MCP server ${connection.label} offers no tool named ${selected.missing.join(', ')}; it offers: ${offered.map((tool) => tool.name).join(', ') || 'none'}`]);
  }
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  return { tools: selected.map((tool) => toLegionTool(client, tool, callTimeoutMs)), close: () => client.close() };
}

interface OpenedTransport {
  transport: Transport;
  /** The command line or the URL, without credentials: for messages. */
  label: string;
  /** What the server wrote to stderr lately (a stdio server's reason for dying), or ''. */
  stderrTail(): string;
}

function openTransport(source: McpServerSource): OpenedTransport {
  return 'url' in source ? openHttp(source.url) : openStdio(source);
}

/**
 * The SDK's stdio transport, but closing twice waits for the same end: the Client closes the
 * transport by itself (without waiting) when initialization fails, and a second plain close would
 * return at once while the child is still alive.
 */
class StdioTransportClosingOnce extends StdioClientTransport {
  private closing: Promise<void> | undefined;

  public override close(): Promise<void> {
    this.closing ??= super.close();
    return this.closing;
  }
}

function openStdio(source: Extract<McpServerSource, { command: string }>): OpenedTransport {
  // Piped rather than inherited so that a server dying at start can say why in our error.
  const transport = new StdioTransportClosingOnce({ command: source.command, args: source.args, env: source.env, cwd: source.cwd, stderr: 'pipe' });
  let tail = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-STDERR_TAIL_CHARS);
  });
  return { transport, label: `\`${[source.command, ...(source.args ?? [])].join(' ')}\``, stderrTail: () => tail.trim() };
}

function openHttp(url: string): OpenedTransport {
  const parsed = parseUrl(url);
  const label = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  // fetch refuses a URL with credentials in it, so they travel as the header they stand for.
  const authorization = parsed.username || parsed.password ? basicAuthorization(parsed) : undefined;
  parsed.username = '';
  parsed.password = '';
  const requestInit = authorization ? { headers: { Authorization: authorization } } : undefined;
  return { transport: new StreamableHTTPClientTransport(parsed, { requestInit }), label, stderrTail: () => '' };
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    // Not echoed: a malformed URL may still hold a token.
    throw new ConfigurationError(['an MCP server url is not a valid URL']);
  }
}

function basicAuthorization(url: URL): string {
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

async function listToolsOrFail(client: Client, connection: OpenedTransport, timeoutMs: number): Promise<McpTool[]> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    await client.connect(connection.transport, { signal: deadline, timeout: timeoutMs });
    return await listAllTools(client, deadline, timeoutMs);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw unavailable(connection, deadline.aborted ? `no answer within ${timeoutMs} ms` : messageOf(error), error);
  }
}

async function listAllTools(client: Client, signal: AbortSignal, timeoutMs: number): Promise<McpTool[]> {
  const tools: McpTool[] = [];
  let cursor: string | undefined;
  // A server that keeps handing out cursors runs into the deadline rather than looping forever.
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor }, { signal, timeout: timeoutMs });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

function unavailable(connection: OpenedTransport, reason: string, cause: unknown): InfrastructureError {
  const stderr = connection.stderrTail();
  const said = stderr ? `; it wrote to stderr: ${stderr}` : '';
  return new InfrastructureError('McpServerUnavailable', `MCP server ${connection.label} is unavailable: ${reason}${said}`, { cause });
}

function selectTools(offered: McpTool[], include: readonly string[] | undefined): McpTool[] | { missing: string[] } {
  if (include === undefined) return offered;
  const names = new Set(offered.map((tool) => tool.name));
  const missing = include.filter((name) => !names.has(name));
  if (missing.length > 0) return { missing };
  return offered.filter((tool) => include.includes(tool.name));
}

function toLegionTool(client: Client, tool: McpTool, callTimeoutMs: number): Tool {
  return {
    spec: { name: tool.name, description: tool.description ?? tool.title ?? `The ${tool.name} tool.`, inputSchema: tool.inputSchema },
    async call(input, context) {
      const result = await client.callTool({ name: tool.name, arguments: input }, undefined, { signal: context.signal, timeout: callTimeoutMs });
      const text = resultText(result as CallToolResult);
      // The server's own words go back to the model, which may fix its input and try again.
      if (result.isError === true) throw new Error(text || `MCP tool ${tool.name} failed without saying why`);
      return text;
    },
  };
}

function resultText(result: CallToolResult): string {
  const texts = result.content.map((item) => (item.type === 'text' ? item.text : `[${item.type}]`));
  const hasText = result.content.some((item) => item.type === 'text');
  if (!hasText && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return texts.join('\n');
}

/** With the cause's message too: fetch's own is only 'fetch failed'. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
