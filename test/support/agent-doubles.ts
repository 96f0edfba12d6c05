/**
 * Test support for the agent step tests: TEST DOUBLES for what a step's dependencies hold, and the
 * context a step implementation is called with.
 *
 * @example
 * ```ts
 * const result = await runAgentStep(event, config, agentDependencies(new FixedReplyModel('{"intents":[]}')));
 * ```
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { AgentDependencies } from '../../functions/agents/agent-dependencies.ts';
import type { StepContext } from '../../functions/agents/steps/step-context.ts';
import type { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { METRICS } from '../../functions/core/contract.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';

/** TEST DOUBLE: a fake model provider that returns a fixed text and records the requests (not the scripted model). */
export class FixedReplyModel implements ModelProvider {
  public readonly requests: ModelRequest[] = [];

  public constructor(private readonly text: string) {}

  public converse(request: ModelRequest): Promise<ModelReply> {
    this.requests.push(request);
    return Promise.resolve({ text: this.text, modelId: 'fixed-reply-test-double', usage: { inputTokens: 3, outputTokens: 5 } });
  }
}

/** TEST DOUBLE: a model that must not be called. */
export const unusedModel: ModelProvider = { converse: () => Promise.reject(new Error('the model must not be called here')) };

/** runAgentStep never touches the checkpoint store (the checkpoint middleware does); this stand-in fails the test if anything does. */
export const unusedCheckpoints = new Proxy(
  {},
  {
    get: (_target, property) => {
      throw new Error(`checkpoint store used (${String(property)})`);
    },
  },
) as unknown as CheckpointManager;

/** What runAgentStep needs: the model given, silent telemetry, and no checkpoint store. */
export function agentDependencies(model: ModelProvider, serviceName = 'legion-unit-test'): AgentDependencies {
  return {
    model,
    checkpoints: unusedCheckpoints,
    logger: new Logger({ serviceName, logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName }),
    tracer: new Tracer({ serviceName, enabled: false }),
  };
}

/** The context a step implementation is called with. */
export const stepContext = (config: AgentConfig, model: ModelProvider): StepContext => ({ config, model, logger: new Logger({ logLevel: 'SILENT' }) });
