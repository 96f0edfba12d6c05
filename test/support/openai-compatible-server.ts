/**
 * Test support: a local HTTP server that speaks the OpenAI Chat Completions API
 * (`POST <base>/chat/completions`), as Ollama, vLLM or LM Studio would, for tests of the
 * OpenAI-compatible provider. It records each request and answers with what the test scripts: a
 * queue of canned responses first (a 429 with Retry-After, a 500, a 400, a body that is not JSON, a
 * reply with tool calls), then its responder. The default responder plays a helpful model for Legion's prompts: it picks the
 * first specialist a supervisor offers, and otherwise answers with a line that names this server.
 *
 * @example
 * ```ts
 * const server = await startOpenAiCompatibleServer();
 * server.enqueue({ status: 429, headers: { 'retry-after': '0' } });
 * const model = new OpenAiCompatibleModel({ baseUrl: server.baseUrl, modelIds });
 * await server.close();
 * ```
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tool call as the API sends it, in a reply and in the assistant turns of a request. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null; tool_calls?: ChatToolCall[]; tool_call_id?: string }[];
  max_tokens?: number;
  temperature?: number;
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  response_format?: { type: string; json_schema?: { name: string; schema: unknown; strict?: boolean } };
}

export interface RecordedRequest {
  body: ChatRequest;
  authorization: string | undefined;
}

/** A canned response: a status with a JSON body (or raw text). */
export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
  /** Wait this long before answering (a slow or hung server). @default 0 */
  delayMs?: number;
  /** Quote the request's Authorization header in the body, as a careless proxy's error page might. @default false */
  echoAuthorization?: boolean;
}

export interface OpenAiCompatibleServer {
  /** `http://127.0.0.1:PORT/v1` */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Answers the next requests with these, in order, before the responder. */
  enqueue(...responses: CannedResponse[]): void;
  close(): Promise<void>;
}

/** What the server says in every default answer, so a test can find it in a run's output. */
export const SERVER_SIGNATURE = 'answered by the local openai-compatible test server';

export type Responder = (request: ChatRequest) => string;

/** The prompt of a request (its last user message). */
export function promptOf(request: ChatRequest): string {
  return request.messages.filter((message) => message.role === 'user').at(-1)?.content ?? '';
}

/** Picks the first specialist a supervisor's classify prompt lists; answers anything else in one line. */
export const helpfulResponder: Responder = (request) => {
  const prompt = promptOf(request);
  if (prompt.includes('{"intents"')) {
    const first = /^- ([\w-]+):/m.exec(prompt)?.[1];
    return `Here is the routing:\n\`\`\`json\n{"intents": [${first ? JSON.stringify(first) : ''}]}\n\`\`\``;
  }
  return `${SERVER_SIGNATURE} (${request.model}): ${prompt.split('\n').at(-1)?.slice(0, 80) ?? ''}`;
};

export function chatCompletion(model: string, content: string, usage = { prompt_tokens: 12, completion_tokens: 7 }): unknown {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** A reply that asks for tools (finish_reason `tool_calls`); `content` is null unless the model also says something. */
export function toolCallCompletion(model: string, toolCalls: ChatToolCall[], options: { content?: string; usage?: { prompt_tokens: number; completion_tokens: number } } = {}): unknown {
  const usage = options.usage ?? { prompt_tokens: 12, completion_tokens: 7 };
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: options.content ?? null, tool_calls: toolCalls }, finish_reason: 'tool_calls' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

export async function startOpenAiCompatibleServer(responder: Responder = helpfulResponder): Promise<OpenAiCompatibleServer> {
  const requests: RecordedRequest[] = [];
  const queue: CannedResponse[] = [];
  const server: Server = createServer((request, response) => {
    void answer(request, response);
  });
  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
    } catch {
      // The client gave up (its timeout) before sending the whole body: nothing to answer.
      return;
    }
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      send(response, { status: 404, json: { error: { message: `no route ${request.method ?? ''} ${request.url ?? ''}` } } });
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
    requests.push({ body, authorization: request.headers.authorization });
    const next = queue.shift() ?? { status: 200, json: chatCompletion(body.model, responder(body)) };
    const canned = next.echoAuthorization ? { ...next, text: `proxy error; your request had Authorization: ${request.headers.authorization ?? 'none'}` } : next;
    if (canned.delayMs) await new Promise((resolve) => setTimeout(resolve, canned.delayMs));
    if (!response.destroyed) send(response, canned);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...responses) => queue.push(...responses),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => { resolve(); });
    }),
  };
}

function send(response: ServerResponse, canned: CannedResponse): void {
  const text = canned.text ?? JSON.stringify(canned.json ?? {});
  response.writeHead(canned.status, { 'content-type': canned.text === undefined ? 'application/json' : 'text/plain', ...canned.headers });
  response.end(text);
}
