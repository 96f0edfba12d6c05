/**
 * The OpenAI-compatible provider against a local HTTP server that speaks the Chat Completions API
 * (test/support/openai-compatible-server.ts): the request it sends, the reply and usage it reads,
 * tool calls over two rounds, the failures it retries and the errors it maps, and
 * `legion run --model openai-compatible` on it.
 * Nothing is mocked but the model itself: the server is real HTTP on 127.0.0.1, answering as a
 * scripted stand-in for Ollama, vLLM or OpenAI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError, ModelInvocationError } from '../../functions/core/errors.ts';
import { loadTeamFile } from '../../functions/core/team.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { BILLING_REQUEST, BILLING_TOOLS, CLASSIFY_SCHEMA, INTENTS_FORMAT } from '../support/model-requests.ts';
import { OpenAiCompatibleModel, type OpenAiCompatibleModelOptions } from '../../functions/models/openai-compatible-model.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { runAgentStep } from '../../functions/agents/agent.ts';
import type { Plan } from '../../functions/core/agent-contract.ts';
import { agentDependencies } from '../support/agent-doubles.ts';
import { agentConfigOf } from '../support/telecom.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { type OpenAiCompatibleServer, SERVER_SIGNATURE, chatCompletion, startOpenAiCompatibleServer, toolCallCompletion } from '../support/openai-compatible-server.ts';

const MODEL_IDS = { fast: 'small-model', balanced: 'mid-model', deep: 'big-model' };
const REQUEST = BILLING_REQUEST;
const TOOLS = BILLING_TOOLS;
/** Retries without waiting, so that the tests of retries take no time. */
const NO_WAIT = { retry: { baseDelayMs: 1, maxDelayMs: 5 } };

