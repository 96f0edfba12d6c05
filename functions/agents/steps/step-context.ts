import type { Logger } from '@aws-lambda-powertools/logger';
import type { AgentConfig } from '../../core/config.ts';
import type { ConversationTurn } from '../../core/agent-contract.ts';
import type { ModelProvider } from '../../models/model-provider.ts';
import type { ToolOutcome } from '../../tools/tool-caller.ts';

/** What every step implementation gets besides its event. */
export interface StepContext {
  config: AgentConfig;
  model: ModelProvider;
  logger: Logger;
  /**
   * Calls one of the agent's tools itself (not through the model), once per step like the tool
   * loop's calls: recorded, restored on a resume. @default none: the agent has no tools
   * @throws {ConfigurationError} when the agent has no tool of that name
   */
  callTool?: ((name: string, input: Record<string, unknown>) => Promise<ToolOutcome>) | undefined;
}

/** Upper bound on the tokens one reply may use: the agent's budget, capped for one call. */
export function maxReplyTokens(config: AgentConfig): number {
  return Math.min(1024, config.agent.tokenBudget);
}

/** The conversation so far, as prompt text. */
export function renderConversation(turns: readonly ConversationTurn[]): string {
  if (turns.length === 0) return '(no earlier turns)';
  return turns.map((turn) => `${turn.from}: ${turn.text}`).join('\n');
}
