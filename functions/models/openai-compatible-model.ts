/**
 * Any server that speaks the OpenAI Chat Completions API behind the model provider interface:
 * OpenAI itself, Ollama, vLLM, LM Studio, LiteLLM. Each model tier maps to a model name on that
 * server.
 *
 * Errors, after the retries of {@link retryWithBackoff} (429, 408, 5xx, a timeout, a dropped
 * connection; `Retry-After` honoured):
 * - the server still busy or failing (429, 5xx, a timeout, an empty reply) is the agent's failure,
 *   `ModelInvocationError`, which the state machines retry and then route to the pattern's
 *   graceful path, as with Bedrock;
 * - the server refusing the request (400, 401, 403, 404, 422: a wrong model name, a missing API key),
 *   no server at the URL, or a reply that is not a Chat Completions response is Legion's setup
 *   failing, `InfrastructureError`, which fails the run: never a run that quietly answers less.
 * Every message names the provider, the base URL, the model and the tier; never the API key.
 *
 * Tools: the request's `tools` go out as `function` tools, an assistant turn as a message with
 * `tool_calls`, and each tool result as a `tool` message (the API has no error flag, so an error's
 * text starts `Error: `). The reply's `tool_calls` come back as `toolUses`; their arguments must be
 * a JSON object, or the reply is invalid (`InfrastructureError`, as above).
 *
 * Structured output: a request's `responseFormat` goes out as `response_format` of type
 * `json_schema` (the one form OpenAI, Ollama, vLLM, LM Studio and LiteLLM all take; LM Studio takes
 * no other), not `strict`, as Legion's schemas leave optional fields out. A server that refuses it
 * (400 or 422) is asked again without it, and in text from then on (the step reads and checks the
 * reply either way, and re-asks).
 *
 * @example
 * ```ts
 * const model = new OpenAiCompatibleModel({
 *   baseUrl: 'http://127.0.0.1:11434/v1',
 *   modelIds: { fast: 'llama3.2', balanced: 'llama3.2', deep: 'qwen2.5:14b' },
 * });
 * const reply = await model.converse({ modelTier: 'fast', system, prompt, maxTokens: 300, script });
 * ```
 */
import { z } from 'zod';
import type { ModelTier } from '../core/contract.ts';
import { ConfigurationError, InfrastructureError, ModelInvocationError } from '../core/errors.ts';
import { StructuredOutput } from './structured-output.ts';
import type { ConversationMessage, ModelProvider, ModelReply, ModelRequest, ResponseFormat, StopReason, ToolSpec, ToolUse } from './model-provider.ts';
import { type AttemptFailure, type RetryOptions, retryWithBackoff } from './retry-with-backoff.ts';

/** The provider's name in messages, the CLI and configuration. */
export const OPENAI_COMPATIBLE = 'openai-compatible';

export interface OpenAiCompatibleModelOptions {
  /** The API's base URL, up to and including its version: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`. */
  baseUrl: string;
  /** The model name on that server for each tier. */
  modelIds: Record<ModelTier, string>;
  /**
   * Sent as a bearer token: the key, or a function that fetches it (once, on the first call: in AWS,
   * from Secrets Manager). @default none (local servers need none)
   */
  apiKey?: string | (() => Promise<string>) | undefined;
  /** One attempt ends after this. @default 120000 */
  timeoutMs?: number | undefined;
  /** @default 4 attempts, 250 ms doubling, 8 s at most */
  retry?: RetryOptions | undefined;
  /** Hears of each retry (logs, counts). @default none */
  onRetry?: ((reason: string, attemptNumber: number, delayMs: number) => void) | undefined;
  /** @default the global fetch */
  fetch?: typeof fetch | undefined;
  /** Hears of a model that refused structured output (it is then asked in text). @default none */
  onStructuredOutputRefused?: ((modelId: string, reason: string) => void) | undefined;
}

