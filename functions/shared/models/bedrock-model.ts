/**
 * Amazon Bedrock behind the model provider interface, through the Converse API. Each model tier
 * maps to a model id chosen at deploy time.
 *
 * @example
 * ```ts
 * const model = new BedrockModel({ modelIds: { fast: 'anthropic.claude-3-haiku-20240307-v1:0', ... } });
 * const reply = await model.converse({ modelTier: 'fast', system, prompt, maxTokens: 300, script });
 * ```
 */
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import type { ModelTier } from '../contract.ts';
import { ModelInvocationError } from '../errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from './model-provider.ts';

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
    const modelId = this.modelIds[request.modelTier];
    let output: ConverseCommandOutput;
    try {
      output = await this.client.send(
        new ConverseCommand({
          modelId,
          system: [{ text: request.system }],
          messages: [{ role: 'user', content: [{ text: request.prompt }] }],
          inferenceConfig: { maxTokens: request.maxTokens, temperature: 0 },
        }),
      );
    } catch (error) {
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
