/**
 * The real statemachines/supervisor-worker.asl.json, run by the local runtime with the real
 * middy-wrapped agent handlers, against DynamoDB Local (started once in test/global-setup.ts).
 * Models are the scripted model (keyword intents, templated answers), except where a test names
 * a fake model of its own.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { verifyCheckpoint } from '../../functions/recovery/checkpoint-manager.ts';
import { ModelInvocationError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';

interface Answer {
  answer: string;
  intents: string[];
  handledBy: string[];
  conversation: { from: string; text: string }[];
}

const taskId = (): string => `it-${randomUUID()}`;

describe('Pattern: supervisor-worker (local runtime, DynamoDB Local)', () => {
  let runtime: LocalRuntime;
  let team: TeamDefinition;

  beforeAll(async () => {
    runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    team = await loadTeamFile('teams/telecom-support.yaml');
  });
  afterAll(() => runtime.stop());

  const run = (request: string, extra: Record<string, unknown> = {}): Promise<RunResult> =>
    runtime.run({ team, input: { request, ...extra }, taskId: taskId() });

  it('sends a single-intent request to the one matching worker', async () => {
    const result = await run('I would like to upgrade my plan');
    const output = result.output as Answer;

    expect(result.status).toBe('SUCCEEDED');
    expect(output.intents).toEqual(['account-management']);
    expect(output.handledBy).toEqual(['account-management']);
    expect(output.answer).toContain('Account management');
    expect((result.output as { degraded: unknown }).degraded).toEqual([]);
    expect(result.trace.map((step) => `${step.agent}:${step.state}`)).toEqual([
      'supervisor:Classify',
      'account-management:Work',
      'supervisor:Synthesize',
    ]);
  });

  it('sends a multi-intent request to every matching worker and merges their answers', async () => {
    const result = await run('I was overcharged on my bill, my internet is slow and I want to cancel my contract');
    const output = result.output as Answer;

    expect(result.status).toBe('SUCCEEDED');
    expect(output.intents).toEqual(['billing', 'technical-support', 'account-management']);
    expect(output.answer).toContain('Billing:');
    expect(output.answer).toContain('Technical support:');
    expect(output.answer).toContain('Account management:');
    const workers = result.trace.filter((step) => step.state === 'Work').map((step) => step.agent);
    expect(workers.sort()).toEqual(['account-management', 'billing', 'technical-support']);
  });

  it('answers an unclassifiable request with the team fallback and calls no worker', async () => {
    const result = await run('Hello, is anybody there?');
    const output = result.output as Answer;

    expect(result.status).toBe('SUCCEEDED');
    expect(output.answer).toBe(team.fallbackAnswer);
    expect(output.intents).toEqual([]);
    expect(result.trace.map((step) => step.state)).toEqual(['Classify']);
  });

  it('keeps the conversation context: earlier turns, the request and the reply', async () => {
    const conversation = [
      { from: 'customer', text: 'Hi' },
      { from: 'agent', text: 'Hello, how can I help?' },
    ];
    const result = await run('My router has no signal', { conversation });
    const output = result.output as Answer;

    expect(output.conversation.slice(0, 2)).toEqual(conversation);
    expect(output.conversation[2]).toEqual({ from: 'customer', text: 'My router has no signal' });
    expect(output.conversation[3]).toEqual({ from: 'agent', text: output.answer });
  });

  it('writes one valid, unexpired checkpoint per agent step to the table', async () => {
    const id = taskId();
    const before = Math.floor(Date.now() / 1000);
    const result = await runtime.run({ team, input: { request: 'refund the charge on my invoice and fix my wifi' }, taskId: id });
    const stored = await runtime.checkpoints(id);

    expect(result.checkpoints).toBe(4);
    expect(stored).toHaveLength(4);
    expect(stored.map((checkpoint) => checkpoint.sequence)).toEqual([1, 2, 3, 4]);
    for (const checkpoint of stored) {
      expect(verifyCheckpoint(checkpoint)).toBe(true);
      expect(checkpoint.valid).toBe(true);
      expect(checkpoint.taskId).toBe(id);
      expect(checkpoint.expiresAt).toBeGreaterThan(before + 86_400);
      expect(checkpoint.tokens).toBeGreaterThan(0);
    }
    const synthesis = JSON.parse(stored[3]?.state ?? 'null') as Answer;
    expect(synthesis.answer).toBe((result.output as Answer).answer);
  });

  it('keeps the checkpoints of different tasks apart', async () => {
    const [first, second] = [taskId(), taskId()];
    await runtime.run({ team, input: { request: 'my bill is wrong' }, taskId: first });
    await runtime.run({ team, input: { request: 'hello' }, taskId: second });

    expect((await runtime.checkpoints(first)).every((checkpoint) => checkpoint.taskId === first)).toBe(true);
    expect(await runtime.checkpoints(second)).toHaveLength(1);
  });

  it('rejects input that does not match the pattern before running anything', async () => {
    await expect(runtime.run({ team, input: { text: 'no request field' }, taskId: taskId() })).rejects.toThrow(/request/);
  });
});

/** A fake model (not the scripted one): it fails every call for one agent, to test worker failure. */
class FailingForAgentModel implements ModelProvider {
  public calls = 0;
  private readonly scripted = new ScriptedModel();

