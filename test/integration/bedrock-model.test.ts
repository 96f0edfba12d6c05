/**
 * The Bedrock provider with the real `@aws-sdk/client-bedrock-runtime`, pointed at a local server
 * that answers Converse as Bedrock does (test/support/bedrock-converse-server.ts): the request the
 * SDK sends, the text and usage read back, tool uses over two rounds, throttling retried by the SDK,
 * and Bedrock's errors mapped. Only Bedrock itself is stood in for: it cannot run here.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError, ModelInvocationError } from '../../functions/core/errors.ts';
import { BedrockModel } from '../../functions/models/bedrock-model.ts';
import { runAgentStep } from '../../functions/agents/agent.ts';
import type { Plan } from '../../functions/core/agent-contract.ts';
import { loadTeamFile } from '../../functions/core/team.ts';
import { agentDependencies } from '../support/agent-doubles.ts';
import { agentConfigOf } from '../support/telecom.ts';
import { BILLING_REQUEST, BILLING_TOOLS, CLASSIFY_SCHEMA, INTENTS_FORMAT } from '../support/model-requests.ts';
import { type BedrockConverseServer, awsError, converseContentReply, converseReply, startBedrockConverseServer } from '../support/bedrock-converse-server.ts';

const MODEL_IDS = { fast: 'anthropic.claude-3-haiku-20240307-v1:0', balanced: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', deep: 'anthropic.claude-opus-4-6-v1' };
const REQUEST = BILLING_REQUEST;
const TOOLS = BILLING_TOOLS;
/** TOOLS as Converse's toolConfig carries them. */
const TOOL_CONFIG = { tools: TOOLS.map((tool) => ({ toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.inputSchema } } })) };

