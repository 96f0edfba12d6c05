/**
 * BedrockModel against a real BedrockRuntimeClient.
 *
 * STAND-IN SERVICE: the Amazon Bedrock service itself cannot run here, so this file starts a local
 * HTTP server on 127.0.0.1 that speaks the Bedrock Runtime Converse API
 * (`POST /model/{modelId}/converse`, JSON in and out, errors typed by the `x-amzn-errortype`
 * header). The server is a test double for the service only: the SDK client, its request handler,
 * serialisation, signing, error parsing and deserialisation are the real ones.
 *
 * The server speaks HTTP/2 in clear text (node:http2): the default request handler of
 * `BedrockRuntimeClient` is `NodeHttp2Handler`, so that is what the client sends in a Lambda too,
 * and an HTTP/1.1 server only gets "Protocol error" from it.
 */
import { type Http2ServerRequest, type Http2ServerResponse, type Http2Server, type ServerHttp2Session, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError, InfrastructureThrottledError, ModelInvocationError } from '../../functions/core/errors.ts';
import { BedrockModel } from '../../functions/models/bedrock-model.ts';
import type { ModelRequest } from '../../functions/models/model-provider.ts';

interface RecordedRequest {
  method: string;
  path: string;
  headers: Http2ServerRequest['headers'];
  body: unknown;
}

interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

const MODEL_IDS = {
  fast: 'anthropic.claude-3-haiku-20240307-v1:0',
  balanced: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
  deep: 'test.deep-model-v1:0',
};

function converseReply(text: string, usage = { inputTokens: 42, outputTokens: 7 }): CannedResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: 'end_turn',
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 12 },
    }),
  };
}

function errorReply(status: number, type: string, message: string): CannedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': type },
    body: JSON.stringify({ message }),
  };
}

function modelRequest(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    modelTier: 'fast',
    system: 'You are a telecom billing specialist.',
    prompt: 'Customer request: I was charged twice.',
    maxTokens: 321,
    script: { kind: 'answer', agentId: 'billing', request: 'I was charged twice.', instruction: 'Answer.' },
    ...overrides,
  };
}

