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
 * Tools: the request's `tools` go out as Converse tool specifications and its `messages` (the turns
 * after the prompt) as Converse content blocks; the reply's `toolUse` blocks come back as
 * `toolUses`, with the stop reason. A reply that only asks for tools carries no text, and that is
 * no empty reply.
 *
 * Structured output: a request's `responseFormat` goes out as `outputConfig.textFormat` (a JSON
 * schema Bedrock holds the reply to). A model that does not offer it answers `ValidationException`;
 * the call is then made again without it, and that model is asked in text from then on (the step
 * reads and checks the reply either way, and re-asks).
 *
 * @example
 * ```ts
 * const model = new BedrockModel({ modelIds: { fast: 'anthropic.claude-3-haiku-20240307-v1:0', ... } });
 * const reply = await model.converse({ modelTier: 'fast', system, prompt, maxTokens: 300, script });
 * ```
 */
import {
  BedrockRuntimeClient,
  type ContentBlock,
  ConverseCommand,
  type ConverseCommandOutput,
  type Message,
  type OutputConfig,
  type ToolConfiguration,
  type ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import { AWS_PERMISSION_ERRORS, type ModelTier } from '../core/contract.ts';
import { InfrastructureError, ModelInvocationError } from '../core/errors.ts';
import { StructuredOutput } from './structured-output.ts';
import type { ConversationMessage, ModelProvider, ModelReply, ModelRequest, ResponseFormat, StopReason, ToolSpec, ToolUse } from './model-provider.ts';

/** Bedrock errors that mean Legion's request is refused (permissions, model access, model id, request): never the agent's failure. */
const REFUSED_REQUEST_ERRORS: readonly string[] = [...AWS_PERMISSION_ERRORS, 'ValidationException', 'ResourceNotFoundException'];

export interface BedrockModelOptions {
  modelIds: Record<ModelTier, string>;
  /** @default a client for the Lambda's own region */
  client?: BedrockRuntimeClient;
  /** Hears of a model that refused structured output (it is then asked in text). @default none */
  onStructuredOutputRefused?: ((modelId: string, reason: string) => void) | undefined;
}

export class BedrockModel implements ModelProvider {
  private readonly client: BedrockRuntimeClient;
  private readonly modelIds: Record<ModelTier, string>;
  private readonly structured: StructuredOutput;

  public constructor(options: BedrockModelOptions) {
    this.client = options.client ?? new BedrockRuntimeClient({});
    this.modelIds = options.modelIds;
    this.structured = new StructuredOutput(options.onStructuredOutputRefused);
  }

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const modelId = request.modelId ?? this.modelIds[request.modelTier];
    let output: ConverseCommandOutput;
    // A reply after the step's deadline is lost with the step (its Lambda times out): stop waiting then.
    const abortSignal = request.deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, request.deadline - Date.now()));
    const format = this.structured.formatFor(modelId, request);
    try {
      output = await this.client.send(
        new ConverseCommand({
          modelId,
          system: [{ text: request.system }],
          messages: [{ role: 'user', content: [{ text: request.prompt }] }, ...(request.messages ?? []).map(converseMessage)],
          inferenceConfig: { maxTokens: request.maxTokens, temperature: 0 },
          ...(request.tools?.length ? { toolConfig: toolConfiguration(request.tools) } : {}),
          ...(format ? { outputConfig: outputConfiguration(format) } : {}),
        }),
        abortSignal ? { abortSignal } : {},
      );
    } catch (error) {
      const name = (error as Error).name;
      if (format && name === 'ValidationException' && !abortSignal?.aborted) {
        // A prompt too long fails again without the format, and is reported as itself.
        return this.structured.withoutFormat(modelId, (error as Error).message, () => this.converse({ ...request, responseFormat: undefined }));
      }
      if (abortSignal?.aborted) throw new ModelInvocationError(modelId, `Bedrock did not answer before the step's deadline (tier ${request.modelTier})`, { cause: error });
      if (REFUSED_REQUEST_ERRORS.includes(name)) {
        throw new InfrastructureError(name, `Bedrock refused the call to model ${modelId} (tier ${request.modelTier}): ${(error as Error).message}`, { cause: error });
      }
      throw new ModelInvocationError(modelId, (error as Error).message, { cause: error });
    }
    const content = output.output?.message?.content ?? [];
    const text = content.map((block) => block.text ?? '').join('');
    const toolUses = content.flatMap((block) => (block.toolUse ? [toolUseOf(block.toolUse, modelId, request.modelTier)] : []));
    if (!text && toolUses.length === 0) throw new ModelInvocationError(modelId, `empty reply (stopReason ${output.stopReason ?? 'unknown'})`);
    return {
      text,
      modelId,
      usage: { inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 },
      stopReason: stopReasonOf(output.stopReason),
      ...(toolUses.length ? { toolUses } : {}),
    };
  }
}