describe('Class: BedrockModel', () => {
  let server: BedrockConverseServer;
  let model: BedrockModel;

  beforeAll(async () => {
    server = await startBedrockConverseServer();
    const client = new BedrockRuntimeClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      // The SDK's own retries (standard mode: 3 attempts, backoff with jitter).
      maxAttempts: 3,
    });
    model = new BedrockModel({ modelIds: MODEL_IDS, client });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
  });

  describe('Method: converse', () => {
    it("calls Converse on the tier's model (an inference profile id here) with the system prompt, the prompt, max tokens and temperature 0", async () => {
      await model.converse(REQUEST);

      expect(server.requests).toEqual([
        {
          modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          body: {
            system: [{ text: REQUEST.system }],
            messages: [{ role: 'user', content: [{ text: REQUEST.prompt }] }],
            inferenceConfig: { maxTokens: 300, temperature: 0 },
          },
        },
      ]);
    });

    it("calls the agent's own model when the request names one", async () => {
      await model.converse({ ...REQUEST, modelId: 'anthropic.claude-sonnet-4-6' });

      expect(server.requests.map((request) => request.modelId)).toEqual(['anthropic.claude-sonnet-4-6']);
    });

    it('returns the text and the token usage Bedrock reports', async () => {
      server.enqueue(converseReply('Your plan changed on the 3rd.', { inputTokens: 55, outputTokens: 11 }));

      const reply = await model.converse(REQUEST);

      expect(reply).toEqual({ text: 'Your plan changed on the 3rd.', modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', usage: { inputTokens: 55, outputTokens: 11 }, stopReason: 'end_turn' });
    });

    it('offers the tools, returns the tool uses, then sends the uses and their results back and returns the final answer', async () => {
      server.enqueue(converseContentReply([
        { text: 'Let me look that up.' },
        { toolUse: { toolUseId: 'tooluse_inv', name: 'lookup_invoice', input: { invoiceId: 'INV-1234' } } },
        { toolUse: { toolUseId: 'tooluse_plan', name: 'lookup_plan', input: { customerId: 'C-77', since: '2025-01-01' } } },
      ], 'tool_use', { inputTokens: 70, outputTokens: 30 }));

      const first = await model.converse({ ...REQUEST, tools: TOOLS });

      expect(first).toEqual({
        text: 'Let me look that up.',
        modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        usage: { inputTokens: 70, outputTokens: 30 },
        stopReason: 'tool_use',
        toolUses: [
          { id: 'tooluse_inv', name: 'lookup_invoice', input: { invoiceId: 'INV-1234' } },
          { id: 'tooluse_plan', name: 'lookup_plan', input: { customerId: 'C-77', since: '2025-01-01' } },
        ],
      });
      expect(server.requests[0]?.body.toolConfig).toEqual(TOOL_CONFIG);
      expect(server.requests[0]?.body.messages).toHaveLength(1);

      server.enqueue(converseReply('INV-1234 is 42.00 EUR and paid; your plan could not be looked up.', { inputTokens: 150, outputTokens: 19 }));
      const second = await model.converse({
        ...REQUEST,
        tools: TOOLS,
        messages: [
          { role: 'assistant', text: first.text, toolUses: first.toolUses ?? [] },
          {
            role: 'user',
            toolResults: [
              { toolUseId: 'tooluse_inv', content: '{"amount":"42.00 EUR","status":"paid"}', isError: false },
              { toolUseId: 'tooluse_plan', content: 'customer C-77 not found', isError: true },
            ],
          },
        ],
      });

      expect(server.requests[1]?.body).toEqual({
        system: [{ text: REQUEST.system }],
        messages: [
          { role: 'user', content: [{ text: REQUEST.prompt }] },
          {
            role: 'assistant',
            content: [
              { text: 'Let me look that up.' },
              { toolUse: { toolUseId: 'tooluse_inv', name: 'lookup_invoice', input: { invoiceId: 'INV-1234' } } },
              { toolUse: { toolUseId: 'tooluse_plan', name: 'lookup_plan', input: { customerId: 'C-77', since: '2025-01-01' } } },
            ],
          },
          {
            role: 'user',
            content: [
              // No status on a success: some models behind Converse refuse the field.
              { toolResult: { toolUseId: 'tooluse_inv', content: [{ text: '{"amount":"42.00 EUR","status":"paid"}' }] } },
              { toolResult: { toolUseId: 'tooluse_plan', content: [{ text: 'customer C-77 not found' }], status: 'error' } },
            ],
          },
        ],
        inferenceConfig: { maxTokens: 300, temperature: 0 },
        toolConfig: TOOL_CONFIG,
      });
      expect(second).toEqual({
        text: 'INV-1234 is 42.00 EUR and paid; your plan could not be looked up.',
        modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        usage: { inputTokens: 150, outputTokens: 19 },
        stopReason: 'end_turn',
      });
    });

    it('returns a reply with only a tool use and no text (no empty reply), and sends that turn back without a blank text block', async () => {
      server.enqueue(converseContentReply([{ toolUse: { toolUseId: 'tooluse_1', name: 'lookup_invoice', input: { invoiceId: 'INV-9' } } }], 'tool_use'));

      const reply = await model.converse({ ...REQUEST, tools: TOOLS });

      expect(reply.text).toBe('');
      expect(reply.stopReason).toBe('tool_use');
      expect(reply.toolUses).toEqual([{ id: 'tooluse_1', name: 'lookup_invoice', input: { invoiceId: 'INV-9' } }]);

      await model.converse({
        ...REQUEST,
        tools: TOOLS,
        messages: [
          { role: 'assistant', text: reply.text, toolUses: reply.toolUses ?? [] },
          { role: 'user', toolResults: [{ toolUseId: 'tooluse_1', content: 'paid', isError: false }] },
        ],
      });

      expect(server.requests[1]?.body.messages[1]).toEqual({ role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'lookup_invoice', input: { invoiceId: 'INV-9' } } }] });
    });

    it.each([
      ['max_tokens', 'max_tokens'],
      ['stop_sequence', 'end_turn'],
      ['guardrail_intervened', 'end_turn'],
    ] as const)('maps the stop reason %s to %s', async (converseStopReason, stopReason) => {
      server.enqueue(converseContentReply([{ text: 'Your bill' }], converseStopReason));

      const reply = await model.converse(REQUEST);

      expect(reply.stopReason).toBe(stopReason);
    });

    it('maps a tool use whose input is not an object to an InfrastructureError (ModelResponseInvalid) naming the model', async () => {
      server.enqueue(converseContentReply([{ toolUse: { toolUseId: 'tooluse_1', name: 'lookup_invoice', input: 'INV-9' } }], 'tool_use'));

      const error = await model.converse({ ...REQUEST, tools: TOOLS }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe('ModelResponseInvalid');
      expect((error as Error).message).toMatch(/Bedrock model us\.anthropic\.claude-sonnet-4-5-20250929-v1:0 \(tier balanced\) answered with a tool use that has no id, no name or an input that is not an object/);
    });

    it('lets the SDK retry throttling, then returns the answer', async () => {
      server.enqueue(awsError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.'));

      const reply = await model.converse(REQUEST);

      expect(reply.text).toContain('answered by the local Bedrock test server');
      expect(server.requests).toHaveLength(2);
    });

    it("maps throttling that outlasts the SDK's retries to a ModelInvocationError naming the model", async () => {
      server.enqueue(...Array.from({ length: 3 }, () => awsError(429, 'ThrottlingException', 'Too many requests')));

      const failure = model.converse(REQUEST);

      await expect(failure).rejects.toThrow(ModelInvocationError);
      await expect(failure).rejects.toThrow(/Model us\.anthropic\.claude-sonnet-4-5-20250929-v1:0 failed: Too many requests/);
      expect(server.requests).toHaveLength(3);
    });

    it.each([
      [400, 'ValidationException', 'Invocation of model ID anthropic.claude-sonnet-4-6 with on-demand throughput is not supported.'],
      [403, 'AccessDeniedException', 'You do not have access to the model with the specified model ID.'],
      [404, 'ResourceNotFoundException', 'Model not found.'],
    ])('maps a %d %s to an InfrastructureError at once, naming the model and tier', async (status, type, message) => {
      server.enqueue(awsError(status, type, message));

      const error = await model.converse(REQUEST).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).originalName).toBe(type);
      expect((error as Error).message).toContain(`Bedrock refused the call to model us.anthropic.claude-sonnet-4-5-20250929-v1:0 (tier balanced): ${message}`);
      expect(server.requests).toHaveLength(1);
    });

    it("stops waiting at the step's deadline with a ModelInvocationError, not a timed-out Lambda", async () => {
      // The reply comes after 3 s: were the deadline ignored, the call would succeed with it.
      server.enqueue({ ...converseReply('too late'), delayMs: 3000 });

      const failure = model.converse({ ...REQUEST, deadline: Date.now() + 300 });

      await expect(failure).rejects.toThrow(ModelInvocationError);
      await expect(failure).rejects.toThrow(/did not answer before the step's deadline \(tier balanced\)/);
    });

    it('asks for a structured reply as outputConfig.textFormat, the JSON schema as text, beside the tools', async () => {
      await model.converse({ ...REQUEST, tools: TOOLS, responseFormat: INTENTS_FORMAT });

      const { outputConfig, toolConfig } = server.requests[0]?.body ?? {};
      expect(outputConfig?.textFormat?.type).toBe('json_schema');
      expect(outputConfig?.textFormat?.structure.jsonSchema.name).toBe('intents');
      expect(JSON.parse(outputConfig?.textFormat?.structure.jsonSchema.schema ?? 'null')).toEqual(INTENTS_FORMAT.schema);
      expect(toolConfig).toEqual(TOOL_CONFIG);
    });

    it('asks a model that refuses structured output (ValidationException) again without it, says so once, and asks that model in text from then on', async () => {
      const refusals: string[] = [];
      const client = new BedrockRuntimeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
      const textOnly = new BedrockModel({ modelIds: MODEL_IDS, client, onStructuredOutputRefused: (modelId, reason) => refusals.push(`${modelId}: ${reason}`) });
      server.enqueue(awsError(400, 'ValidationException', 'This model does not support structured output.'), converseReply('{"intents": ["billing"]}'));

      const first = await textOnly.converse({ ...REQUEST, responseFormat: INTENTS_FORMAT });
      await textOnly.converse({ ...REQUEST, responseFormat: INTENTS_FORMAT });
      await textOnly.converse({ ...REQUEST, modelTier: 'deep', responseFormat: INTENTS_FORMAT });

      expect(first.text).toBe('{"intents": ["billing"]}');
      expect(server.requests.map((request) => [request.modelId, request.body.outputConfig !== undefined])).toEqual([
        [MODEL_IDS.balanced, true], [MODEL_IDS.balanced, false], [MODEL_IDS.balanced, false], [MODEL_IDS.deep, true],
      ]);
      expect(refusals).toEqual([`${MODEL_IDS.balanced}: This model does not support structured output.`]);
      client.destroy();
    });

    it('maps a ValidationException that stays without structured output to an InfrastructureError naming the model', async () => {
      server.enqueue(awsError(400, 'ValidationException', 'The provided model identifier is invalid.'), awsError(400, 'ValidationException', 'The provided model identifier is invalid.'));

      const error = await model.converse({ ...REQUEST, modelId: 'anthropic.no-such-model', responseFormat: INTENTS_FORMAT }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toMatch(/Bedrock refused the call to model anthropic.no-such-model \(tier balanced\): The provided model identifier is invalid/);
      expect(server.requests.map((request) => request.body.outputConfig !== undefined)).toEqual([true, false]);
      // Asking without it did not help: the model keeps being asked for structured output.
      await model.converse({ ...REQUEST, modelId: 'anthropic.no-such-model', responseFormat: INTENTS_FORMAT });
      expect(server.requests.map((request) => request.body.outputConfig !== undefined)).toEqual([true, false, true]);
    });

    it('maps an empty reply to a ModelInvocationError naming the stop reason', async () => {
      server.enqueue({ status: 200, json: { output: { message: { role: 'assistant', content: [] } }, stopReason: 'max_tokens', usage: { inputTokens: 1, outputTokens: 0, totalTokens: 1 } } });

      await expect(model.converse(REQUEST)).rejects.toThrow(/empty reply \(stopReason max_tokens\)/);
    });
  });
});

