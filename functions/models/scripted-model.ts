/**
 * The deterministic scripted model used offline (local runtime, tests, `npm start`). It is NOT a
 * language model: it classifies by keyword match, answers from templates, and estimates token
 * usage from text length (about four characters per token). Given the same request it always
 * gives the same reply, which is what makes offline runs and tests reproducible.
 *
 * Faults can be switched on to reproduce failures on purpose (`legion run --inject ...`): an
 * `off-contract` fault makes the first replies in one state break the step's contract (not the
 * JSON asked for, or empty), as a real model sometimes does; a `fail` fault makes the first calls
 * in one state throw, as a model outage or a crashing agent would. These are scripted shortcuts,
 * not model behaviour.
 *
 * @example
 * ```ts
 * const model = new ScriptedModel();
 * const reply = await model.converse(request); // reply.modelId === 'scripted'
 * ```
 */
import { ScriptedFailureError } from '../core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest, ScriptCandidate, ScriptHint } from './model-provider.ts';

const CHARS_PER_TOKEN = 4;

/** Rough token count of a text, as the scripted model reports it. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/**
 * A failure the scripted model reproduces on purpose: `off-contract` replies break the step's
 * contract; `fail` calls throw ScriptedFailureError (a model outage, or an agent that crashes).
 */
export interface ScriptedFault {
  kind: 'off-contract' | 'fail';
  /** The state whose model calls misbehave. */
  stateName: string;
  /** How many calls misbehave before the model answers normally again. @default 1 */
  times?: number;
}

/**
 * A failure mode played on purpose (`legion run --inject loop|hallucination`): given a request and
 * the reply the scripted model would give, the reply to give instead (or the same one). A scripted
 * shortcut: it stands for agents that misbehave, not for anything a model does by itself.
 */
export type ScriptedScenario = (request: ModelRequest, reply: string) => string;

export interface ScriptedModelOptions {
  /** @default none */
  faults?: readonly ScriptedFault[];
  /** Applied in order to every reply. @default none */
  scenarios?: readonly ScriptedScenario[];
}

export class ScriptedModel implements ModelProvider {
  private readonly faultsLeft: Map<string, number>;
  private readonly scenarios: readonly ScriptedScenario[];

  public constructor(options: ScriptedModelOptions = {}) {
    this.scenarios = options.scenarios ?? [];
    this.faultsLeft = new Map((options.faults ?? []).map((fault) => [faultKey(fault.kind, fault.stateName), fault.times ?? 1]));
  }

  public converse(request: ModelRequest): Promise<ModelReply> {
    if (this.takeFault('fail', request.stateName)) return Promise.reject(new ScriptedFailureError(request.stateName ?? 'unknown'));
    const scripted = this.takeFault('off-contract', request.stateName) ? offContractReply(request.script) : replyTo(request.script);
    const text = this.scenarios.reduce((reply, scenario) => scenario(request, reply), scripted);
    return Promise.resolve({
      text,
      modelId: 'scripted',
      usage: {
        inputTokens: estimateTokens(request.system) + estimateTokens(request.prompt),
        outputTokens: estimateTokens(text),
      },
    });
  }

  /** Whether this call is one of the faulty ones; counts it down. */
  private takeFault(kind: ScriptedFault['kind'], stateName: string | undefined): boolean {
    if (stateName === undefined) return false;
    const key = faultKey(kind, stateName);
    const left = this.faultsLeft.get(key) ?? 0;
    if (left <= 0) return false;
    this.faultsLeft.set(key, left - 1);
    return true;
  }
}

const faultKey = (kind: ScriptedFault['kind'], stateName: string): string => `${kind}:${stateName}`;

/** A reply that breaks the step's contract: prose where JSON is asked for, nothing where an answer is. */
function offContractReply(script: ScriptHint): string {
  const wantsJson = script.kind === 'classify' || (script.kind === 'fixed' && script.text.trimStart().startsWith('{'));
  return wantsJson ? 'I think somebody else should take this one.' : '';
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
    case 'fixed':
      return script.text;
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