describe('Class: OpenAiCompatibleModel', () => {
  let server: OpenAiCompatibleServer;
  const model = (options: Partial<OpenAiCompatibleModelOptions> = {}): OpenAiCompatibleModel =>
    new OpenAiCompatibleModel({ baseUrl: server.baseUrl, modelIds: MODEL_IDS, ...NO_WAIT, ...options });

  beforeAll(async () => {
    server = await startOpenAiCompatibleServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
  });

  describe('Method: converse', () => {
    it("sends the tier's model, the system and user messages, max_tokens and temperature 0, and the API key as a bearer token", async () => {
      await model({ apiKey: 'sk-test-123' }).converse(REQUEST);

      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.body).toEqual({
        model: 'mid-model',
        messages: [
          { role: 'system', content: REQUEST.system },
          { role: 'user', content: REQUEST.prompt },
        ],
        max_tokens: 300,
        temperature: 0,
      });
      expect(server.requests[0]?.authorization).toBe('Bearer sk-test-123');
    });

    it('fetches an API key given as a function once, and sends it on every call', async () => {
      let fetched = 0;
      const keyed = model({ apiKey: () => { fetched += 1; return Promise.resolve('sk-from-secret'); } });
      await keyed.converse(REQUEST);
      await keyed.converse(REQUEST);

      expect(fetched).toBe(1);
      expect(server.requests.map((request) => request.authorization)).toEqual(['Bearer sk-from-secret', 'Bearer sk-from-secret']);
    });

    it('fails closed when the API key cannot be fetched (InfrastructureError), and fetches it again on the next call', async () => {
      let attempts = 0;
      const keyed = model({ apiKey: () => { attempts += 1; return attempts === 1 ? Promise.reject(new Error('AccessDeniedException: not authorized')) : Promise.resolve('sk-second'); } });

      const error = await keyed.converse(REQUEST).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe('ModelApiKeyUnavailable');
      expect((error as Error).message).toMatch(/API key could not be read: AccessDeniedException/);
      expect(server.requests).toHaveLength(0);

      await keyed.converse(REQUEST);
      expect(server.requests.map((request) => request.authorization)).toEqual(['Bearer sk-second']);
    });

    it("returns the server's text, its model and its token usage", async () => {
      server.enqueue({ status: 200, json: chatCompletion('mid-model-2025', 'Your plan changed on the 3rd.', { prompt_tokens: 41, completion_tokens: 9 }) });

      const reply = await model().converse(REQUEST);

      expect(reply).toEqual({ text: 'Your plan changed on the 3rd.', modelId: 'mid-model-2025', usage: { inputTokens: 41, outputTokens: 9 }, stopReason: 'end_turn' });
    });

    it('offers the tools, returns the tool calls, then sends the calls and their results back and returns the final answer', async () => {
      server.enqueue({
        status: 200,
        json: toolCallCompletion('mid-model', [
          { id: 'call_inv', type: 'function', function: { name: 'lookup_invoice', arguments: '{"invoiceId":"INV-1234"}' } },
          { id: 'call_plan', type: 'function', function: { name: 'lookup_plan', arguments: '{"customerId":"C-77","since":"2025-01-01"}' } },
        ], { usage: { prompt_tokens: 60, completion_tokens: 25 } }),
      });

      const first = await model().converse({ ...REQUEST, tools: TOOLS });

      // No content at all beside the tool calls: that is no empty reply.
      expect(first).toEqual({
        text: '',
        modelId: 'mid-model',
        usage: { inputTokens: 60, outputTokens: 25 },
        stopReason: 'tool_use',
        toolUses: [
          { id: 'call_inv', name: 'lookup_invoice', input: { invoiceId: 'INV-1234' } },
          { id: 'call_plan', name: 'lookup_plan', input: { customerId: 'C-77', since: '2025-01-01' } },
        ],
      });
      const toolsOnTheWire = [
        { type: 'function', function: { name: 'lookup_invoice', description: 'The amount and status of an invoice, by its id (INV-1234).', parameters: TOOLS[0]?.inputSchema } },
        { type: 'function', function: { name: 'lookup_plan', description: "A customer's plan and its changes.", parameters: TOOLS[1]?.inputSchema } },
      ];
      expect(server.requests[0]?.body.tools).toEqual(toolsOnTheWire);
      expect(server.requests[0]?.body.messages).toHaveLength(2);

      server.enqueue({ status: 200, json: chatCompletion('mid-model', 'INV-1234 is 42.00 EUR and paid; your plan could not be looked up.', { prompt_tokens: 140, completion_tokens: 18 }) });
      const second = await model().converse({
        ...REQUEST,
        tools: TOOLS,
        messages: [
          { role: 'assistant', text: first.text, toolUses: first.toolUses ?? [] },
          {
            role: 'user',
            toolResults: [
              { toolUseId: 'call_inv', content: '{"amount":"42.00 EUR","status":"paid"}', isError: false },
              { toolUseId: 'call_plan', content: 'customer C-77 not found', isError: true },
            ],
          },
        ],
      });

      expect(server.requests[1]?.body).toEqual({
        model: 'mid-model',
        messages: [
          { role: 'system', content: REQUEST.system },
          { role: 'user', content: REQUEST.prompt },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_inv', type: 'function', function: { name: 'lookup_invoice', arguments: '{"invoiceId":"INV-1234"}' } },
              { id: 'call_plan', type: 'function', function: { name: 'lookup_plan', arguments: '{"customerId":"C-77","since":"2025-01-01"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_inv', content: '{"amount":"42.00 EUR","status":"paid"}' },
          { role: 'tool', tool_call_id: 'call_plan', content: 'Error: customer C-77 not found' },
        ],
        max_tokens: 300,
        temperature: 0,
        tools: toolsOnTheWire,
      });
      expect(second).toEqual({
        text: 'INV-1234 is 42.00 EUR and paid; your plan could not be looked up.',
        modelId: 'mid-model',
        usage: { inputTokens: 140, outputTokens: 18 },
        stopReason: 'end_turn',
      });
    });

    it("sends an assistant turn's text along with its tool calls, and returns text the model says beside its calls", async () => {
      server.enqueue({ status: 200, json: toolCallCompletion('mid-model', [{ id: 'call_1', type: 'function', function: { name: 'lookup_invoice', arguments: '{"invoiceId":"INV-9"}' } }], { content: 'Let me check that invoice.' }) });

      const reply = await model().converse({
        ...REQUEST,
        tools: TOOLS,
        messages: [
          { role: 'assistant', text: 'First the plan.', toolUses: [{ id: 'call_0', name: 'lookup_plan', input: { customerId: 'C-1' } }] },
          { role: 'user', toolResults: [{ toolUseId: 'call_0', content: 'plan: unlimited', isError: false }] },
        ],
      });

      expect(reply.text).toBe('Let me check that invoice.');
      expect(reply.toolUses).toEqual([{ id: 'call_1', name: 'lookup_invoice', input: { invoiceId: 'INV-9' } }]);
      expect(server.requests[0]?.body.messages.slice(2)).toEqual([
        { role: 'assistant', content: 'First the plan.', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'lookup_plan', arguments: '{"customerId":"C-1"}' } }] },
        { role: 'tool', tool_call_id: 'call_0', content: 'plan: unlimited' },
      ]);
    });

    it.each([
      ['length', 'max_tokens'],
      ['stop', 'end_turn'],
      ['content_filter', 'end_turn'],
    ] as const)('maps finish_reason %s to the stop reason %s', async (finishReason, stopReason) => {
      server.enqueue({ status: 200, json: { model: 'mid-model', choices: [{ message: { content: 'Your bill' }, finish_reason: finishReason }] } });

      const reply = await model().converse(REQUEST);

      expect(reply.stopReason).toBe(stopReason);
    });

    it.each([
      ['not JSON at all', '{"invoiceId": "INV-12', /a call of tool lookup_invoice whose arguments are not a JSON object \(finish_reason tool_calls\): \{"invoiceId": "INV-12$/],
      ['JSON that is not an object', '["INV-12"]', /a call of tool lookup_invoice whose arguments are not a JSON object \(finish_reason tool_calls\): \["INV-12"\]$/],
    ])('maps tool call arguments that are %s to an InfrastructureError (ModelResponseInvalid) naming the provider and model, without retrying', async (_name, args, message) => {
      server.enqueue({ status: 200, json: toolCallCompletion('mid-model', [{ id: 'call_1', type: 'function', function: { name: 'lookup_invoice', arguments: args } }]) });

      const error = await model().converse({ ...REQUEST, tools: TOOLS }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe('ModelResponseInvalid');
      expect((error as Error).message).toMatch(/openai-compatible server http:\/\/127\.0\.0\.1:\d+\/v1, model mid-model \(tier balanced\) answered with /);
      expect((error as Error).message).toMatch(message);
      expect(server.requests).toHaveLength(1);
    });

    it('maps tool call arguments cut short by the token limit (finish_reason length) to a ModelInvocationError, the agent\'s failure', async () => {
      const completion = toolCallCompletion('mid-model', [{ id: 'call_1', type: 'function', function: { name: 'lookup_invoice', arguments: '{"invoiceId": "INV-1' } }]) as { choices: object[] };
      server.enqueue({ status: 200, json: { ...completion, choices: completion.choices.map((choice) => ({ ...choice, finish_reason: 'length' })) } });

      const error = await model().converse({ ...REQUEST, tools: TOOLS }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ModelInvocationError);
      expect((error as Error).message).toMatch(/ran out of tokens in the arguments of a call of tool lookup_invoice/);
    });

    it('retries throttling (429 with Retry-After) and a 500, then returns the answer', async () => {
      const retries: string[] = [];
      server.enqueue({ status: 429, headers: { 'retry-after': '0' }, json: { error: { message: 'slow down' } } }, { status: 500, json: { error: { message: 'boom' } } });

      const reply = await model({ onRetry: (reason) => retries.push(reason) }).converse(REQUEST);

      expect(reply.text).toContain(SERVER_SIGNATURE);
      expect(server.requests).toHaveLength(3);
      expect(retries).toEqual(['HTTP 429 Too Many Requests', 'HTTP 500 Internal Server Error']);
    });

    it('gives up on a server that stays unavailable after the bounded attempts, with a ModelInvocationError naming it', async () => {
      server.enqueue(...Array.from({ length: 3 }, () => ({ status: 503, json: { error: { message: 'overloaded' } } })));

      const failure = model({ retry: { maxAttempts: 3, baseDelayMs: 1 } }).converse(REQUEST);

      await expect(failure).rejects.toThrow(ModelInvocationError);
      await expect(failure).rejects.toThrow(/openai-compatible server http:\/\/127\.0\.0\.1:\d+\/v1, model mid-model \(tier balanced\) answered 503 Service Unavailable: .*overloaded/);
      expect(server.requests).toHaveLength(3);
    });

    it('waits what the server asks in Retry-After (seconds), then retries', async () => {
      const waits: number[] = [];
      server.enqueue({ status: 429, headers: { 'retry-after': '2' }, json: { error: { message: 'slow down' } } });

      const reply = await model({ retry: { random: () => 0, sleep: (ms) => { waits.push(ms); return Promise.resolve(); } } }).converse(REQUEST);

      expect(reply.text).toContain(SERVER_SIGNATURE);
      expect(waits).toEqual([2000]);
    });

    it('stops retrying at the step deadline, and gives up with a ModelInvocationError', async () => {
      // Two only: a third request would be answered (200) and the test would fail.
      server.enqueue(...Array.from({ length: 2 }, () => ({ status: 503, headers: { 'retry-after': '1' }, json: {} })));

      const failure = model({ retry: { maxAttempts: 4 } }).converse({ ...REQUEST, deadline: Date.now() + 1500 });

      await expect(failure).rejects.toThrow(ModelInvocationError);
      // The second wait (1 s after the first) would end past the deadline.
      expect(server.requests).toHaveLength(2);
    });

    it('keeps the API key out of the error when the server quotes it back', async () => {
      server.enqueue({ status: 502, echoAuthorization: true, json: {} }, { status: 502, echoAuthorization: true, json: {} });

      const error = await model({ apiKey: 'sk-secret-789', retry: { maxAttempts: 2, baseDelayMs: 1 } }).converse(REQUEST).catch((caught: unknown) => caught);

      expect((error as Error).message).toContain('Authorization: Bearer [redacted]');
      expect((error as Error).message).not.toContain('sk-secret-789');
    });

    it('refuses a base URL with credentials in it, before any call', () => {
      expect(() => new OpenAiCompatibleModel({ baseUrl: 'http://user:pw@127.0.0.1/v1', modelIds: MODEL_IDS })).toThrow(/base URL must not carry a user name or password/);
    });

    it.each([
      [400, /refused the call with 400 Bad Request: .*unknown parameter/],
      [401, /refused the call with 401 Unauthorized \(check the API key\)/],
      [404, /refused the call with 404 Not Found \(check the base URL and the model name\)/],
    ])('maps a %d to an InfrastructureError at once (no retry), never quoting the API key', async (status, message) => {
      server.enqueue({ status, json: { error: { message: 'unknown parameter' } } });

      const error = await model({ apiKey: 'sk-secret-456' }).converse(REQUEST).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe('ModelRequestRefused');
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('sk-secret-456');
      expect(server.requests).toHaveLength(1);
    });

    it.each([
      ['a body that is not JSON', { status: 200, text: '<html>proxy login</html>' }, /answered 200 with a body that is not JSON: <html>proxy login/],
      ['JSON of another API', { status: 200, json: { output: 'hello' } }, /answered with something that is not a Chat Completions response/],
    ])('maps %s to an InfrastructureError (ModelResponseInvalid)', async (_name, canned, message) => {
      server.enqueue(canned);

      const error = await model().converse(REQUEST).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe('ModelResponseInvalid');
      expect((error as Error).message).toMatch(message);
    });

    it('asks for a structured reply as response_format json_schema (not strict), beside the tools', async () => {
      await model().converse({ ...REQUEST, tools: TOOLS, responseFormat: INTENTS_FORMAT });

      expect(server.requests[0]?.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'intents', schema: INTENTS_FORMAT.schema, strict: false } });
      expect(server.requests[0]?.body.tools).toHaveLength(2);
    });

    it('asks a server that refuses response_format (400) again without it, says so once, and asks that model in text from then on', async () => {
      const refusals: string[] = [];
      const textOnly = model({ onStructuredOutputRefused: (modelId, reason) => refusals.push(`${modelId}: ${reason}`) });
      server.enqueue({ status: 400, json: { error: { message: "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model." } } }, { status: 200, json: chatCompletion('mid-model', '{"intents": ["billing"]}') });

      const first = await textOnly.converse({ ...REQUEST, responseFormat: INTENTS_FORMAT });
      await textOnly.converse({ ...REQUEST, responseFormat: INTENTS_FORMAT });
      await textOnly.converse({ ...REQUEST, modelTier: 'deep', responseFormat: INTENTS_FORMAT });

      expect(first.text).toBe('{"intents": ["billing"]}');
      expect(server.requests.map((request) => [request.body.model, request.body.response_format !== undefined])).toEqual([
        ['mid-model', true], ['mid-model', false], ['mid-model', false], ['big-model', true],
      ]);
      expect(refusals).toEqual([expect.stringMatching(/^mid-model: HTTP 400 Bad Request: .*response_format/) as unknown]);
    });

    it('maps a 400 that is not about response_format, sent again without it, to an InfrastructureError naming the server', async () => {
      server.enqueue({ status: 400, json: { error: { message: 'max_tokens is too large' } } }, { status: 400, json: { error: { message: 'max_tokens is too large' } } });

      const error = await model().converse({ ...REQUEST, responseFormat: INTENTS_FORMAT }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toMatch(/refused the call with 400 Bad Request: .*max_tokens is too large/);
      expect(server.requests).toHaveLength(2);
    });

    it('keeps asking a model for structured output after a 400 that asking without it did not cure', async () => {
      const refusals: string[] = [];
      const kept = model({ onStructuredOutputRefused: (modelId) => refusals.push(modelId) });
      server.enqueue({ status: 400, json: { error: { message: 'prompt is too long' } } }, { status: 400, json: { error: { message: 'prompt is too long' } } });

      await expect(kept.converse({ ...REQUEST, responseFormat: INTENTS_FORMAT })).rejects.toThrow(/prompt is too long/);
      await kept.converse({ ...REQUEST, responseFormat: INTENTS_FORMAT });

      expect(server.requests.map((request) => request.body.response_format !== undefined)).toEqual([true, false, true]);
      expect(refusals).toEqual([]);
    });

    it('maps an empty reply to a ModelInvocationError naming the finish reason', async () => {
      server.enqueue({ status: 200, json: { model: 'mid-model', choices: [{ message: { content: null }, finish_reason: 'length' }] } });

      await expect(model().converse(REQUEST)).rejects.toThrow(/gave an empty reply \(finish_reason length\)/);
    });

    it('ends an attempt that takes too long, retries it, then gives up with a ModelInvocationError', async () => {
      server.enqueue({ status: 200, delayMs: 2000, json: {} }, { status: 200, delayMs: 2000, json: {} });

      const failure = model({ timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1 } }).converse(REQUEST);

      await expect(failure).rejects.toThrow(ModelInvocationError);
      await expect(failure).rejects.toThrow(/did not answer in time/);
      expect(server.requests).toHaveLength(2);
    });

    it('maps a port fetch refuses to use to an InfrastructureError (ModelEndpointUnreachable) saying so, without retrying', async () => {
      const retries: string[] = [];
      const error = await new OpenAiCompatibleModel({ baseUrl: 'http://127.0.0.1:6000/v1', modelIds: MODEL_IDS, ...NO_WAIT, onRetry: (reason) => retries.push(reason) }).converse(REQUEST).catch((caught: unknown) => caught);

      expect(retries).toEqual([]);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toMatch(/cannot be reached: fetch refuses to connect to that port/);
    });

    it('maps a server that is not there to an InfrastructureError (ModelEndpointUnreachable) after its retries', async () => {
      const down = await startOpenAiCompatibleServer();
      await down.close();

      const retries: string[] = [];
      const error = await new OpenAiCompatibleModel({ baseUrl: down.baseUrl, modelIds: MODEL_IDS, ...NO_WAIT, onRetry: (reason) => retries.push(reason) }).converse(REQUEST).catch((caught: unknown) => caught);

      expect(retries).toEqual(Array.from({ length: 3 }, () => 'fetch failed (ECONNREFUSED)'));
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe('ModelEndpointUnreachable');
      expect((error as Error).message).toMatch(/cannot be reached: fetch failed \(ECONNREFUSED\); is the server running at that URL\?/);
    });
  });
});