  public constructor(private readonly failingAgent: string) {}

  public converse(request: ModelRequest) {
    if (request.script.kind === 'answer' && request.script.agentId === this.failingAgent) {
      this.calls += 1;
      return Promise.reject(new ModelInvocationError('fake', 'service unavailable'));
    }
    return this.scripted.converse(request);
  }
}

describe('Pattern: supervisor-worker with a failing worker', () => {
  it('retries the worker, then answers with the others and names the failed team', async () => {
    const model = new FailingForAgentModel('billing');
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'), { model });
    try {
      const team = await loadTeamFile('teams/telecom-support.yaml');
      const result = await runtime.run({ team, input: { request: 'my bill is wrong and my wifi is down' }, taskId: taskId() });
      const output = result.output as Answer;

      expect(result.status).toBe('SUCCEEDED');
      expect(model.calls).toBe(3); // the first call and the two retries the ASL allows
      expect(output.handledBy).toEqual(['technical-support']);
      expect(output.answer).toContain('Technical support:');
      expect(output.answer).toContain('Our billing team could not answer right now');
      // Said in the result too, not only in the text: the run succeeded with a part missing.
      expect((result.output as { degraded: unknown }).degraded).toEqual([{ agentId: 'billing', reason: 'ModelInvocationError' }]);
    } finally {
      await runtime.stop();
    }
  });
});

describe('Pattern: supervisor-worker with another team definition', () => {
  it('runs a different team on the same generic ASL', async () => {
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    try {
      const team = await loadTeamFile('test/fixtures/teams/it-helpdesk.yaml');
      const result = await runtime.run({ team, input: { request: 'my vpn password expired' }, taskId: taskId() });
      const output = result.output as Answer;

      expect(result.status).toBe('SUCCEEDED');
      expect(output.intents).toEqual(['access']);
      expect(result.trace.map((step) => step.agent)).toEqual(['dispatcher', 'access', 'dispatcher']);
    } finally {
      await runtime.stop();
    }
  });
});

/** A fake model (not the scripted one) whose every call fails, to test a failed run. */
class UnavailableModel implements ModelProvider {
  public converse(): Promise<never> {
    return Promise.reject(new ModelInvocationError('fake', 'throttled'));
  }
}

describe('Pattern: supervisor-worker when the supervisor cannot classify', () => {
  it('ends FAILED with the error the supervisor raised, and writes no checkpoint', async () => {
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'), { model: new UnavailableModel() });
    try {
      const team = await loadTeamFile('teams/telecom-support.yaml');
      const result = await runtime.run({ team, input: { request: 'my bill is wrong' }, taskId: taskId() });

      expect(result.status).toBe('FAILED');
      expect(result.error?.error).toBe('ModelInvocationError');
      expect(result.error?.cause).toMatch(/throttled/);
      expect(result.output).toBeNull();
      expect(result.checkpoints).toBe(0);
    } finally {
      await runtime.stop();
    }
  });
});
