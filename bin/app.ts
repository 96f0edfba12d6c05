/**
 * The CDK app (`cdk.json` runs it): deploys every team definition in `teams/` into one
 * environment-agnostic `LegionStack`.
 *
 * Context:
 * - `legion:modelProvider`: `bedrock` (default) or `scripted` (`cdk synth -c legion:modelProvider=scripted`).
 * - `legion:agentReservedConcurrency`: reserved concurrency of every agent whose definition sets
 *   none (`cdk deploy -c legion:agentReservedConcurrency=5`); unset by default.
 * - `legion:modelIds`: Bedrock model (or inference profile) id per tier, read by LegionStack
 *   (functions/models/model-ids.ts); unset keeps DEFAULT_MODEL_IDS.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { ModelProviderName } from '../lib/agent-function.ts';
import { LegionStack } from '../lib/legion-stack.ts';
import { loadTeamFile } from '../functions/core/team.ts';

const MODEL_PROVIDERS: readonly ModelProviderName[] = ['bedrock', 'scripted'];
const teamsDir = fileURLToPath(new URL('../teams/', import.meta.url));

const app = new App();

const modelProvider = (app.node.tryGetContext('legion:modelProvider') as unknown) ?? 'bedrock';
if (typeof modelProvider !== 'string' || !MODEL_PROVIDERS.includes(modelProvider as ModelProviderName)) {
  throw new Error(`Context legion:modelProvider must be one of ${MODEL_PROVIDERS.join(', ')}; got ${JSON.stringify(modelProvider)}`);
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
