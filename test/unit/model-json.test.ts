import { describe, expect, it } from 'vitest';
import { parseModelJson } from '../../functions/agents/steps/model-json.ts';
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
