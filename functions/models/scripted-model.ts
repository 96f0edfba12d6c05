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
import type { ModelProvider, ModelReply, ModelRequest, ScriptCandidate, ScriptHint, ToolUse } from './model-provider.ts';

const CHARS_PER_TOKEN = 4;

/** Rough token count of a text, as the scripted model reports it. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/**
 * Rough input tokens of a request: its system prompt, prompt, the turns after it (tool uses and
 * tool results, which is how a tool's output is counted against the budgets) and the tool specs.
 */
export function estimateRequestTokens(request: Pick<ModelRequest, 'system' | 'prompt' | 'messages' | 'tools'>): number {
  const turns = request.messages?.length ? estimateTokens(JSON.stringify(request.messages)) : 0;
  const tools = request.tools?.length ? estimateTokens(JSON.stringify(request.tools)) : 0;
  return estimateTokens(request.system) + estimateTokens(request.prompt) + turns + tools;
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
    const toolUses = scriptedToolUses(request);
    if (toolUses.length > 0) {
      return Promise.resolve({ text: '', toolUses, stopReason: 'tool_use', modelId: 'scripted', usage: { inputTokens: estimateRequestTokens(request), outputTokens: estimateTokens(JSON.stringify(toolUses)) } });
    }
    const scripted = this.breaksContract(request) ? offContractReply(request.script) : replyTo(request.script) + toolResultLines(request);
    const text = this.scenarios.reduce((reply, scenario) => scenario(request, reply), scripted);
    return Promise.resolve({
      text,
      modelId: 'scripted',
      stopReason: 'end_turn',
      usage: {
        inputTokens: estimateRequestTokens(request),
        outputTokens: estimateTokens(text),
      },
    });
  }

  /**
   * Whether this reply breaks the step's contract. An injected off-contract fault stands for a step
   * whose model keeps breaking it: the step's re-ask gets the same broken reply, and counts no fault
   * (the count is of step attempts). Models that mend on a re-ask are tested with other doubles.
   */
  private breaksContract(request: ModelRequest): boolean {
    if (request.reask) {
      const previous = request.messages?.findLast((turn) => turn.role === 'assistant');
      return previous?.text === offContractReply(request.script);
    }
    return this.takeFault('off-contract', request.stateName);
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

/**
 * Scripted tool use (a shortcut, not a model deciding): in an answering step's first round, every
 * tool whose required inputs can be filled from the request is called once. A required string with
 * a `pattern` gets the request's first match of it (no match: the tool is not called), one without
 * gets the whole request; a required number gets the request's first number. Other inputs are left out.
 */
function scriptedToolUses(request: ModelRequest): ToolUse[] {
  if (!request.tools?.length || request.script.kind !== 'answer' || request.messages?.length) return [];
  const text = request.script.request;
  return request.tools.flatMap((tool, index) => {
    const input = scriptedInput(tool.inputSchema, text);
    return input ? [{ id: `scripted-${String(index)}`, name: tool.name, input }] : [];
  });
}

interface PropertySchema {
  type?: unknown;
  pattern?: unknown;
}

function scriptedInput(schema: Record<string, unknown>, text: string): Record<string, unknown> | undefined {
  const properties = (schema.properties ?? {}) as Record<string, PropertySchema>;
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]).map(String) : [];
  const input: Record<string, unknown> = {};
  for (const name of required) {
    const value = scriptedValue(properties[name] ?? {}, text);
    if (value === undefined) return undefined;
    input[name] = value;
  }
  return input;
}

function scriptedValue(property: PropertySchema, text: string): string | number | undefined {
  if (property.type === 'number' || property.type === 'integer') {
    const number = /-?\d+(?:\.\d+)?/.exec(text)?.[0];
    return number === undefined ? undefined : Number(number);
  }
  if (property.type !== 'string') return undefined;
  if (typeof property.pattern !== 'string') return text;
  return new RegExp(property.pattern.replace(/^\^/, '').replace(/\$$/, '')).exec(text)?.[0];
}

/** The results of the tools called in the round before, one line each, after a scripted answer. */
function toolResultLines(request: ModelRequest): string {
  if (request.script.kind !== 'answer') return '';
  const turns = request.messages ?? [];
  const names = new Map(turns.flatMap((turn) => (turn.role === 'assistant' ? turn.toolUses.map((use) => [use.id, use.name] as const) : [])));
  const results = turns.flatMap((turn) => ('toolResults' in turn ? turn.toolResults : []));
  return results.map((result) => `\n[tool ${names.get(result.toolUseId) ?? 'unknown'}${result.isError ? ' error' : ''}] ${result.content}`).join('');
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
