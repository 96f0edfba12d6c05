import { describe, expect, it } from 'vitest';
import { modelChoiceFrom } from '../../bin/cli/model-options.ts';
import { bedrockModelTarget } from '../../functions/models/bedrock-model-id.ts';
import { modelIdsFromContext, parseModelIds } from '../../functions/models/model-ids.ts';
import { DEFAULT_MODEL_IDS } from '../../functions/core/contract.ts';
import { UsageError } from '../../functions/core/errors.ts';

const URL = 'http://127.0.0.1:11434/v1';

describe('Function: modelChoiceFrom', () => {
  it('is the scripted model when nothing is given', () => {
    expect(modelChoiceFrom({}, {})).toEqual({ provider: 'scripted' });
  });

  it('reads an openai-compatible choice from the flags, one name for every tier', () => {
    expect(modelChoiceFrom({ model: 'openai-compatible', modelBaseUrl: URL, modelId: 'llama3.2' }, {})).toEqual({
      provider: 'openai-compatible',
      baseUrl: URL,
      modelIds: { fast: 'llama3.2', balanced: 'llama3.2', deep: 'llama3.2' },
    });
  });

  it('reads the environment when no flag is given, and a flag wins over its variable', () => {
    const env = { LEGION_MODEL: 'openai-compatible', LEGION_MODEL_BASE_URL: URL, LEGION_MODEL_IDS: 'fast=a,balanced=b,deep=c' };

    expect(modelChoiceFrom({}, env)).toEqual({ provider: 'openai-compatible', baseUrl: URL, modelIds: { fast: 'a', balanced: 'b', deep: 'c' } });
    expect(modelChoiceFrom({ modelId: 'z' }, env).modelIds).toEqual({ fast: 'z', balanced: 'z', deep: 'z' });
    expect(modelChoiceFrom({ model: 'scripted' }, env)).toEqual({ provider: 'scripted' });
  });

  it('fills the tiers --model-id does not name with the default Bedrock models', () => {
    expect(modelChoiceFrom({ model: 'bedrock', modelId: 'deep=us.anthropic.claude-sonnet-4-20250514-v1:0' }, {}).modelIds).toEqual({
      ...DEFAULT_MODEL_IDS,
      deep: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
    });
  });

  it.each([
    ['an unknown provider', { model: 'gpt' }, {}, /--model must be one of scripted, bedrock, openai-compatible, got "gpt"/],
    ['an unknown provider in the environment', {}, { LEGION_MODEL: 'gpt' }, /LEGION_MODEL must be one of/],
    ['openai-compatible without a base URL', { model: 'openai-compatible', modelId: 'x' }, {}, /needs --model-base-url \(or LEGION_MODEL_BASE_URL\)/],
    ['openai-compatible without model ids', { model: 'openai-compatible', modelBaseUrl: URL }, {}, /needs --model-id \(or LEGION_MODEL_IDS\)/],
    ['a base URL that is not http(s)', { model: 'openai-compatible', modelBaseUrl: 'localhost:11434', modelId: 'x' }, {}, /--model-base-url must be an http\(s\) URL/],
    ['a base URL with a port out of range', { model: 'openai-compatible', modelBaseUrl: 'http://h:99999/v1', modelId: 'x' }, {}, /--model-base-url must be an http\(s\) URL/],
    ['a base URL with credentials', { model: 'openai-compatible', modelBaseUrl: 'http://user:secret@h/v1', modelId: 'x' }, {}, /--model-base-url must not carry a user name or password \(give the API key apart: LEGION_MODEL_API_KEY locally, -c legion:modelApiKeySecret=<secret> in AWS\)/],
    ['--model-id with the scripted model', { modelId: 'x' }, {}, /--model-id needs --model bedrock or --model openai-compatible/],
    ['--model-base-url with Bedrock', { model: 'bedrock', modelBaseUrl: URL }, {}, /--model-base-url applies to --model openai-compatible/],
  ])('refuses %s with a usage error naming it', (_name, options, env, message) => {
    expect(() => modelChoiceFrom(options, env)).toThrow(UsageError);
    expect(() => modelChoiceFrom(options, env)).toThrow(message);
  });
});

