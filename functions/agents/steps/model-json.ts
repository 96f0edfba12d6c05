/**
 * Reads the JSON object a step asked a model for. Models wrap it: in a ```json fence, after a
 * sentence of prose, before a closing remark that may itself hold braces. The candidates are tried
 * in that order: each fenced block, then each balanced `{...}` from left to right, then the widest
 * span (first `{` to last `}`), and the first that parses wins. A reply that still cannot be used is
 * asked again once, with what was wrong with it (`converseForJson`).
 */
import { z } from 'zod';
import { AgentOutputError } from '../../core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest, ResponseFormat } from '../../models/model-provider.ts';

/**
 * Bounds that the structured output of providers refuses or ignores (Bedrock answers 400 to a schema
 * with features outside its subset). Leaving them out loses nothing: the step's own zod schema still
 * checks every bound when it reads the reply, and re-asks.
 */
const UNPORTABLE_KEYWORDS = new Set([
  '$schema', 'default', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems', 'propertyNames',
]);

/**
 * The response format for a step whose reply must be the object `schema` reads: its JSON Schema as
 * the model writes it (`io: 'input'`, so fields with a default may be left out), in the subset the
 * providers' structured output accepts, every object closed (`additionalProperties: false`).
 *
 * @example
 * ```ts
 * jsonResponseFormat('intents', z.object({ intents: z.array(z.enum(['billing', 'tech'])) }));
 * // { name: 'intents', schema: { type: 'object', properties: { intents: { type: 'array', ... } },
 * //   required: ['intents'], additionalProperties: false } }
 * ```
 */
export function jsonResponseFormat(name: string, schema: z.ZodType): ResponseFormat {
  return { name, schema: portable(z.toJSONSchema(schema, { io: 'input' })) as Record<string, unknown> };
}

function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable);
  if (node === null || typeof node !== 'object') return node;
  const kept = Object.entries(node).filter(([key]) => !UNPORTABLE_KEYWORDS.has(key));
  // oneOf (a discriminated union) as anyOf: the subset of structured output takes only the latter, and the step's schema still checks the reply.
  const result: Record<string, unknown> = Object.fromEntries(
    kept.map(([key, value]) => [key === 'oneOf' ? 'anyOf' : key, key === 'properties' || key === '$defs' ? mapValues(value, portable) : portable(value)]),
  );
  // Closed unless the schema says what extra keys hold (a record, a catchall).
  if (result.type === 'object' && (result.additionalProperties === undefined || result.additionalProperties === true)) result.additionalProperties = false;
  return result;
}

function mapValues(record: unknown, map: (value: unknown) => unknown): unknown {
  return Object.fromEntries(Object.entries(record as Record<string, unknown>).map(([key, value]) => [key, map(value)]));
}

/**
 * Parses the first JSON object in a model reply.
 *
 * @example
 * ```ts
 * parseModelJson('supervisor', 'Sure! ```json\n{"intents": ["billing"]}\n``` Hope that helps {:}');
 * // { intents: ['billing'] }
 * ```
 * @throws {@link AgentOutputError} when the reply holds no JSON object, or none that parses
 */
export function parseModelJson(agentId: string, text: string): unknown {
  if (!text.includes('{')) throw new AgentOutputError(agentId, 'reply holds no JSON object');
  for (const candidate of jsonCandidates(text)) {
    const parsed = parseObject(candidate);
    if (parsed !== undefined) return parsed;
  }
  throw new AgentOutputError(agentId, 'reply holds malformed JSON');
}

function* jsonCandidates(text: string): Generator<string> {
  for (const fence of text.matchAll(/```(?:json)?[ \t]*\n?([\s\S]*?)```/gi)) yield (fence[1] ?? '').trim();
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    const end = balancedEnd(text, start);
    if (end !== undefined) yield text.slice(start, end + 1);
  }
  yield text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
}

/** The index of the `}` that closes the `{` at `start`, braces inside JSON strings not counted. */
function balancedEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index += 1) {
    const character = text[index];
    if (inString) {
      if (character === '\\') index += 1;
      else if (character === '"') inString = false;
    } else if (character === '"') inString = true;
    else if (character === '{') depth += 1;
    else if (character === '}' && --depth === 0) return index;
  }
  return undefined;
}

/** The candidate as a JSON object, or undefined when it is not one (a failed parse is expected here: the next candidate is tried). */
function parseObject(candidate: string): unknown {
  try {
    const value: unknown = JSON.parse(candidate);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks the model and reads its reply with `read`; when `read` refuses the reply (AgentOutputError:
 * no JSON, malformed, or not what the step's schema wants), asks once more, with the reply and what
 * was wrong with it, and reads that. The usage is the sum of both calls.
 *
 * @example
 * ```ts
 * const { value: intents, reply } = await converseForJson(model, request, (text) => parseIntents('supervisor', text));
 * ```
 * @throws {@link AgentOutputError} when the second reply cannot be used either
 */
export async function converseForJson<T>(model: ModelProvider, request: ModelRequest, read: (text: string) => T): Promise<{ value: T; reply: ModelReply }> {
  const first = await model.converse(request);
  let problem: AgentOutputError;
  try {
    return { value: read(first.text), reply: first };
  } catch (error) {
    if (!(error instanceof AgentOutputError)) throw error;
    problem = error;
  }
  const second = await model.converse({
    ...request,
    reask: true,
    messages: [
      ...(request.messages ?? []),
      { role: 'assistant', text: first.text, toolUses: [] },
      { role: 'user', text: `That reply could not be used (${problem.message}). Reply again with only the JSON object asked for.` },
    ],
  });
  const usage = { inputTokens: first.usage.inputTokens + second.usage.inputTokens, outputTokens: first.usage.outputTokens + second.usage.outputTokens };
  return { value: read(second.text), reply: { ...second, usage } };
}
