import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { converseForJson, jsonResponseFormat, parseModelJson } from '../../functions/agents/steps/model-json.ts';
import type { ModelProvider, ModelRequest } from '../../functions/models/model-provider.ts';
import { AgentOutputError } from '../../functions/core/errors.ts';

describe('Function: parseModelJson', () => {
  it.each([
    ['bare JSON', '{"intents": ["billing"]}'],
    ['a json fence', 'Here you go:\n```json\n{"intents": ["billing"]}\n```'],
    ['a fence without a language', '```\n{"intents": ["billing"]}\n```'],
    ['after a sentence of prose', 'The request is about money. {"intents": ["billing"]}'],
    ['before a remark with braces', '{"intents": ["billing"]} (I used the {id} of each specialist)'],
    ['after a remark with braces that do not parse', 'Fill {slots} like so: {"intents": ["billing"]}'],
    ['with braces inside its strings', '{"intents": ["billing"], "note": "a } and a { inside"}'],
  ])('reads %s', (_name, text) => {
    expect(parseModelJson('supervisor', text)).toMatchObject({ intents: ['billing'] });
  });

  it('prefers a fenced block over an object in the prose around it', () => {
    expect(parseModelJson('supervisor', 'Not this: {"intents": []}\n```json\n{"intents": ["access"]}\n```')).toEqual({ intents: ['access'] });
  });

  it('refuses a reply without an object, naming the agent', () => {
    expect(() => parseModelJson('supervisor', 'I think billing should handle this.')).toThrow(new AgentOutputError('supervisor', 'reply holds no JSON object'));
  });

  it.each(['{"intents": [billing]}', '```json\n{"intents": \n```', '["billing"] and {oops}'])('refuses %j as malformed JSON', (text) => {
    expect(() => parseModelJson('supervisor', text)).toThrow(new AgentOutputError('supervisor', 'reply holds malformed JSON'));
  });
});

describe('Function: converseForJson', () => {
  const REQUEST: ModelRequest = { modelTier: 'fast', system: 'You route.', prompt: 'Reply with JSON only: {"intents": []}', maxTokens: 100, script: { kind: 'fixed', text: '{}' } };
  const readIntents = (text: string): string[] => {
    const value = parseModelJson('supervisor', text) as { intents?: unknown };
    if (!Array.isArray(value.intents)) throw new AgentOutputError('supervisor', 'intents: expected an array');
    return value.intents.map(String);
  };
  /** TEST DOUBLE: replies with the given texts in order, recording the requests. */
  const modelReplying = (...texts: string[]) => {
    const requests: ModelRequest[] = [];
    const model: ModelProvider = {
      converse: (request) => {
        requests.push(request);
        return Promise.resolve({ text: texts.shift() ?? '', modelId: 'queued-test-double', usage: { inputTokens: 10, outputTokens: 3 } });
      },
    };
    return { model, requests };
  };

  it('reads a usable reply without asking again', async () => {
    const { model, requests } = modelReplying('{"intents": ["billing"]}');
    const { value, reply } = await converseForJson(model, REQUEST, readIntents);
    expect(value).toEqual(['billing']);
    expect(reply.usage).toEqual({ inputTokens: 10, outputTokens: 3 });
    expect(requests).toHaveLength(1);
  });

  it('asks once more with the reply and what was wrong with it, and sums the usage', async () => {
    const { model, requests } = modelReplying('Billing should take this.', '{"intents": ["billing"]}');
    const { value, reply } = await converseForJson(model, REQUEST, readIntents);
    expect(value).toEqual(['billing']);
    expect(reply.usage).toEqual({ inputTokens: 20, outputTokens: 6 });
    expect(requests).toHaveLength(2);
    expect(requests[1]?.reask).toBe(true);
    expect(requests[1]?.messages).toEqual([
      { role: 'assistant', text: 'Billing should take this.', toolUses: [] },
      { role: 'user', text: 'That reply could not be used (Output of agent supervisor rejected: reply holds no JSON object). Reply again with only the JSON object asked for.' },
    ]);
  });

  it('re-asks a reply that parses but breaks the schema, and fails when the second one is no better', async () => {
    const { model, requests } = modelReplying('{"intents": "billing"}', '{"intents": "still not a list"}');
    await expect(converseForJson(model, REQUEST, readIntents)).rejects.toThrow(/intents: expected an array/);
    expect(requests).toHaveLength(2);
  });

  it('does not re-ask when reading fails for another reason than the reply', async () => {
    const { model, requests } = modelReplying('{"intents": []}');
    await expect(converseForJson(model, REQUEST, () => { throw new Error('a bug in the step'); })).rejects.toThrow('a bug in the step');
    expect(requests).toHaveLength(1);
  });
});

describe('Function: jsonResponseFormat', () => {
  const ReplySchema = z.object({
    proposal: z.string().trim().min(1).max(4000),
    claims: z.array(z.object({ fact: z.string().regex(/^[a-z_]+$/), value: z.union([z.string().max(500), z.number(), z.boolean()]) })).max(20).default([]),
    decision: z.enum(['retry', 'done']),
  });

  it('gives the schema the model writes: fields with a default optional, every object closed, bounds left to the step', () => {
    expect(jsonResponseFormat('proposal', ReplySchema)).toEqual({
      name: 'proposal',
      schema: {
        type: 'object',
        properties: {
          proposal: { type: 'string' },
          claims: {
            type: 'array',
            items: {
              type: 'object',
              properties: { fact: { type: 'string' }, value: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
              required: ['fact', 'value'],
              additionalProperties: false,
            },
          },
          decision: { type: 'string', enum: ['retry', 'done'] },
        },
        required: ['proposal', 'decision'],
        additionalProperties: false,
      },
    });
  });

  it('keeps what a record or a catchall says extra keys hold, and gives a discriminated union as anyOf', () => {
    const { schema } = jsonResponseFormat('odd', z.object({
      scores: z.record(z.string(), z.number().min(0)),
      step: z.discriminatedUnion('kind', [z.object({ kind: z.literal('a'), a: z.string() }), z.object({ kind: z.literal('b'), b: z.number() })]),
    }));
    const properties = schema.properties as Record<string, Record<string, unknown>>;

    expect(properties.scores).toEqual({ type: 'object', additionalProperties: { type: 'number' } });
    expect(properties.step?.oneOf).toBeUndefined();
    expect(properties.step?.anyOf).toHaveLength(2);
  });

  it('keeps a property whose name is a keyword it leaves out elsewhere', () => {
    const { schema } = jsonResponseFormat('odd', z.object({ pattern: z.string().min(2), default: z.number().max(3) }));

    expect(schema.properties).toEqual({ pattern: { type: 'string' }, default: { type: 'number' } });
  });
});
