/**
 * The one interface every model sits behind: Amazon Bedrock in AWS, the scripted model offline.
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
  prompt: string;
  maxTokens: number;
  script: ScriptHint;
  /** The state machine state asking; for logs, and for the scripted model's injected faults. */
  stateName?: string | undefined;
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
}

export interface ModelProvider {
  converse(request: ModelRequest): Promise<ModelReply>;
}
