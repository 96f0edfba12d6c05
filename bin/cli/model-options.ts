/**
 * Which model the agents of a CLI run talk to: `--model scripted|bedrock|openai-compatible`,
 * `--model-base-url URL` and `--model-id fast=NAME,balanced=NAME,deep=NAME` (or one NAME for every
 * tier), each with an environment variable for when no flag is given. The API key of an
 * OpenAI-compatible server comes only from the environment (`LEGION_MODEL_API_KEY`, or
 * `OPENAI_API_KEY` for api.openai.com), never from a flag, so that it stays out of shell history and `ps`.
 */
import { DEFAULT_MODEL_IDS, MODEL_TIERS, type ModelTier } from '../../functions/core/contract.ts';
import { parseModelIds } from '../../functions/models/model-ids.ts';
import { UsageError } from '../../functions/core/errors.ts';
import type { ModelProvider } from '../../functions/models/model-provider.ts';
import { OPENAI_COMPATIBLE, baseUrlProblem } from '../../functions/models/openai-compatible-model.ts';
import type { CliIo } from './cli-io.ts';
import { writeSafely } from './terminal-text.ts';

/** The providers a CLI run can use; `scripted` is the default. */
export const CLI_MODEL_PROVIDERS = ['scripted', 'bedrock', OPENAI_COMPATIBLE] as const;
export type CliModelProvider = (typeof CLI_MODEL_PROVIDERS)[number];

/** Environment variables read when the matching flag is not given. */
export const MODEL_VARIABLES = {
  provider: 'LEGION_MODEL',
  baseUrl: 'LEGION_MODEL_BASE_URL',
  modelIds: 'LEGION_MODEL_IDS',
  apiKey: 'LEGION_MODEL_API_KEY',
  openAiApiKey: 'OPENAI_API_KEY',
} as const;

export interface ModelOptions {
  model?: string | undefined;
  modelBaseUrl?: string | undefined;
  modelId?: string | undefined;
}

/** The model a run was asked to use, read from flags and environment. */
export interface ModelChoice {
  provider: CliModelProvider;
  baseUrl?: string | undefined;
  modelIds?: Record<ModelTier, string> | undefined;
}

/**
 * Reads the model choice from the flags, else the environment. Checked before anything starts.
 *
 * @example
 * ```ts
 * modelChoiceFrom({ model: 'openai-compatible', modelBaseUrl: 'http://127.0.0.1:11434/v1', modelId: 'llama3.2' }, {});
 * // { provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', modelIds: { fast: 'llama3.2', balanced: 'llama3.2', deep: 'llama3.2' } }
 * ```
 * @throws {@link UsageError} naming the flag (or variable) and what it accepts
 */
export function modelChoiceFrom(options: ModelOptions, env: NodeJS.ProcessEnv): ModelChoice {
  const provider = pick(options.model, env, MODEL_VARIABLES.provider, '--model') ?? { value: 'scripted', source: '--model' };
  if (!(CLI_MODEL_PROVIDERS as readonly string[]).includes(provider.value)) {
    throw new UsageError(`${provider.source} must be one of ${CLI_MODEL_PROVIDERS.join(', ')}, got "${provider.value}"`);
  }
  const chosen = provider.value as CliModelProvider;
  const baseUrl = pick(options.modelBaseUrl, env, MODEL_VARIABLES.baseUrl, '--model-base-url');
  const ids = pick(options.modelId, env, MODEL_VARIABLES.modelIds, '--model-id');
  if (chosen === 'scripted') {
    // A flag that would be ignored is a mistake the user should hear of; variables may be set for other runs.
    const ignored = [options.modelBaseUrl === undefined ? undefined : '--model-base-url', options.modelId === undefined ? undefined : '--model-id'].filter(Boolean);
    if (ignored.length > 0) throw new UsageError(`${ignored.join(' and ')} ${ignored.length > 1 ? 'need' : 'needs'} --model bedrock or --model ${OPENAI_COMPATIBLE} (the scripted model has no server and no model ids)`);
    return { provider: chosen };
  }
  if (chosen === 'bedrock') {
    if (options.modelBaseUrl !== undefined) throw new UsageError('--model-base-url applies to --model openai-compatible (Bedrock is reached through the AWS SDK and its region)');
    return { provider: chosen, modelIds: { ...DEFAULT_MODEL_IDS, ...(ids ? parseModelIds(ids.value, ids.source, false) : {}) } };
  }
  if (!baseUrl) throw new UsageError(`--model ${OPENAI_COMPATIBLE} needs --model-base-url (or ${MODEL_VARIABLES.baseUrl}), e.g. http://127.0.0.1:11434/v1`);
  const problem = baseUrlProblem(baseUrl.value);
  if (problem) throw new UsageError(`${baseUrl.source} ${problem}`);
  if (!ids) throw new UsageError(`--model ${OPENAI_COMPATIBLE} needs --model-id (or ${MODEL_VARIABLES.modelIds}): one NAME for every tier, or fast=NAME,balanced=NAME,deep=NAME`);
  return { provider: chosen, baseUrl: baseUrl.value, modelIds: parseModelIds(ids.value, ids.source, true) as Record<ModelTier, string> };
}