describe('Function: parseModelIds', () => {
  it('reads tier=NAME pairs, with spaces around them', () => {
    expect(parseModelIds(' fast = a , balanced=b,deep=c ', '--model-id', true)).toEqual({ fast: 'a', balanced: 'b', deep: 'c' });
  });

  it('accepts some tiers when not every tier is required', () => {
    expect(parseModelIds('fast=a', '--model-id', false)).toEqual({ fast: 'a' });
  });

  it.each([
    ['fast=a,balanced=b', /names no model for tier deep/],
    ['quick=a', /"quick" is not a model tier \(fast, balanced, deep\)/],
    ['fast=,balanced=b,deep=c', /tier fast has no model name/],
    ['fast=a,fast=b,balanced=b,deep=c', /tier fast is named twice/],
    ['two names', /must be one model name, or fast=NAME/],
    ['fast=a=b,balanced=b,deep=c', /the model name of tier fast must not hold spaces or "=", got "a=b"/],
    ['fast=a b,balanced=b,deep=c', /the model name of tier fast must not hold spaces/],
    ['', /must be one model name/],
  ])('refuses %j', (text, message) => {
    expect(() => parseModelIds(text, '--model-id', true)).toThrow(message);
  });
});

describe('Function: modelIdsFromContext', () => {
  it('keeps the defaults when the context is unset', () => {
    expect(modelIdsFromContext(undefined)).toEqual(DEFAULT_MODEL_IDS);
  });

  it('reads a string (one id, or tier=ID pairs) and an object of tiers, over the defaults', () => {
    const profile = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
    expect(modelIdsFromContext(profile)).toEqual({ fast: profile, balanced: profile, deep: profile });
    expect(modelIdsFromContext(`deep=${profile}`)).toEqual({ ...DEFAULT_MODEL_IDS, deep: profile });
    expect(modelIdsFromContext({ balanced: profile })).toEqual({ ...DEFAULT_MODEL_IDS, balanced: profile });
  });

  it.each([
    [42, /Context legion:modelIds must be a model id, "fast=ID,balanced=ID,deep=ID" or an object of tiers; got 42/],
    [{ fast: 3 }, /Context legion:modelIds\.fast must be a model id \(a string\); got 3/],
    [{ quick: 'x' }, /Context legion:modelIds: "quick" is not a model tier/],
  ])('refuses %j naming the context', (raw, message) => {
    expect(() => modelIdsFromContext(raw)).toThrow(message);
  });
});

describe('Function: bedrockModelTarget', () => {
  it.each([
    ['anthropic.claude-3-haiku-20240307-v1:0', { kind: 'foundation-model', modelId: 'anthropic.claude-3-haiku-20240307-v1:0' }],
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', { kind: 'inference-profile', profileId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', foundationModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' }],
    ['global.anthropic.claude-haiku-4-5-20251001-v1:0', { kind: 'inference-profile', profileId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0', foundationModelId: 'anthropic.claude-haiku-4-5-20251001-v1:0' }],
    ['us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0', { kind: 'inference-profile', profileId: 'us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0', foundationModelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }],
    ['arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc', { kind: 'arn', arn: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc' }],
    [
      'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-6',
      { kind: 'inference-profile', profileId: 'eu.anthropic.claude-sonnet-4-6', foundationModelId: 'anthropic.claude-sonnet-4-6', arn: 'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-6' },
    ],
    // "us" as a provider would still need a model part after it: two parts are a foundation model.
    ['meta.llama3-70b-instruct-v1:0', { kind: 'foundation-model', modelId: 'meta.llama3-70b-instruct-v1:0' }],
  ])('reads %s', (id, target) => {
    expect(bedrockModelTarget(id)).toEqual(target);
  });
});