describe('CLI: legion run --model openai-compatible', () => {
  let server: OpenAiCompatibleServer;

  beforeAll(async () => {
    server = await startOpenAiCompatibleServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("completes a supervisor-worker run with the server's answers (exit 0), saying which model it used", async () => {
    const outcome = await legionInProcess(['run', 'supervisor-worker', '--model', 'openai-compatible', '--model-base-url', server.baseUrl, '--model-id', 'fast=small-model,balanced=mid-model,deep=big-model', '--json', '--quiet']);

    expect(outcome.status, outcome.stderr).toBe(0);
    const result = JSON.parse(outcome.stdout) as RunResult;
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as { answer: string }).answer).toContain(SERVER_SIGNATURE);
    // Classify, the one worker the server routed to, Synthesize: each a request to the server.
    expect(server.requests).toHaveLength(3);
    expect(result.totals.modelCalls).toBe(3);
    expect(result.totals.inputTokens).toBe(3 * 12);
    expect(outcome.stderr).toContain(`Model: openai-compatible at ${server.baseUrl} (fast=small-model, balanced=mid-model, deep=big-model)`);
  }, 60_000);

  it("sends an agent's own model (its definition's `model`) instead of its tier's", async () => {
    const team = await loadTeamFile(PATTERNS['supervisor-worker'].exampleTeamFile);
    const supervisor = team.agents.find((agent) => agent.role === 'supervisor');
    const withOwnModel = { ...team, agents: team.agents.map((agent) => (agent === supervisor ? { ...agent, model: 'supervisor-special' } : agent)) };
    const teamFile = join(mkdtempSync(join(tmpdir(), 'legion-own-model-')), 'team.json');
    writeFileSync(teamFile, JSON.stringify(withOwnModel));
    server.requests.length = 0;

    const outcome = await legionInProcess(['run', 'supervisor-worker', '--team', teamFile, '--model', 'openai-compatible', '--model-base-url', server.baseUrl, '--model-id', 'tier-model', '--quiet']);

    expect(outcome.status, outcome.stderr).toBe(0);
    // Classify and Synthesize are the supervisor's; the worker keeps its tier's model.
    expect(server.requests.map((request) => request.body.model)).toEqual(['supervisor-special', 'tier-model', 'supervisor-special']);
  }, 60_000);

  it('sends OPENAI_API_KEY to api.openai.com only, never to another server', async () => {
    server.requests.length = 0;
    const args = ['run', 'supervisor-worker', '--model', 'openai-compatible', '--model-base-url', server.baseUrl, '--model-id', 'x', '--quiet'];
    const outcome = await legionInProcess(args, { OPENAI_API_KEY: 'sk-openai-only', LEGION_MODEL_API_KEY: '' });

    expect(outcome.status, outcome.stderr).toBe(0);
    expect(server.requests.map((request) => request.authorization)).toEqual([undefined, undefined, undefined]);
  }, 60_000);

  it('fails (exit 1) with an error naming the server when no server answers, within its bounded retries', async () => {
    const down = await startOpenAiCompatibleServer();
    await down.close();

    const outcome = await legionInProcess(['run', 'supervisor-worker', '--model', 'openai-compatible', '--model-base-url', down.baseUrl, '--model-id', 'any-model', '--quiet']);

    expect(outcome.status).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toMatch(new RegExp(`InfrastructureError: .*ModelEndpointUnreachable.*${down.baseUrl.replace(/[./]/g, '\\$&')}.*cannot be reached`));
  }, 60_000);

  it('refuses an --inject that scripts the model together with a real model (exit 2)', async () => {
    const outcome = await legionInProcess(['run', 'supervisor-worker', '--model', 'openai-compatible', '--model-base-url', server.baseUrl, '--model-id', 'x', '--inject', 'inconsistent:Classify']);

    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toMatch(/--inject scripts the model's replies, so it runs on the scripted model, not --model openai-compatible/);
  });
});

describe('Feature: a reply that cannot be used is asked again once (the classify step on the local server)', () => {
  let server: OpenAiCompatibleServer;
  beforeAll(async () => {
    server = await startOpenAiCompatibleServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('re-asks a reply without JSON, with the reply and the problem, and routes by the second reply', async () => {
    server.enqueue({ status: 200, json: chatCompletion('mid-model', 'Billing should take this one.') }, { status: 200, json: chatCompletion('mid-model', '```json\n{"intents": ["billing"]}\n```') });
    const team = await loadTeamFile('teams/telecom-support.yaml');
    const supervisor = agentConfigOf(team, 'supervisor');
    const model = new OpenAiCompatibleModel({ baseUrl: server.baseUrl, modelIds: MODEL_IDS, ...NO_WAIT });
    const event = { step: 'classify', taskId: 't-reask', stateName: 'Classify', input: { request: 'my bill is wrong', conversation: [] } };

    const plan = (await runAgentStep(event, supervisor, agentDependencies(model))) as Plan;

    expect(plan.intents).toEqual(['billing']);
    expect(plan.usage).toEqual({ inputTokens: 24, outputTokens: 14 });
    expect(server.requests).toHaveLength(2);
    // Both calls ask for the schema of the step's reply: the roster's workers, nothing else.
    expect(server.requests.map((request) => request.body.response_format?.json_schema?.schema)).toEqual([CLASSIFY_SCHEMA, CLASSIFY_SCHEMA]);
    expect(server.requests[1]?.body.messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'Billing should take this one.' },
      { role: 'user', content: 'That reply could not be used (Output of agent supervisor rejected: reply holds no JSON object). Reply again with only the JSON object asked for.' },
    ]);
  });
});
