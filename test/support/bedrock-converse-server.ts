/**
 * Test support: a local HTTP/2 server (cleartext, as the SDK's HTTP/2 handler speaks to an http://
 * endpoint) that answers the Bedrock Runtime Converse operation
 * (`POST /model/{modelId}/converse`, restJson1) as Bedrock would, so that tests can point the real
 * `@aws-sdk/client-bedrock-runtime` at it. It records each request and answers with what the test
 * scripts: a queue of canned responses (an AWS error is a status, an `x-amzn-errortype` header and a
 * JSON message; a reply may carry `toolUse` blocks), then a reply naming the model asked for.
 *
 * @example
 * ```ts
 * const server = await startBedrockConverseServer();
 * const client = new BedrockRuntimeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials });
 * server.enqueue(awsError(429, 'ThrottlingException', 'Too many requests'));
 * ```
 */
import { type Http2ServerRequest, type Http2ServerResponse, type Http2Session, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A content block as Converse sends and receives it (the kinds Legion uses). */
export interface ConverseContentBlock {
  text?: string;
  toolUse?: { toolUseId: string; name: string; input: unknown };
  toolResult?: { toolUseId: string; content: { text?: string }[]; status?: string };
}

export interface ConverseRequestRecord {
  modelId: string;
  body: {
    system?: { text: string }[];
    messages: { role: string; content: ConverseContentBlock[] }[];
    inferenceConfig?: { maxTokens?: number; temperature?: number };
    toolConfig?: { tools: { toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }[] };
    outputConfig?: { textFormat?: { type: string; structure: { jsonSchema: { name?: string; schema: string } } } };
  };
}

export interface CannedAwsResponse {
  status: number;
  headers?: Record<string, string>;
  json: unknown;
  /** Wait this long before answering (a slow model). @default 0 */
  delayMs?: number;
}

export interface BedrockConverseServer {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  requests: ConverseRequestRecord[];
  enqueue(...responses: CannedAwsResponse[]): void;
  close(): Promise<void>;
}

/** An AWS JSON error as Bedrock Runtime sends it. */
export function awsError(status: number, type: string, message: string): CannedAwsResponse {
  return { status, headers: { 'x-amzn-errortype': type }, json: { message } };
}

/** A successful Converse reply. */
export function converseReply(text: string, usage = { inputTokens: 21, outputTokens: 8 }): CannedAwsResponse {
  return converseContentReply([{ text }], 'end_turn', usage);
}

/** A Converse reply with these content blocks (tool uses, text) and this stop reason. */
export function converseContentReply(content: ConverseContentBlock[], stopReason: string, usage = { inputTokens: 21, outputTokens: 8 }): CannedAwsResponse {
  return {
    status: 200,
    json: {
      output: { message: { role: 'assistant', content } },
      stopReason,
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 5 },
    },
  };
}

export async function startBedrockConverseServer(): Promise<BedrockConverseServer> {
  const requests: ConverseRequestRecord[] = [];
  const queue: CannedAwsResponse[] = [];
  const sessions = new Set<Http2Session>();
  const server = createServer((request, response) => {
    void answer(request, response);
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  async function answer(request: Http2ServerRequest, response: Http2ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const match = /^\/model\/([^/]+)\/converse$/.exec(request.url);
    if (request.method !== 'POST' || !match?.[1]) {
      send(response, awsError(404, 'UnknownOperationException', `no route ${request.method} ${request.url}`));
      return;
    }
    const modelId = decodeURIComponent(match[1]);
    requests.push({ modelId, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ConverseRequestRecord['body'] });
    const canned = queue.shift() ?? converseReply(`answered by the local Bedrock test server (${modelId})`);
    if (canned.delayMs) await new Promise((resolve) => setTimeout(resolve, canned.delayMs));
    if (!response.stream.destroyed) send(response, canned);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...responses) => queue.push(...responses),
    close: () => new Promise((resolve) => {
      for (const session of sessions) session.destroy();
      server.close(() => { resolve(); });
    }),
  };
}

function send(response: Http2ServerResponse, canned: CannedAwsResponse): void {
  response.writeHead(canned.status, { 'content-type': 'application/json', ...canned.headers });
  response.end(JSON.stringify(canned.json));
}