/** HTTP statuses worth another attempt: a request timeout, too early, too many requests, the server failing. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Statuses of a server refusing the request as such: the one answer that may mean it takes no `response_format`. */
const FORMAT_REFUSED_STATUS = new Set([400, 422]);

/** Socket errors that mean no server answers at that address (as opposed to a connection dropped mid-way). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

const ToolCallSchema = z.object({
  id: z.string().min(1),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const ChatCompletionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullish(), tool_calls: z.array(ToolCallSchema).nullish() }), finish_reason: z.string().nullish() }))
    .min(1),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() }).nullish(),
});

/** A response of the server that is not a success; `retryAfterMs` from its `Retry-After`. */
class HttpStatusError extends Error {
  public constructor(
    public readonly status: number,
    public readonly statusText: string,
    public readonly body: string,
    public readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status} ${statusText}`);
  }
}

/** A 2xx response whose body is not JSON. */
class NotJsonError extends Error {}

export class OpenAiCompatibleModel implements ModelProvider {
  private readonly endpoint: string;
  private readonly fetch: typeof fetch;
  /** The key once known (a fetched key is fetched once per instance, i.e. per cold start). */
  private apiKey: Promise<string | undefined> | undefined;
  private readonly structured: StructuredOutput;

  /** @throws {@link ConfigurationError} for a base URL that is not http(s) or carries credentials */
  public constructor(private readonly options: OpenAiCompatibleModelOptions) {
    const problem = baseUrlProblem(options.baseUrl);
    if (problem) throw new ConfigurationError([`${OPENAI_COMPATIBLE} base URL ${problem}`]);
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.structured = new StructuredOutput(options.onStructuredOutputRefused);
  }

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const modelId = request.modelId ?? this.options.modelIds[request.modelTier];
    const where = `${OPENAI_COMPATIBLE} server ${this.options.baseUrl}, model ${modelId} (tier ${request.modelTier})`;
    const format = this.structured.formatFor(modelId, request);
    const body = JSON.stringify({
      model: modelId,
      messages: [
        { role: 'system', content: request.system },
        { role: 'user', content: request.prompt },
        ...(request.messages ?? []).flatMap(chatMessages),
      ],
      max_tokens: request.maxTokens,
      temperature: 0,
      ...(request.tools?.length ? { tools: request.tools.map(chatTool) } : {}),
      ...(format ? { response_format: chatResponseFormat(format) } : {}),
    });
    const deadline = request.deadline ?? Infinity;
    const apiKey = await this.resolveApiKey();
    let payload: unknown;
    try {
      payload = await retryWithBackoff(() => this.post(body, deadline, apiKey), classifyFailure, { ...this.options.retry, deadline }, (error, attempt, delayMs) => {
        this.options.onRetry?.(describeFailure(error), attempt, delayMs);
      });
    } catch (error) {
      if (format && error instanceof HttpStatusError && FORMAT_REFUSED_STATUS.has(error.status)) {
        // A prompt too long fails again without the format, and is reported as itself.
        const reason = `${error.message}${error.body ? `: ${error.body}` : ''}`;
        return this.structured.withoutFormat(modelId, reason, () => this.converse({ ...request, responseFormat: undefined }));
      }
      throw finalError(error, where, modelId);
    }
    return replyOf(payload, where, modelId);
  }

  /** A key that cannot be fetched fails the call as Legion's setup, not the model (a fetch that failed is tried again next call). */
  private resolveApiKey(): Promise<string | undefined> {
    const { apiKey } = this.options;
    if (typeof apiKey !== 'function') return Promise.resolve(apiKey);
    this.apiKey ??= apiKey().catch((error: unknown) => {
      this.apiKey = undefined;
      throw new InfrastructureError('ModelApiKeyUnavailable', `the ${OPENAI_COMPATIBLE} API key could not be read: ${(error as Error).message}`, { cause: error });
    });
    return this.apiKey;
  }

  private async post(body: string, deadline: number, apiKey: string | undefined): Promise<unknown> {
    // One attempt ends at its own timeout or at the step's deadline, whichever comes first.
    const timeoutMs = Math.min(this.options.timeoutMs ?? 120_000, deadline - Date.now());
    if (timeoutMs <= 0) throw new DOMException('the step has no time left for another model call', 'TimeoutError');
    const response = await this.fetch(this.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new HttpStatusError(response.status, response.statusText, redact(text, apiKey).slice(0, 500), retryAfterMs(response.headers.get('retry-after')));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new NotJsonError(`answered ${response.status} with a body that is not JSON: ${redact(text, apiKey).slice(0, 200)}`);
    }
  }
}

/** A proxy may echo the request's headers in its error page: keep the key out of messages and logs. */
function redact(text: string, apiKey: string | undefined): string {
  return apiKey ? text.split(apiKey).join('[redacted]') : text;
}

function classifyFailure(error: unknown): AttemptFailure {
  if (error instanceof HttpStatusError) return RETRYABLE_STATUS.has(error.status) ? { retry: true, afterMs: error.retryAfterMs } : { retry: false };
  return { retry: isTimeout(error) || (isNetworkError(error) && !isBlockedPort(error)) };
}

/** fetch refuses some ports outright (the "bad ports" of the Fetch standard: 6000, 6665, ...): no attempt can succeed. */
function isBlockedPort(error: unknown): boolean {
  return isNetworkError(error) && ((error as Error).cause as { message?: string } | undefined)?.message === 'bad port';
}

/** The error a caller sees once the retries are over, naming where it happened. */
function finalError(error: unknown, where: string, modelId: string): Error {
  if (error instanceof HttpStatusError) {
    const said = error.body ? `: ${error.body}` : '';
    if (RETRYABLE_STATUS.has(error.status)) return new ModelInvocationError(modelId, `${where} answered ${error.status} ${error.statusText}${said}`, { cause: error });
    const hint = error.status === 401 || error.status === 403 ? ' (check the API key)' : error.status === 404 ? ' (check the base URL and the model name)' : '';
    return new InfrastructureError(`ModelRequestRefused`, `${where} refused the call with ${error.status} ${error.statusText}${hint}${said}`, { cause: error });
  }
  if (error instanceof NotJsonError) return new InfrastructureError('ModelResponseInvalid', `${where} ${error.message}`, { cause: error });
  if (isTimeout(error)) return new ModelInvocationError(modelId, `${where} did not answer in time`, { cause: error });
  if (isBlockedPort(error)) {
    return new InfrastructureError('ModelEndpointUnreachable', `${where} cannot be reached: fetch refuses to connect to that port (a "bad port" of the Fetch standard); run the server on another port`, { cause: error });
  }
  if (isNetworkError(error) && UNREACHABLE_CODES.has(causeCode(error) ?? '')) {
    return new InfrastructureError('ModelEndpointUnreachable', `${where} cannot be reached: ${describeFailure(error)}; is the server running at that URL?`, { cause: error });
  }
  if (isNetworkError(error)) return new ModelInvocationError(modelId, `${where} dropped the connection: ${describeFailure(error)}`, { cause: error });
  return new ModelInvocationError(modelId, `${where} failed: ${describeFailure(error)}`, { cause: error });
}

/** One turn after the prompt as Chat Completions messages: the results of one user turn are a `tool` message each. */
function chatMessages(message: ConversationMessage): unknown[] {
  if (message.role === 'assistant') {
    return [{
      role: 'assistant',
      content: message.text || null,
      // Left out when empty: some servers refuse an empty list.
      ...(message.toolUses.length > 0
        ? { tool_calls: message.toolUses.map((toolUse) => ({ id: toolUse.id, type: 'function', function: { name: toolUse.name, arguments: JSON.stringify(toolUse.input) } })) }
        : {}),
    }];
  }
  if ('text' in message) return [{ role: 'user', content: message.text }];
  return message.toolResults.map((result) => ({
    role: 'tool',
    tool_call_id: result.toolUseId,
    // The API has no error flag for a tool result: the model learns of the failure from the text.
    content: result.isError ? `Error: ${result.content}` : result.content,
  }));
}

function chatResponseFormat(format: ResponseFormat): unknown {
  return { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: false } };
}

function chatTool(tool: ToolSpec): unknown {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.inputSchema } };
}

/** A reply Legion cannot read: the server is not the API it was configured as, which is Legion's setup failing. */
function invalidResponse(where: string, what: string): InfrastructureError {
  return new InfrastructureError('ModelResponseInvalid', `${where} answered with ${what}`);
}

function replyOf(payload: unknown, where: string, modelId: string): ModelReply {
  const parsed = ChatCompletionSchema.safeParse(payload);
  if (!parsed.success) throw invalidResponse(where, `something that is not a Chat Completions response (${parsed.error.issues[0]?.message ?? 'unexpected shape'})`);
  const [choice] = parsed.data.choices;
  const text = choice?.message.content ?? '';
  const finishReason = choice?.finish_reason ?? 'unknown';
  const toolUses = (choice?.message.tool_calls ?? []).map((call) => toolUseOf(call, finishReason, where, modelId));
  if (!text && toolUses.length === 0) throw new ModelInvocationError(modelId, `${where} gave an empty reply (finish_reason ${finishReason})`);
  const usage = parsed.data.usage;
  return {
    text,
    modelId: parsed.data.model ?? modelId,
    usage: { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 },
    stopReason: stopReasonOf(finishReason),
    ...(toolUses.length ? { toolUses } : {}),
  };
}

/**
 * A tool call of the reply; its arguments are a JSON text that must hold an object (the tool's input).
 * Arguments cut short by the token limit are the model's failure (retried like one), not the server's.
 */
function toolUseOf(call: z.infer<typeof ToolCallSchema>, finishReason: string, where: string, modelId: string): ToolUse {
  let input: unknown;
  try {
    input = JSON.parse(call.function.arguments) as unknown;
  } catch {
    input = undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    if (finishReason === 'length') throw new ModelInvocationError(modelId, `${where} ran out of tokens in the arguments of a call of tool ${call.function.name}`);
    throw invalidResponse(where, `a call of tool ${call.function.name} whose arguments are not a JSON object (finish_reason ${finishReason}): ${call.function.arguments.slice(0, 200)}`);
  }
  return { id: call.id, name: call.function.name, input: input as Record<string, unknown> };
}

function stopReasonOf(finishReason: string): StopReason {
  if (finishReason === 'tool_calls') return 'tool_use';
  if (finishReason === 'length') return 'max_tokens';
  return 'end_turn';
}

/** `Retry-After` in seconds or as an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/**
 * fetch's own failures, with the socket's reason as the cause: `fetch failed` (no connection, or it
 * broke before the response), `terminated` (it broke while the body came).
 */
function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated');
}

function causeCode(error: unknown): string | undefined {
  return ((error as Error).cause as { code?: string } | undefined)?.code;
}

/**
 * What is wrong with a base URL, if anything: not http(s), or credentials in it (they would end up
 * in error messages; the key is given apart: LEGION_MODEL_API_KEY locally, a secret in AWS).
 *
 * @example
 * ```ts
 * baseUrlProblem('http://127.0.0.1:11434/v1'); // undefined
 * baseUrlProblem('http://user:pw@host/v1'); // 'must not carry a user name or password (...)'
 * ```
 */
export function baseUrlProblem(baseUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return `must be an http(s) URL such as http://127.0.0.1:11434/v1, got "${baseUrl}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http(s) URL such as http://127.0.0.1:11434/v1, got "${baseUrl}"`;
  if (url.username || url.password) return 'must not carry a user name or password (give the API key apart: LEGION_MODEL_API_KEY locally, -c legion:modelApiKeySecret=<secret> in AWS)';
  return undefined;
}

function describeFailure(error: unknown): string {
  if (error instanceof HttpStatusError) return error.message;
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ? `${error.message} (${cause.code})` : cause?.message ? `${error.message} (${cause.message})` : error.message;
}
