/**
 * apiKeyFromSecret against a TEST DOUBLE of the Secrets Manager client (Secrets Manager cannot run
 * here): what it asks for, and what it makes of the answer. The role's permission to ask is tested
 * with the synthesized stack (test/infra/openai-compatible-stack.test.ts).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { createModelProvider } from '../../functions/agents/agent-dependencies.ts';
import { apiKeyFromSecret } from '../../functions/models/api-key-secret.ts';
import { OpenAiCompatibleModel } from '../../functions/models/openai-compatible-model.ts';
import { agentConfigOf, loadTelecomTeam } from '../support/telecom.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:legion/model-api-key-AbCdEf';

/** TEST DOUBLE: answers GetSecretValue with `secretString`, recording the inputs. */
function secretsClient(secretString: string | undefined): { client: Pick<SecretsManagerClient, 'send'>; inputs: unknown[] } {
  const inputs: unknown[] = [];
  const client = { send: (command: { input: unknown }) => { inputs.push(command.input); return Promise.resolve({ SecretString: secretString }); } };
  return { client, inputs };
}

describe('Function: apiKeyFromSecret', () => {
  it("reads the secret's text, trimmed", async () => {
    const { client, inputs } = secretsClient('  sk-live-123\n');
    await expect(apiKeyFromSecret(SECRET_ARN, client)()).resolves.toBe('sk-live-123');
    expect(inputs).toEqual([{ SecretId: SECRET_ARN }]);
  });

  it('refuses a secret without text, naming it', async () => {
    const { client } = secretsClient(undefined);
    await expect(apiKeyFromSecret(SECRET_ARN, client)()).rejects.toThrow(`secret ${SECRET_ARN} holds no text (SecretString) to use as the key`);
  });
});

describe('Function: createModelProvider', () => {
  it('gives an OpenAI-compatible model for openai-compatible settings', async () => {
    const config = agentConfigOf(await loadTelecomTeam(), 'billing');
    const model = createModelProvider({ ...config, model: { provider: 'openai-compatible', modelIds: { fast: 'a', balanced: 'b', deep: 'c' }, baseUrl: 'https://llm.example.com/v1' } });
    expect(model).toBeInstanceOf(OpenAiCompatibleModel);
  });
});
