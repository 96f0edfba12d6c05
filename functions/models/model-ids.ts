/**
 * Model ids per tier as people write them: one id for every tier, or `fast=ID,balanced=ID,deep=ID`.
 * The CLI (`--model-id`, LEGION_MODEL_IDS) and the CDK context (`legion:modelIds`) read them here.
 */
import { DEFAULT_MODEL_IDS, MODEL_TIERS, type ModelTier } from '../core/contract.ts';
import { UsageError } from '../core/errors.ts';

/**
 * `NAME` (every tier) or `tier=NAME,...`. With `complete`, every tier must be named.
 *
 * @example
 * ```ts
 * parseModelIds('fast=llama3.2,balanced=llama3.2,deep=qwen2.5:14b', '--model-id', true);
 * parseModelIds('deep=us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'legion:modelIds', false); // { deep: '...' }
 * ```
 * @throws {@link UsageError} for an unknown tier, an empty name, a tier named twice or (complete) a tier missing
 */
export function parseModelIds(text: string, source: string, complete: boolean): Partial<Record<ModelTier, string>> {
  const trimmed = text.trim();
  if (!trimmed.includes('=')) {
    if (!trimmed || /[\s,]/.test(trimmed)) throw new UsageError(`${source} must be one model name, or fast=NAME,balanced=NAME,deep=NAME; got "${text}"`);
    return Object.fromEntries(MODEL_TIERS.map((tier) => [tier, trimmed]));
  }
  const ids: Partial<Record<ModelTier, string>> = {};
  for (const part of trimmed.split(',')) {
    const separator = part.indexOf('=');
    const tier = (separator < 0 ? part : part.slice(0, separator)).trim();
    addTier(ids, tier, separator < 0 ? '' : part.slice(separator + 1).trim(), source);
  }
  const missing = MODEL_TIERS.filter((tier) => ids[tier] === undefined);
  if (complete && missing.length > 0) throw new UsageError(`${source} names no model for tier ${missing.join(', ')}: give fast=NAME,balanced=NAME,deep=NAME, or one NAME for every tier`);
  return ids;
}

/** Checks one tier and its model name, and adds them to `ids`. */
function addTier(ids: Partial<Record<ModelTier, string>>, tier: string, name: string, source: string): void {
  if (!(MODEL_TIERS as readonly string[]).includes(tier)) throw new UsageError(`${source}: "${tier}" is not a model tier (${MODEL_TIERS.join(', ')})`);
  if (!name) throw new UsageError(`${source}: tier ${tier} has no model name`);
  if (/[\s=]/.test(name)) throw new UsageError(`${source}: the model name of tier ${tier} must not hold spaces or "=", got "${name}"`);
  if (ids[tier as ModelTier] !== undefined) throw new UsageError(`${source}: tier ${tier} is named twice`);
  ids[tier as ModelTier] = name;
}

/** CDK context: Bedrock model ids per tier (`cdk deploy -c legion:modelIds=deep=us.anthropic...`). */
export const MODEL_IDS_CONTEXT = 'legion:modelIds';

/**
 * Reads the `legion:modelIds` context: unset, a string as {@link parseModelIds} reads it, or an
 * object `{ fast?, balanced?, deep? }` (from cdk.json). Tiers it does not name keep DEFAULT_MODEL_IDS.
 *
 * @example
 * ```ts
 * modelIdsFromContext('us.anthropic.claude-haiku-4-5-20251001-v1:0'); // that profile for every tier
 * modelIdsFromContext({ deep: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }); // the defaults but deep
 * ```
 * @throws {@link UsageError} naming the context and what it accepts
 */
export function modelIdsFromContext(raw: unknown): Record<ModelTier, string> {
  if (raw === undefined || raw === null) return { ...DEFAULT_MODEL_IDS };
  const source = `Context ${MODEL_IDS_CONTEXT}`;
  if (typeof raw === 'string') return { ...DEFAULT_MODEL_IDS, ...parseModelIds(raw, source, false) };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${source} must be a model id, "fast=ID,balanced=ID,deep=ID" or an object of tiers; got ${JSON.stringify(raw)}`);
  const ids: Partial<Record<ModelTier, string>> = {};
  for (const [tier, id] of Object.entries(raw)) {
    if (typeof id !== 'string') throw new UsageError(`${source}.${tier} must be a model id (a string); got ${JSON.stringify(id)}`);
    addTier(ids, tier, id.trim(), source);
  }
  return { ...DEFAULT_MODEL_IDS, ...ids };
}
