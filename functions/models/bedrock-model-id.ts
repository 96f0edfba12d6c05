/**
 * What a Bedrock model id names, for the IAM grant that lets an agent call it: a foundation model
 * (`anthropic.claude-3-haiku-20240307-v1:0`), a cross-Region inference profile (its geography
 * prefix, then the foundation model: `us.anthropic.claude-sonnet-4-5-20250929-v1:0`), which current
 * Claude models require, or an ARN (an application inference profile, a provisioned model).
 */

/** Geography prefixes of Bedrock's system-defined (cross-Region) inference profiles. */
export const INFERENCE_PROFILE_PREFIXES = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'ca', 'global'] as const;

export type BedrockModelTarget =
  | { kind: 'foundation-model'; modelId: string }
  /** A system-defined profile; `arn` when it was given as one. */
  | { kind: 'inference-profile'; profileId: string; foundationModelId: string; arn?: string }
  | { kind: 'arn'; arn: string };

/**
 * Reads what a model id names.
 *
 * @example
 * ```ts
 * bedrockModelTarget('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
 * // { kind: 'inference-profile', profileId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', foundationModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' }
 * ```
 */
export function bedrockModelTarget(modelId: string): BedrockModelTarget {
  if (modelId.startsWith('arn:')) {
    // A system-defined profile's ARN names its profile id, hence the one model it routes to.
    const profile = /:inference-profile\/(.+)$/.exec(modelId)?.[1];
    const target = profile === undefined ? undefined : bedrockModelTarget(profile);
    return target?.kind === 'inference-profile' ? { ...target, arn: modelId } : { kind: 'arn', arn: modelId };
  }
  const [prefix = '', ...rest] = modelId.split('.');
  // A foundation model id is provider.model; a profile id has one more part in front.
  if ((INFERENCE_PROFILE_PREFIXES as readonly string[]).includes(prefix) && rest.length >= 2) {
    return { kind: 'inference-profile', profileId: modelId, foundationModelId: rest.join('.') };
  }
  return { kind: 'foundation-model', modelId };
}