describe('Feature: a reply that cannot be used is asked again once (the classify step on the local Converse server)', () => {
  let server: BedrockConverseServer;
  let client: BedrockRuntimeClient;
  beforeAll(async () => {
    server = await startBedrockConverseServer();
    client = new BedrockRuntimeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('re-asks a reply that breaks the schema, with the reply and the problem, and routes by the second reply', async () => {
    server.enqueue(converseReply('{"intents": "billing"}', { inputTokens: 30, outputTokens: 5 }), converseReply('{"intents": ["billing"]}', { inputTokens: 60, outputTokens: 6 }));
    const team = await loadTeamFile('teams/telecom-support.yaml');
    const supervisor = agentConfigOf(team, 'supervisor');
    const event = { step: 'classify', taskId: 't-reask', stateName: 'Classify', input: { request: 'my bill is wrong', conversation: [] } };

    const plan = (await runAgentStep(event, supervisor, agentDependencies(new BedrockModel({ modelIds: MODEL_IDS, client })))) as Plan;

    expect(plan.intents).toEqual(['billing']);
    expect(plan.usage).toEqual({ inputTokens: 90, outputTokens: 11 });
    expect(server.requests).toHaveLength(2);
    // Both calls ask for the schema of the step's reply: the roster's workers, nothing else.
    const schemas = server.requests.map((request) => JSON.parse(request.body.outputConfig?.textFormat?.structure.jsonSchema.schema ?? 'null') as unknown);
    expect(schemas).toEqual([CLASSIFY_SCHEMA, CLASSIFY_SCHEMA]);
    const turns = server.requests[1]?.body.messages ?? [];
    expect(turns.slice(-2)).toEqual([
      { role: 'assistant', content: [{ text: '{"intents": "billing"}' }] },
      { role: 'user', content: [{ text: expect.stringMatching(/^That reply could not be used \(Output of agent supervisor rejected: intents: .+\)\. Reply again with only the JSON object asked for\.$/) as unknown }] },
    ]);
  });
});