/**
 * The provider for a choice; undefined for the scripted model (the local runtime's default).
 * Retries of a busy server are told on stderr.
 *
 * @example
 * ```ts
 * const model = await modelProviderFor(modelChoiceFrom({ model: 'bedrock' }, process.env), processIo());
 * ```
 */
export async function modelProviderFor(choice: ModelChoice, io: Pick<CliIo, 'stderr' | 'env'>): Promise<ModelProvider | undefined> {
  if (choice.provider === 'scripted' || !choice.modelIds) return undefined;
  if (choice.provider === 'bedrock') {
    const { BedrockModel } = await import('../../functions/models/bedrock-model.ts');
    return new BedrockModel({ modelIds: choice.modelIds, onStructuredOutputRefused: structuredOutputNotice(io) });
  }
  const { OpenAiCompatibleModel } = await import('../../functions/models/openai-compatible-model.ts');
  return new OpenAiCompatibleModel({
    baseUrl: choice.baseUrl ?? '',
    modelIds: choice.modelIds,
    apiKey: apiKeyFor(choice.baseUrl ?? '', io.env),
    onRetry: (reason, attempt, delayMs) => {
      writeSafely(io.stderr, `  model server: ${reason}; retrying in ${delayMs} ms (attempt ${attempt + 1})\n`);
    },
    onStructuredOutputRefused: structuredOutputNotice(io),
  });
}

function structuredOutputNotice(io: Pick<CliIo, 'stderr'>): (modelId: string, reason: string) => void {
  return (modelId, reason) => {
    writeSafely(io.stderr, `  model ${modelId} refused structured output (${reason.slice(0, 200)}); asking for its JSON in text instead\n`);
  };
}

/**
 * The model of a command: the scripted one with the faults `--inject` scripts, or the one `--model`
 * (or LEGION_MODEL) chose, said on stderr when it is not the scripted model. Undefined: the local
 * runtime's default, the scripted model.
 *
 * @example
 * ```ts
 * const model = await commandModel({ model: 'openai-compatible', modelBaseUrl: 'http://127.0.0.1:11434/v1', modelId: 'llama3.2' }, io);
 * ```
 * @throws {@link UsageError} for a bad choice, or faults injected into a model that is not the scripted one
 */
export async function commandModel(options: ModelOptions, io: Pick<CliIo, 'stderr' | 'env'>, injected?: ModelProvider): Promise<ModelProvider | undefined> {
  const choice = modelChoiceFrom(options, io.env);
  if (injected) {
    if (choice.provider !== 'scripted') throw new UsageError(`--inject scripts the model's replies, so it runs on the scripted model, not --model ${choice.provider}`);
    return injected;
  }
  if (choice.provider !== 'scripted') writeSafely(io.stderr, `${describeModelChoice(choice)}\n`);
  return modelProviderFor(choice, io);
}

/**
 * LEGION_MODEL_API_KEY; OPENAI_API_KEY only for OpenAI's own API, so that a key meant for OpenAI
 * is never sent to another server.
 */
function apiKeyFor(baseUrl: string, env: NodeJS.ProcessEnv): string | undefined {
  const own = env[MODEL_VARIABLES.apiKey];
  if (own) return own;
  return new URL(baseUrl).hostname === 'api.openai.com' ? env[MODEL_VARIABLES.openAiApiKey] || undefined : undefined;
}

/**
 * One line saying which model a run uses (not printed for the scripted model, whose replies say so).
 *
 * @example
 * ```ts
 * describeModelChoice({ provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', modelIds });
 * // 'Model: openai-compatible at http://127.0.0.1:11434/v1 (fast=..., balanced=..., deep=...)'
 * ```
 */
export function describeModelChoice(choice: ModelChoice): string {
  const ids = choice.modelIds ? MODEL_TIERS.map((tier) => `${tier}=${choice.modelIds?.[tier] ?? '?'}`).join(', ') : '';
  return `Model: ${choice.provider}${choice.baseUrl ? ` at ${choice.baseUrl}` : ''} (${ids})`;
}

function pick(flag: string | undefined, env: NodeJS.ProcessEnv, variable: string, flagName: string): { value: string; source: string } | undefined {
  if (flag !== undefined) return { value: flag, source: flagName };
  const value = env[variable];
  return value ? { value, source: variable } : undefined;
}
