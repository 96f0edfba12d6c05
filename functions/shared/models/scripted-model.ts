/**
 * The deterministic scripted model used offline (local runtime, tests, `npm start`). It is NOT a
 * language model: it classifies by keyword match, answers from templates, and estimates token
 * usage from text length (about four characters per token). Given the same request it always
 * gives the same reply, which is what makes offline runs and tests reproducible.
 *
 * @example
 * ```ts
 * const model = new ScriptedModel();
 * const reply = await model.converse(request); // reply.modelId === 'scripted'
 * ```
 */
import type { ModelProvider, ModelReply, ModelRequest, ScriptCandidate, ScriptHint } from './model-provider.ts';

const CHARS_PER_TOKEN = 4;

/** Rough token count of a text, as the scripted model reports it. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

export class ScriptedModel implements ModelProvider {
  public converse(request: ModelRequest): Promise<ModelReply> {
    const text = replyTo(request.script);
    return Promise.resolve({
      text,
      modelId: 'scripted',
      usage: {
        inputTokens: estimateTokens(request.system) + estimateTokens(request.prompt),
        outputTokens: estimateTokens(text),
      },
    });
  }
}

function replyTo(script: ScriptHint): string {
  switch (script.kind) {
    case 'classify':
      return JSON.stringify({ intents: matchIntents(script.request, script.candidates) });
    case 'answer':
      // One pass with a replacer function: the request is inserted verbatim, so `$&`-style patterns
      // or a literal `{instruction}` in customer text are not expanded.
      return (script.template ?? `[${script.agentId}] About "{request}": {instruction}`).replace(
        /\{(request|instruction)\}/g,
        (_placeholder, name: string) => (name === 'request' ? script.request : script.instruction),
      );
    case 'synthesize':
      return script.parts.map((part) => part.answer).join('\n');
  }
}

/** Candidates whose capabilities appear as whole words (or word stems) in the request, in roster order. */
export function matchIntents(request: string, candidates: readonly ScriptCandidate[]): string[] {
  const words = request.toLowerCase().match(/[a-z0-9-]+/g) ?? [];
  return candidates
    .filter((candidate) =>
      candidate.capabilities.some((capability) => {
        const keyword = capability.toLowerCase();
        return keyword.includes(' ')
          ? request.toLowerCase().includes(keyword)
          : words.some((word) => word === keyword || (keyword.length >= 4 && word.startsWith(keyword)));
      }),
    )
    .map((candidate) => candidate.id);
}
