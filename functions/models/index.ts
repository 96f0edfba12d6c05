/**
 * The model providers an agent can use (`agent-legion/models`): Amazon Bedrock's Converse API, any
 * OpenAI-compatible Chat Completions server, and the deterministic scripted model that runs
 * offline. Give one to the local runtime to run a team against a real model in your own tests.
 *
 * @example
 * ```ts
 * import { OpenAiCompatibleModel } from 'agent-legion/models';
 * import { LocalRuntime } from 'agent-legion/local';
 *
 * const model = new OpenAiCompatibleModel({ baseUrl: 'http://localhost:11434/v1', modelIds: { fast: 'llama3.2', balanced: 'llama3.2', deep: 'llama3.2' } });
 * const runtime = await LocalRuntime.start({ model });
 * ```
 */
export type { ModelProvider, ModelReply, ModelRequest, TokenUsage, ToolSpec } from './model-provider.ts';
export { BedrockModel, type BedrockModelOptions } from './bedrock-model.ts';
export { OpenAiCompatibleModel, type OpenAiCompatibleModelOptions } from './openai-compatible-model.ts';
export { ScriptedModel, type ScriptedModelOptions } from './scripted-model.ts';
