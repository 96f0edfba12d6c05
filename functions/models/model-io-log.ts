/**
 * A debugging aid, off by default: logs each model call's prompt and reply. Prompts and replies
 * hold customer text, so Legion never logs them unless an operator asks (`legion:logModelIo`, which
 * sets `LEGION_LOG_MODEL_IO=true` on the agents), and then in the agent's own log group only.
 *
 * @example
 * ```ts
 * const model = config.logModelIo ? withModelIoLog(provider, logger) : provider;
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ModelProvider } from './model-provider.ts';

export function withModelIoLog(model: ModelProvider, logger: Pick<Logger, 'info'>): ModelProvider {
  return {
    converse: async (request) => {
      const reply = await model.converse(request);
      logger.info('model call (legion:logModelIo is on)', {
        modelTier: request.modelTier,
        system: request.system,
        prompt: request.prompt,
        messages: request.messages ?? [],
        reply: { text: reply.text, toolUses: reply.toolUses ?? [], stopReason: reply.stopReason, modelId: reply.modelId },
      });
      return reply;
    },
  };
}
