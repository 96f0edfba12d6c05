/**
 * The one interface every model sits behind: Amazon Bedrock, an OpenAI-compatible server, or the
 * scripted model offline. It is shaped like the Bedrock Converse API: a system prompt, the user's
 * prompt and the turns after it (tool uses and their results), the tools on offer, and a reply
 * with its stop reason and usage.
 *
 * @example
 * ```ts
 * const reply = await provider.converse({ modelTier: 'fast', system: 'You route requests.',
 *   prompt: 'Which team handles: my bill is wrong?', maxTokens: 200,
 *   script: { kind: 'classify', request: 'my bill is wrong', candidates } });
 * reply.text; reply.usage.inputTokens;
 * ```
 */
import type { ModelTier } from '../core/contract.ts';

/** A candidate the supervisor may route to (for the scripted classifier). */
export interface ScriptCandidate {
  id: string;
  capabilities: readonly string[];
}

/**
 * What the step asks for, in a structured form. Real models ignore it and read `prompt`; the
 * scripted model (offline only) answers from it deterministically.
 */
export type ScriptHint =
  | { kind: 'classify'; request: string; candidates: readonly ScriptCandidate[] }
  | { kind: 'answer'; agentId: string; request: string; instruction: string; template?: string | undefined }
  | { kind: 'synthesize'; request: string; parts: readonly { agentId: string; answer: string }[] }
  /** The step works out its own deterministic offline reply (e.g. JSON it would accept). */
  | { kind: 'fixed'; text: string };

/** A tool the model may ask for: what Converse calls a tool specification. */
export interface ToolSpec {
  name: string;
  description: string;
  /** A JSON Schema (an object schema) for the tool's input. */
  inputSchema: Record<string, unknown>;
}

/** The model asking for one tool call. `id` pairs it with its result. */
export interface ToolUse {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** What a tool call gave back to the model: its output, or its error as text (`isError`). */
export interface ToolResult {
  toolUseId: string;
  content: string;
  isError: boolean;
}

/**
 * One turn after the request's prompt (the first user message): the model's turn (its text, and the
 * tools it asked for), the user's turn that answers it with their results, or the step's own words.
 */
export type ConversationMessage =
  | { role: 'assistant'; text: string; toolUses: readonly ToolUse[] }
  | { role: 'user'; toolResults: readonly ToolResult[] }
  /** The step speaking again: a re-ask after a reply it could not use. */
  | { role: 'user'; text: string };

/**
 * The JSON object a step wants as the reply's text, for a provider that can hold the model to a
 * schema (Bedrock's `outputConfig.textFormat`, Chat Completions' `response_format`). The step still
 * parses and checks the reply itself: a provider or model without structured output answers as text.
 */
export interface ResponseFormat {
  /** Letters, digits, `_` and `-`, at most 64 (the strictest provider's rule). */
  name: string;
  /** A JSON Schema (draft 2020-12) of an object, in the subset providers accept. */
  schema: Record<string, unknown>;
}

/** Why the model stopped: it answered, it asks for tools, or it ran out of tokens. */
export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens';

export interface ModelRequest {
  modelTier: ModelTier;
  /** The agent's own model (its definition's `model`), used instead of its tier's. @default the tier's */
  modelId?: string | undefined;
  /**
   * When the step runs out of time (epoch ms; the agent handler sets it from the agent's timeout):
   * a provider that retries stops waiting and retrying by then. @default none
   */
  deadline?: number | undefined;
  system: string;
  /** The first user message. */
  prompt: string;
  /** The turns after the prompt, oldest first (the tool loop adds them). @default none */
  messages?: readonly ConversationMessage[] | undefined;
  /** Tools the model may ask for. @default none */
  tools?: readonly ToolSpec[] | undefined;
  maxTokens: number;
  /** The reply's text must be this JSON object: providers that can, enforce it. @default free text */
  responseFormat?: ResponseFormat | undefined;
  script: ScriptHint;
  /** The state machine state asking; for logs, and for the scripted model's injected faults. */
  stateName?: string | undefined;
  /** This call re-asks after a reply the step could not use (counted as ModelReasks). @default false */
  reask?: boolean | undefined;
  /** The agent asking (the agent handler sets it); for logs, and for the scripted model's scenarios. */
  agentId?: string | undefined;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ModelReply {
  text: string;
  usage: TokenUsage;
  /** The model that answered (a Bedrock model id, or `scripted`). */
  modelId: string;
  /** @default 'end_turn' */
  stopReason?: StopReason | undefined;
  /** The tool calls the model asks for (with stopReason `tool_use`). @default none */
  toolUses?: readonly ToolUse[] | undefined;
}

export interface ModelProvider {
  converse(request: ModelRequest): Promise<ModelReply>;
}
