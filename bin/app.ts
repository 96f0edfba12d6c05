/**
 * The CDK app (`cdk.json` runs it): deploys every team definition in `teams/` into one
 * environment-agnostic `LegionStack`.
 *
 * Context:
 * - `legion:modelProvider`: `bedrock` (default), `openai-compatible` or `scripted` (`cdk synth -c legion:modelProvider=scripted`).
 * - `legion:agentReservedConcurrency`: reserved concurrency of every agent whose definition sets
 *   none (`cdk deploy -c legion:agentReservedConcurrency=5`); unset by default.
 * - `legion:modelIds`: Bedrock model (or inference profile) id per tier, read by LegionStack
 *   (functions/models/model-ids.ts); unset keeps DEFAULT_MODEL_IDS. With openai-compatible, the
 *   server's model names.
 * - `legion:modelBaseUrl`: openai-compatible: the server's API base URL (required with it).
 * - `legion:modelApiKeySecret`: openai-compatible: the name or ARN of the Secrets Manager secret
 *   holding the API key; unset sends none.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { ModelProviderName } from '../lib/agent-function.ts';
import { LegionStack } from '../lib/legion-stack.ts';
import { loadTeamFile } from '../functions/core/team.ts';

const MODEL_PROVIDERS: readonly ModelProviderName[] = ['bedrock', 'openai-compatible', 'scripted'];
const teamsDir = fileURLToPath(new URL('../teams/', import.meta.url));

const app = new App();

const modelProvider = (app.node.tryGetContext('legion:modelProvider') as unknown) ?? 'bedrock';
if (typeof modelProvider !== 'string' || !MODEL_PROVIDERS.includes(modelProvider as ModelProviderName)) {
  throw new Error(`Context legion:modelProvider must be one of ${MODEL_PROVIDERS.join(', ')}; got ${JSON.stringify(modelProvider)}`);
}

const modelBaseUrl = app.node.tryGetContext('legion:modelBaseUrl') as unknown;
if (modelBaseUrl !== undefined && typeof modelBaseUrl !== 'string') throw new Error(`Context legion:modelBaseUrl must be a URL; got ${JSON.stringify(modelBaseUrl)}`);
const modelApiKeySecret = app.node.tryGetContext('legion:modelApiKeySecret') as unknown;
if (modelApiKeySecret !== undefined && (typeof modelApiKeySecret !== 'string' || modelApiKeySecret === '')) {
  throw new Error(`Context legion:modelApiKeySecret must be a Secrets Manager secret name or ARN; got ${JSON.stringify(modelApiKeySecret)}`);
}

const reserved = app.node.tryGetContext('legion:agentReservedConcurrency') as unknown;
const agentReservedConcurrency = reserved === undefined ? undefined : Number(reserved);
if (agentReservedConcurrency !== undefined && !(Number.isInteger(agentReservedConcurrency) && agentReservedConcurrency >= 1)) {
  throw new Error(`Context legion:agentReservedConcurrency must be a positive integer; got ${JSON.stringify(reserved)}`);
}

const teamFiles = (await readdir(teamsDir)).filter((file) => /\.ya?ml$/i.test(file)).sort();
if (teamFiles.length === 0) throw new Error(`No team definitions (*.yaml) in ${teamsDir}`);
const teams = await Promise.all(teamFiles.map((file) => loadTeamFile(join(teamsDir, file))));

new LegionStack(app, 'Legion', {
  description: 'Legion: teams of AI agents on AWS serverless',
  teams,
  modelProvider: modelProvider as ModelProviderName,
  ...(agentReservedConcurrency === undefined ? {} : { agentReservedConcurrency }),
});

app.synth();