describe('Class: BedrockModel', () => {
  let server: Http2Server;
  const sessions = new Set<ServerHttp2Session>();
  let endpoint: string;
  let client: BedrockRuntimeClient;
  const received: RecordedRequest[] = [];
  let nextResponse: CannedResponse = converseReply('unused');

  beforeAll(async () => {
    // The stand-in for the Bedrock Runtime service (see the comment at the top of this file).
    server = createServer((request: Http2ServerRequest, response: Http2ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        received.push({
          method: request.method,
          path: request.url,
          headers: request.headers,
          body: text ? (JSON.parse(text) as unknown) : undefined,
        });
        response.writeHead(nextResponse.status, nextResponse.headers ?? {});
        response.end(nextResponse.body);
      });
    });
    server.on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  });

  beforeEach(() => {
    received.length = 0;
    client = new BedrockRuntimeClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCALTESTONLY', secretAccessKey: 'local-test-secret-not-real' },
      maxAttempts: 1,
    });
  });

  afterEach(() => {
    client.destroy();
  });

  describe('Method: converse', () => {
    it('sends a Converse request for the model of the tier, with system prompt, user message and limits', async () => {
      // Prepare
      nextResponse = converseReply('A refund is on its way.');
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      await model.converse(modelRequest());

      // Assess
      expect(received).toHaveLength(1);
      const [sent] = received;
      expect(sent?.method).toBe('POST');
      expect(sent?.path).toBe(`/model/${encodeURIComponent(MODEL_IDS.fast)}/converse`);
      expect(sent?.headers['content-type']).toMatch(/^application\/json/);
      expect(sent?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDLOCALTESTONLY\/\d{8}\/us-east-1\/bedrock\//);
      expect(sent?.body).toEqual({
        system: [{ text: 'You are a telecom billing specialist.' }],
        messages: [{ role: 'user', content: [{ text: 'Customer request: I was charged twice.' }] }],
        inferenceConfig: { maxTokens: 321, temperature: 0 },
      });
    });

    it.each([
      ['fast', MODEL_IDS.fast],
      ['balanced', MODEL_IDS.balanced],
      ['deep', MODEL_IDS.deep],
    ] as const)('calls the model configured for the %s tier', async (tier, modelId) => {
      // Prepare
      nextResponse = converseReply('ok');
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const reply = await model.converse(modelRequest({ modelTier: tier }));

      // Assess
      expect(decodeURIComponent(received[0]?.path ?? '')).toBe(`/model/${modelId}/converse`);
      expect(reply.modelId).toBe(modelId);
    });

    it('returns the reply text, the model id and the token usage', async () => {
      // Prepare
      nextResponse = converseReply('A refund is on its way.', { inputTokens: 120, outputTokens: 30 });
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const reply = await model.converse(modelRequest());

      // Assess
      expect(reply).toEqual({
        text: 'A refund is on its way.',
        modelId: MODEL_IDS.fast,
        usage: { inputTokens: 120, outputTokens: 30 },
        stopReason: 'end_turn',
      });
    });

    it('joins several text blocks of one reply', async () => {
      // Prepare
      nextResponse = {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          output: { message: { role: 'assistant', content: [{ text: 'First part. ' }, { text: 'Second part.' }] } },
          stopReason: 'end_turn',
          usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
          metrics: { latencyMs: 1 },
        }),
      };
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const reply = await model.converse(modelRequest());

      // Assess
      expect(reply.text).toBe('First part. Second part.');
    });

    it.each([
      [400, 'ValidationException', 'The provided model identifier is invalid.'],
      [403, 'AccessDeniedException', "You don't have access to the model with the specified model ID."],
      [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'],
      [404, 'ResourceNotFoundException', 'Could not resolve the foundation model from the provided model identifier.'],
    ])('turns a %i %s (Legion refused, not the agent failing) into an InfrastructureError naming the model and tier', async (status, type, message) => {
      // Prepare
      nextResponse = errorReply(status, type, message);
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const error = await model.converse(modelRequest({ modelTier: 'deep' })).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(InfrastructureError);
      expect(error).not.toBeInstanceOf(InfrastructureThrottledError);
      const infrastructureError = error as InfrastructureError;
      expect(infrastructureError.name).toBe('InfrastructureError');
      expect(infrastructureError.originalName).toBe(type);
      expect(infrastructureError.message).toBe(`Infrastructure failure (${type}): Bedrock refused the call to model ${MODEL_IDS.deep} (tier deep): ${message}`);
      expect((infrastructureError.cause as Error).name).toBe(type);
      expect(received).toHaveLength(1);
    });

    it.each([
      [429, 'ThrottlingException', 'Too many requests, please wait before trying again.'],
      [503, 'ServiceUnavailableException', 'The service is unavailable.'],
      [408, 'ModelTimeoutException', 'The model took too long.'],
    ])('keeps a %i %s (the model failing to answer) a ModelInvocationError, the agent failure the state machines retry', async (status, type, message) => {
      // Prepare
      nextResponse = errorReply(status, type, message);
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const error = await model.converse(modelRequest()).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelInvocationError);
      expect((error as ModelInvocationError).message).toBe(`Model ${MODEL_IDS.fast} failed: ${message}`);
      expect(((error as ModelInvocationError).cause as Error).name).toBe(type);
    });

    it('turns a 500 InternalServerException into a ModelInvocationError naming the model', async () => {
      // Prepare
      nextResponse = errorReply(500, 'InternalServerException', 'Something went wrong on our side.');
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const error = await model.converse(modelRequest({ modelTier: 'balanced' })).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelInvocationError);
      expect((error as ModelInvocationError).modelId).toBe(MODEL_IDS.balanced);
      expect((error as ModelInvocationError).context).toEqual({
        modelId: MODEL_IDS.balanced,
        reason: 'Something went wrong on our side.',
      });
      expect(((error as ModelInvocationError).cause as Error).name).toBe('InternalServerException');
    });

    it('turns an empty reply into a ModelInvocationError with the stop reason', async () => {
      // Prepare
      nextResponse = {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          output: { message: { role: 'assistant', content: [] } },
          stopReason: 'max_tokens',
          usage: { inputTokens: 10, outputTokens: 0, totalTokens: 10 },
          metrics: { latencyMs: 3 },
        }),
      };
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act
      const error = await model.converse(modelRequest()).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelInvocationError);
      expect((error as ModelInvocationError).modelId).toBe(MODEL_IDS.fast);
      expect((error as ModelInvocationError).message).toContain('empty reply (stopReason max_tokens)');
    });

    it('turns a reply whose only text is empty into a ModelInvocationError', async () => {
      // Prepare
      nextResponse = converseReply('');
      const model = new BedrockModel({ modelIds: MODEL_IDS, client });

      // Act & Assess
      await expect(model.converse(modelRequest())).rejects.toThrow(
        new ModelInvocationError(MODEL_IDS.fast, 'empty reply (stopReason end_turn)'),
      );
    });
  });
});
