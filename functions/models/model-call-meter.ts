/**
 * Counts what one agent step asks of its model: the calls made and the tokens their replies used.
 * A step may call its model more than once (a retry on an unusable answer, a tool loop, several
 * claims to check), so the step's result's `usage` alone does not say how many calls it made.
 * Wrap the model below the budget (BudgetedModel): a call a budget refuses never reaches the
 * model, and is not counted. A call that fails counts (it was made); it has no tokens.
 *
 * @example
 * ```ts
 * const meter = new ModelCallMeter();
 * const model = meter.wrap(bedrock);
 * await model.converse(request);
 * meter.usage(); // { modelCalls: 1, inputTokens: 340, outputTokens: 120 }
 * ```
 */
import type { ModelProvider, ModelReply, ModelRequest } from './model-provider.ts';

export interface MeteredUsage {
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
}

export class ModelCallMeter {
  private calls = 0;
  private inputTokens = 0;
  private outputTokens = 0;

  /** The model, counted by this meter. */
  public wrap(model: ModelProvider): ModelProvider {
    return {
      converse: async (request: ModelRequest): Promise<ModelReply> => {
        this.calls += 1;
        const reply = await model.converse(request);
        this.inputTokens += reply.usage.inputTokens;
        this.outputTokens += reply.usage.outputTokens;
        return reply;
      },
    };
  }

  /** What was counted so far. */
  public usage(): MeteredUsage {
    return { modelCalls: this.calls, inputTokens: this.inputTokens, outputTokens: this.outputTokens };
  }
}
