/**
 * Amazon Bedrock behind the model provider interface, through the Converse API. Each model tier
 * maps to a model id chosen at deploy time.
 *
 * Errors: the model failing to answer (throttling, `ServiceUnavailableException`, a 5xx, a model
 * timeout, an empty reply) is the agent's failure, `ModelInvocationError`, after the SDK's own
 * retries; the state machines retry it twice more, then take the pattern's graceful path (a worker
 * named as missing). Throttling stays there on purpose: a model's capacity is the agent's, and the
 * ASL's retries are its backoff. Bedrock refusing Legion's request is no failure of the agent but of
 * Legion's setup, and must not degrade a run silently: a permission error (the role lacks
 * `bedrock:InvokeModel` for the tier's model, or the model is not enabled in the account:
 * AWS_PERMISSION_ERRORS), `ValidationException` (a wrong model id, a request Legion built wrong) and
 * `ResourceNotFoundException` (no such model in the region) raise `InfrastructureError` (the
 * original name in `originalName`), which fails the run.
 *
 * @example
 * ```ts
 * const model = new BedrockModel({ modelIds: { fast: 'anthropic.claude-3-haiku-20240307-v1:0', ... } });
 * const reply = await model.converse({ modelTier: 'fast', system, prompt, maxTokens: 300, script });
 * ```
 */
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { AWS_PERMISSION_ERRORS, type ModelTier } from '../core/contract.ts';
import { InfrastructureError, ModelInvocationError } from '../core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from './model-provider.ts';

/** Bedrock errors that mean Legion's request is refused (permissions, model access, model id, request): never the agent's failure. */
const REFUSED_REQUEST_ERRORS: readonly string[] = [...AWS_PERMISSION_ERRORS, 'ValidationException', 'ResourceNotFoundException'];

export interface BedrockModelOptions {
  modelIds: Record<ModelTier, string>;
  /** @default a client for the Lambda's own region */
  client?: BedrockRuntimeClient;
}

export class BedrockModel implements ModelProvider {
  private readonly client: BedrockRuntimeClient;
  private readonly modelIds: Record<ModelTier, string>;

  public constructor(options: BedrockModelOptions) {
    this.client = options.client ?? new BedrockRuntimeClient({});
    this.modelIds = options.modelIds;
  }

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const modelId = request.modelId ?? this.modelIds[request.modelTier];
    let output: ConverseCommandOutput;
    // A reply after the step's deadline is lost with the step (its Lambda times out): stop waiting then.
    const abortSignal = request.deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, request.deadline - Date.now()));
    try {
      output = await this.client.send(
        new ConverseCommand({
          modelId,
          system: [{ text: request.system }],
          messages: [{ role: 'user', content: [{ text: request.prompt }] }],
          inferenceConfig: { maxTokens: request.maxTokens, temperature: 0 },
        }),
        abortSignal ? { abortSignal } : {},
      );
    } catch (error) {
      const name = (error as Error).name;
      if (abortSignal?.aborted) throw new ModelInvocationError(modelId, `Bedrock did not answer before the step's deadline (tier ${request.modelTier})`, { cause: error });
      if (REFUSED_REQUEST_ERRORS.includes(name)) {
        throw new InfrastructureError(name, `Bedrock refused the call to model ${modelId} (tier ${request.modelTier}): ${(error as Error).message}`, { cause: error });
      }
      throw new ModelInvocationError(modelId, (error as Error).message, { cause: error });
    }
    const text = (output.output?.message?.content ?? []).map((block) => block.text ?? '').join('');
    if (!text) throw new ModelInvocationError(modelId, `empty reply (stopReason ${output.stopReason ?? 'unknown'})`);
    return {
      text,
      modelId,
      usage: { inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 },
    };
  }
}
