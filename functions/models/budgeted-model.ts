/**
 * A model provider that spends from token budgets: each call reserves its input (estimated from
 * the length of the prompt, the turns after it and the tool specs) against the agent's and the task's budget before it is made, and is then
 * settled to the tokens it really used (released if it failed). A call the budgets cannot afford
 * is refused with BudgetExceededError and never reaches the model.
 *
 * @example
 * ```ts
 * const model = new BudgetedModel(bedrock, budgets, { taskId: 't-1', agentId: 'billing', agentBudget: 4000, taskBudget: 50_000 });
 * await model.converse(request); // throws BudgetExceededError when over budget
 * ```
 */
import type { BudgetLimits, TokenBudgets } from '../guards/budget-store.ts';
import type { ModelProvider, ModelReply, ModelRequest } from './model-provider.ts';
import { estimateRequestTokens } from './scripted-model.ts';

export class BudgetedModel implements ModelProvider {
  public constructor(
    private readonly inner: ModelProvider,
    private readonly budgets: Pick<TokenBudgets, 'reserve' | 'settle'>,
    private readonly scope: BudgetLimits & { taskId: string },
  ) {}

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const { taskId, agentId } = this.scope;
    const reserved = estimateRequestTokens(request);
    await this.budgets.reserve(taskId, this.scope, reserved);
    let reply: ModelReply | undefined;
    try {
      reply = await this.inner.converse(request);
      return reply;
    } finally {
      await this.budgets.settle(taskId, agentId, reserved, reply?.usage);
    }
  }
}
