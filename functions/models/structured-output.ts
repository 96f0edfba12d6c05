/**
 * What a provider remembers of structured output: which models refused it. A refused request is
 * asked again without the format; only when that succeeds was the format the problem, and the model
 * is asked in text from then on (for this instance: a cold start tries again), said once.
 *
 * @example
 * ```ts
 * const format = this.structured.formatFor(modelId, request);
 * // ... the call failed the way this provider refuses a format:
 * return this.structured.withoutFormat(modelId, reason, () => this.converse({ ...request, responseFormat: undefined }));
 * ```
 */
import type { ModelReply, ModelRequest, ResponseFormat } from './model-provider.ts';

export class StructuredOutput {
  private readonly textOnlyModels = new Set<string>();

  public constructor(private readonly onRefused?: (modelId: string, reason: string) => void) {}

  /** The format to send this model, if any. */
  public formatFor(modelId: string, request: ModelRequest): ResponseFormat | undefined {
    return this.textOnlyModels.has(modelId) ? undefined : request.responseFormat;
  }

  /** Asks again without the format; when that answers, the model is remembered as text-only. */
  public async withoutFormat(modelId: string, reason: string, askAgain: () => Promise<ModelReply>): Promise<ModelReply> {
    const reply = await askAgain();
    this.textOnlyModels.add(modelId);
    this.onRefused?.(modelId, reason);
    return reply;
  }
}
