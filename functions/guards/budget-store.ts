/**
 * Token budgets, enforced atomically in the checkpoint table (item `BUDGET` of the task's
 * partition): the tokens each agent has spent on a task, and the task's total. Before a model call
 * its input is reserved under a condition that neither the agent's budget (`tokenBudget`) nor the
 * task's (`limits.taskTokenBudget`) would be exceeded; a call that would exceed one is refused
 * with BudgetExceededError, before the model is called. After the call the reservation is settled
 * to what the call really used, so a reply that overruns the budget is paid for, and the next call
 * is refused.
 *
 * @example
 * ```ts
 * const budgets = new TokenBudgets({ client, tableName, team: 'telecom-support' });
 * await budgets.reserve('t-1', { agentId: 'billing', agentBudget: 4000, taskBudget: 50_000 }, 350);
 * await budgets.settle('t-1', 'billing', 350, { inputTokens: 340, outputTokens: 120 });
 * ```
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_TABLE, taskItemKey } from '../core/contract.ts';
import { BudgetExceededError } from '../core/errors.ts';
import type { TokenUsage } from '../models/model-provider.ts';

export const BUDGET_SK = 'BUDGET';
const TASK_TOTAL = 'taskTokens';
const agentAttribute = (agentId: string): string => `agentTokens_${agentId}`;

export interface BudgetLimits {
  agentId: string;
  /** Tokens the agent may spend on the task. */
  agentBudget: number;
  /** Tokens all agents together may spend on the task. */
  taskBudget: number;
}

export interface BudgetUsage {
  task: number;
  agents: Record<string, number>;
}

export interface TokenBudgetsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The team whose tasks the store reaches: every key carries it (team isolation). */
  team: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
}

export class TokenBudgets {
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  public constructor(private readonly options: TokenBudgetsOptions) {
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
  }

  /** The same store for another team's tasks (control functions scope themselves per call). */
  public forTeam(team: string): TokenBudgets {
    return team === this.options.team ? this : new TokenBudgets({ ...this.options, team });
  }

  /**
   * Reserves `tokens` for a model call of `limits.agentId`, atomically.
   *
   * @throws {BudgetExceededError} when the agent's or the task's budget would be exceeded (nothing is reserved)
   */
  public async reserve(taskId: string, limits: BudgetLimits, tokens: number): Promise<void> {
    // The condition below only compares spent tokens, and a task's first call has none spent yet.
    if (tokens > limits.agentBudget || tokens > limits.taskBudget) throw await this.exceeded(taskId, limits, tokens);
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(taskId),
          UpdateExpression: 'ADD #task :tokens, #agent :tokens SET #expiresAt = :expiresAt',
          ConditionExpression: '(attribute_not_exists(#task) OR #task <= :taskRoom) AND (attribute_not_exists(#agent) OR #agent <= :agentRoom)',
          ExpressionAttributeNames: { '#task': TASK_TOTAL, '#agent': agentAttribute(limits.agentId), '#expiresAt': CHECKPOINT_TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ':tokens': tokens,
            ':taskRoom': limits.taskBudget - tokens,
            ':agentRoom': limits.agentBudget - tokens,
            ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds,
          },
        }),
      );
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
      throw await this.exceeded(taskId, limits, tokens);
    }
  }

  /** Settles a reservation to what the call used (or, for a call that failed, to nothing). */
  public async settle(taskId: string, agentId: string, reserved: number, used: TokenUsage | undefined): Promise<void> {
    const delta = (used ? used.inputTokens + used.outputTokens : 0) - reserved;
    if (delta === 0) return;
    await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.key(taskId),
        UpdateExpression: 'ADD #task :delta, #agent :delta',
        ExpressionAttributeNames: { '#task': TASK_TOTAL, '#agent': agentAttribute(agentId) },
        ExpressionAttributeValues: { ':delta': delta },
      }),
    );
  }

  /** Tokens spent on a task, in all and per agent. */
  public async usage(taskId: string): Promise<BudgetUsage> {
    const stored = await this.options.client.send(new GetCommand({ TableName: this.options.tableName, Key: this.key(taskId), ConsistentRead: true }));
    const item = stored.Item ?? {};
    const prefix = agentAttribute('');
    const agents = Object.fromEntries(
      Object.entries(item)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, value]) => [name.slice(prefix.length), Number(value)]),
    );
    return { task: Number(item[TASK_TOTAL] ?? 0), agents };
  }

  private async exceeded(taskId: string, limits: BudgetLimits, tokens: number): Promise<BudgetExceededError> {
    const usage = await this.usage(taskId);
    const agentSpent = usage.agents[limits.agentId] ?? 0;
    return agentSpent + tokens > limits.agentBudget
      ? new BudgetExceededError(taskId, limits.agentId, 'agent', agentSpent, tokens, limits.agentBudget)
      : new BudgetExceededError(taskId, limits.agentId, 'task', usage.task, tokens, limits.taskBudget);
  }

  private key(taskId: string): Record<string, string> {
    return taskItemKey(this.options.team, taskId, BUDGET_SK);
  }
}
