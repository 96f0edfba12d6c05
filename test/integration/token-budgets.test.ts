/**
 * Token budgets, enforced atomically in DynamoDB Local before and after every model call: the real
 * TokenBudgets store, and whole runs of the telecom team on the local runtime (real ASL, real
 * middy-wrapped handlers, the scripted model) with budgets small enough to be hit.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { TokenBudgets } from '../../functions/guards/budget-store.ts';
import { METRICS } from '../../functions/core/contract.ts';
import { BudgetExceededError } from '../../functions/core/errors.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { DynamoDbLocal, LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'test-team';

describe('Class: TokenBudgets (DynamoDB Local)', () => {
  let budgets: TokenBudgets;

  beforeAll(async () => {
    const db = await DynamoDbLocal.connect(inject('dynamoEndpoint'));
    budgets = new TokenBudgets({ team: TEST_TEAM, client: db.documentClient(), tableName: LOCAL_TABLE_NAME });
  });

  describe('Method: reserve', () => {
    it('admits exactly as many concurrent reservations as the agent budget holds', async () => {
      // Arrange
      const taskId = `budget-${randomUUID()}`;
      const limits = { agentId: 'billing', agentBudget: 500, taskBudget: 10_000 };

      // Act: ten calls of 100 tokens at once against a budget of 500.
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => budgets.reserve(taskId, limits, 100)));

      // Assess
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
      const refusals = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(refusals.every((refusal) => refusal.reason instanceof BudgetExceededError)).toBe(true);
      expect(await budgets.usage(taskId)).toEqual({ task: 500, agents: { billing: 500 } });
    });

    it('refuses a call over the task budget even when the agent has room, naming the scope', async () => {
      const taskId = `budget-${randomUUID()}`;
      await budgets.reserve(taskId, { agentId: 'a', agentBudget: 1000, taskBudget: 300 }, 250);

      const refusal = await budgets.reserve(taskId, { agentId: 'b', agentBudget: 1000, taskBudget: 300 }, 100).catch((error: unknown) => error);

      expect(refusal).toBeInstanceOf(BudgetExceededError);
      expect(refusal).toMatchObject({ scope: 'task', spent: 250, requested: 100, budget: 300 });
      expect((await budgets.usage(taskId)).agents).toEqual({ a: 250 });
    });
  });

  describe('Method: settle', () => {
    it('brings a reservation to what the call used, and releases it for a call that failed', async () => {
      const taskId = `budget-${randomUUID()}`;
      const limits = { agentId: 'a', agentBudget: 1000, taskBudget: 1000 };
      await budgets.reserve(taskId, limits, 100);
      await budgets.settle(taskId, 'a', 100, { inputTokens: 90, outputTokens: 60 });
      await budgets.reserve(taskId, limits, 100);
      await budgets.settle(taskId, 'a', 100, undefined);

      expect(await budgets.usage(taskId)).toEqual({ task: 150, agents: { a: 150 } });
    });
  });
});

describe('Feature: runs within token budgets (local runtime)', () => {
  let telecom: TeamDefinition;
  let endpoint: string;

  const withBudget = (agentId: string, tokenBudget: number): TeamDefinition => ({
    ...telecom,
    agents: telecom.agents.map((agent) => (agent.id === agentId ? { ...agent, tokenBudget } : agent)),
  });

  async function run(team: TeamDefinition, work?: (runtime: LocalRuntime, first: RunResult) => Promise<RunResult>): Promise<{ first: RunResult; last: RunResult; refused: number; usage: number }> {
    const runtime = await LocalRuntime.connect(endpoint, { model: new ScriptedModel() });
    try {
      const first = await runtime.run({ team, input: team.example, taskId: `budget-run-${randomUUID()}` });
      const last = work ? await work(runtime, first) : first;
      const db = await DynamoDbLocal.connect(endpoint);
      const usage = await new TokenBudgets({ team: team.name, client: db.documentClient(), tableName: LOCAL_TABLE_NAME }).usage(first.taskId);
      return { first, last, refused: runtime.telemetry.metricValues(METRICS.budgetsExceeded).reduce((sum, value) => sum + value, 0), usage: usage.task };
    } finally {
      await runtime.stop();
    }
  }

  beforeAll(async () => {
    telecom = await loadTeamFile('teams/telecom-support.yaml');
    endpoint = inject('dynamoEndpoint');
  });

  it('spends exactly the tokens the steps used, within the default budgets', async () => {
    const { first, refused, usage } = await run(telecom);

    expect(first.status).toBe('SUCCEEDED');
    expect(refused).toBe(0);
    expect(usage).toBe(first.trace.reduce((sum, step) => sum + step.tokens, 0));
    expect(usage).toBeGreaterThan(0);
  });

  it('refuses the supervisor a call over its budget before the model is called, and escalates to a human', async () => {
    // Act: the supervisor's budget is smaller than its classification prompt (about 40 tokens).
    const { first, refused } = await run(withBudget('supervisor', 10));

    // Assess
    expect(first.status).toBe('WAITING');
    expect(first.modelCalls).toBe(0);
    expect(first.approval?.escalation.Error).toBe('BudgetExceededError');
    expect(first.approval?.escalation.Cause).toMatch(/would exceed agent supervisor's budget of 10/);
    expect(refused).toBe(1);
  });

  it('refuses a step when the task budget is spent, and recovers when a human approves', async () => {
    // Arrange: room for the classification and the two workers (about 650 tokens), not for the synthesis.
    const team = { ...telecom, limits: { ...telecom.limits, taskTokenBudget: 700 } };

    // Act
    const { first, last } = await run(team, (runtime, waiting) => runtime.approve({ team, taskId: waiting.taskId, output: { answer: 'answered by a human within budget' } }));

    // Assess
    expect(first.status).toBe('WAITING');
    expect(first.approval?.escalation.Cause).toMatch(/would exceed task .*'s budget of 700/);
    expect(last.status).toBe('SUCCEEDED');
    expect(last.output).toMatchObject({ output: { answer: 'answered by a human within budget' } });
  });
});
