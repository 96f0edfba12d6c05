/**
 * The API key of an OpenAI-compatible server, read from AWS Secrets Manager: a deployed agent gets
 * the secret's ARN in its environment (never the key), and its role may read that secret only.
 *
 * @example
 * ```ts
 * new OpenAiCompatibleModel({ baseUrl, modelIds, apiKey: apiKeyFromSecret('arn:aws:secretsmanager:us-east-1:123456789012:secret:legion-model-key-AbCdEf') });
 * ```
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Reads the key (the secret's SecretString, trimmed) each time it is called; OpenAiCompatibleModel calls it once. */
export function apiKeyFromSecret(secretArn: string, client: Pick<SecretsManagerClient, 'send'> = new SecretsManagerClient({})): () => Promise<string> {
  return async () => {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const key = secret.SecretString?.trim();
    if (!key) throw new Error(`secret ${secretArn} holds no text (SecretString) to use as the key`);
    return key;
  };
}