/** One turn after the prompt as a Converse message. */
function converseMessage(message: ConversationMessage): Message {
  if (message.role === 'assistant') {
    // Converse rejects a blank text block: a turn that only asked for tools has none.
    const text: ContentBlock[] = message.text ? [{ text: message.text }] : [];
    return {
      role: 'assistant',
      content: [...text, ...message.toolUses.map((toolUse): ContentBlock => ({ toolUse: { toolUseId: toolUse.id, name: toolUse.name, input: asDocument(toolUse.input) } }))],
    };
  }
  if ('text' in message) return { role: 'user', content: [{ text: message.text }] };
  return {
    role: 'user',
    content: message.toolResults.map((result): ContentBlock => ({
      // `status` only where it says something: some models behind Converse refuse the field, and a result without it is a success.
      toolResult: { toolUseId: result.toolUseId, content: [{ text: result.content }], ...(result.isError ? { status: 'error' as const } : {}) },
    })),
  };
}

/**
 * A tool's input or schema is JSON (it came from a model's reply or a tool definition), which is what
 * the SDK's document type describes; TypeScript cannot see that through `unknown` values.
 */
function asDocument(value: Record<string, unknown>): NonNullable<ToolUseBlock['input']> {
  return value as NonNullable<ToolUseBlock['input']>;
}

/** Converse takes the schema as JSON text. */
function outputConfiguration(format: ResponseFormat): OutputConfig {
  return { textFormat: { type: 'json_schema', structure: { jsonSchema: { name: format.name, schema: JSON.stringify(format.schema) } } } };
}

function toolConfiguration(tools: readonly ToolSpec[]): ToolConfiguration {
  return { tools: tools.map((tool) => ({ toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: asDocument(tool.inputSchema) } } })) };
}

/**
 * A `toolUse` block of the reply. Bedrock checks the model's tool calls against their schemas (a
 * malformed one is its `malformed_tool_use` stop reason), so a block without an id, a name or an
 * object input is a reply Legion cannot use at all: an `InfrastructureError`, as an invalid response
 * of the OpenAI-compatible provider is.
 */
function toolUseOf(block: NonNullable<ContentBlock['toolUse']>, modelId: string, tier: ModelTier): ToolUse {
  const { toolUseId, name, input } = block;
  if (!toolUseId || !name || typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InfrastructureError('ModelResponseInvalid', `Bedrock model ${modelId} (tier ${tier}) answered with a tool use that has no id, no name or an input that is not an object: ${JSON.stringify(block).slice(0, 200)}`);
  }
  return { id: toolUseId, name, input };
}

/** Converse has more stop reasons than Legion tells apart: the others (a guardrail, a stop sequence) end the turn. */
function stopReasonOf(stopReason: string | undefined): StopReason {
  if (stopReason === 'tool_use') return 'tool_use';
  if (stopReason === 'max_tokens') return 'max_tokens';
  return 'end_turn';
}
