/**
 * The pure agent step (`runAgentStep`, no middlewares) of every role of the telecom team, with the
 * deterministic ScriptedModel and real Powertools Logger/Metrics/Tracer instances.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runAgentStep } from '../../functions/agents/agent.ts';
import { type AgentEvent, AgentEventSchema, type ConversationTurn, type Plan, PlanSchema, type Synthesis, SynthesisSchema, type WorkerResult, WorkerResultSchema } from '../../functions/core/agent-contract.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { METRICS } from '../../functions/core/contract.ts';
import { AgentOutputError, ConfigurationError, InvalidEventError } from '../../functions/core/errors.ts';
import type { ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import type { TeamDefinition } from '../../functions/core/team.ts';
import { agentConfigOf, fakeFunctionArn, loadTelecomTeam } from '../support/telecom.ts';
import { FixedReplyModel, agentDependencies, unusedModel } from '../support/agent-doubles.ts';

/** The ScriptedModel, recording what each step asked it. */
class RecordingScriptedModel extends ScriptedModel {
  public readonly requests: ModelRequest[] = [];

  public override converse(request: ModelRequest): Promise<ModelReply> {
    this.requests.push(request);
    return super.converse(request);
  }
}

/** Builds an event through the contract schema, so every event here is one the state machine may send. */
function eventOf(value: Record<string, unknown>): AgentEvent {
  return AgentEventSchema.parse({ taskId: 'task-unit-1', ...value });
}

const HISTORY: ConversationTurn[] = [
  { from: 'customer', text: 'Hi, I have a couple of problems with my service.' },
  { from: 'agent', text: 'Hello! I am happy to help. What is going on?' },
];

describe('Function: runAgentStep', () => {
  let team: TeamDefinition;
  let supervisor: AgentConfig;
  let billing: AgentConfig;
  let technicalSupport: AgentConfig;

  beforeAll(async () => {
    team = await loadTelecomTeam();
    supervisor = agentConfigOf(team, 'supervisor');
    billing = agentConfigOf(team, 'billing');
    technicalSupport = agentConfigOf(team, 'technical-support');
  });

  function classifyEvent(request: string, conversation: ConversationTurn[] = []): AgentEvent {
    return eventOf({ step: 'classify', stateName: 'Classify', input: { request, conversation } });
  }

  describe('Step: classify', () => {
    it('delegates a request with a single intent to that worker', async () => {
      // Act
      const plan = (await runAgentStep(classifyEvent('Why is my bill so high?'), supervisor, agentDependencies(new ScriptedModel()))) as Plan;

      // Assess
      expect(PlanSchema.parse(plan)).toEqual(plan);
      expect(plan.route).toBe('delegate');
      expect(plan.intents).toEqual(['billing']);
      expect(plan.assignments).toEqual([
        {
          agentId: 'billing',
          functionArn: fakeFunctionArn('telecom-support', 'billing'),
          instruction: 'Answer the billing part of the request.',
        },
      ]);
      expect(plan.fallback).toBeUndefined();
      expect(plan.usage.inputTokens).toBeGreaterThan(0);
      expect(plan.usage.outputTokens).toBeGreaterThan(0);
    });

    it('delegates a request with several intents to each worker, with the ARN from the roster', async () => {
      // Prepare
      const request = 'I was charged twice on my last bill and my internet has been slow all week.';

      // Act
      const plan = (await runAgentStep(classifyEvent(request), supervisor, agentDependencies(new ScriptedModel()))) as Plan;

      // Assess
      expect(plan.route).toBe('delegate');
      expect(plan.intents).toEqual(['billing', 'technical-support']);
      expect(plan.assignments.map((assignment) => [assignment.agentId, assignment.functionArn])).toEqual([
        ['billing', fakeFunctionArn('telecom-support', 'billing')],
        ['technical-support', fakeFunctionArn('telecom-support', 'technical-support')],
      ]);
    });

    it('takes each functionArn from the roster, never from the model reply', async () => {
      // Prepare: a roster with unusual ARNs, and a model that tries to name a function itself
      const roster = supervisor.roster.map((entry) => ({ ...entry, functionArn: `arn:aws:lambda:eu-west-1:111122223333:function:custom-${entry.id}` }));
      const config: AgentConfig = { ...supervisor, roster };
      const model = new FixedReplyModel(
        '{"intents": ["account-management"], "functionArn": "arn:aws:lambda:us-east-1:999999999999:function:evil"}',
      );

      // Act
      const plan = (await runAgentStep(classifyEvent('anything'), config, agentDependencies(model))) as Plan;

      // Assess
      expect(plan.assignments).toEqual([
        {
          agentId: 'account-management',
          functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:custom-account-management',
          instruction: 'Answer the account-management part of the request.',
        },
      ]);
      expect(JSON.stringify(plan)).not.toContain('evil');
    });

    it('routes a request without any intent to the fallback with the team fallback answer', async () => {
      // Prepare
      const request = 'What is the weather like in Lisbon tomorrow?';

      // Act
      const plan = (await runAgentStep(classifyEvent(request, HISTORY), supervisor, agentDependencies(new ScriptedModel()))) as Plan;

      // Assess
      expect(PlanSchema.parse(plan)).toEqual(plan);
      expect(plan.route).toBe('fallback');
      expect(plan.intents).toEqual([]);
      expect(plan.assignments).toEqual([]);
      expect(plan.fallback?.answer).toBe(team.fallbackAnswer);
      expect(plan.fallback?.conversation).toEqual([
        ...HISTORY,
        { from: 'customer', text: request },
        { from: 'agent', text: team.fallbackAnswer },
      ]);
    });

    it('appends the customer turn to the conversation it was given', async () => {
      // Act
      const plan = (await runAgentStep(classifyEvent('My router is broken', HISTORY), supervisor, agentDependencies(new ScriptedModel()))) as Plan;

      // Assess
      expect(plan.conversation).toEqual([...HISTORY, { from: 'customer', text: 'My router is broken' }]);
    });

    it('asks the model with the supervisor tier, prompt, budget and every worker of the roster', async () => {
      // Prepare
      const model = new RecordingScriptedModel();

      // Act
      await runAgentStep(classifyEvent('My router is broken', HISTORY), supervisor, agentDependencies(model));

      // Assess
      expect(model.requests).toHaveLength(1);
      const [asked] = model.requests;
      expect(asked?.modelTier).toBe('balanced');
      expect(asked?.system).toBe(supervisor.agent.systemPrompt);
      expect(asked?.maxTokens).toBe(1024); // min(1024, token budget 6000)
      for (const id of ['billing', 'technical-support', 'account-management']) expect(asked?.prompt).toContain(`- ${id}: `);
      expect(asked?.prompt).toContain('customer: Hi, I have a couple of problems with my service.');
      expect(asked?.prompt).toContain('Request: My router is broken');
    });

    it('accepts JSON wrapped in prose or a code fence, and removes repeated intents', async () => {
      // Prepare
      const model = new FixedReplyModel('Sure! ```json\n{"intents": ["billing", "technical-support", "billing"]}\n```');

      // Act
      const plan = (await runAgentStep(classifyEvent('anything'), supervisor, agentDependencies(model))) as Plan;

      // Assess
      expect(plan.intents).toEqual(['billing', 'technical-support']);
      expect(plan.assignments).toHaveLength(2);
    });

    it('rejects a model reply that names a worker outside the roster', async () => {
      // Prepare
      const model = new FixedReplyModel('{"intents": ["billing", "legal-department"]}');

      // Act
      const error = await runAgentStep(classifyEvent('anything'), supervisor, agentDependencies(model)).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(AgentOutputError);
      expect((error as AgentOutputError).agent).toBe('supervisor');
      expect((error as AgentOutputError).message).toMatch(/^Output of agent supervisor rejected: intents\.1: /);
    });

    it('rejects a model reply without JSON', async () => {
      // Prepare
      const model = new FixedReplyModel('I think billing should handle this.');

      // Act & Assess
      await expect(runAgentStep(classifyEvent('anything'), supervisor, agentDependencies(model))).rejects.toThrow(
        new AgentOutputError('supervisor', 'reply holds no JSON object'),
      );
    });

    it('rejects a model reply with malformed JSON', async () => {
      // Prepare
      const model = new FixedReplyModel('{"intents": [billing]}');

      // Act & Assess
      await expect(runAgentStep(classifyEvent('anything'), supervisor, agentDependencies(model))).rejects.toThrow(
        new AgentOutputError('supervisor', 'reply holds malformed JSON'),
      );
    });

    it('refuses to classify for a supervisor without workers', async () => {
      // Prepare
      const config: AgentConfig = { ...supervisor, roster: [] };

      // Act & Assess
      await expect(runAgentStep(classifyEvent('my bill'), config, agentDependencies(unusedModel))).rejects.toBeInstanceOf(ConfigurationError);
    });

    it('refuses the classify step when the agent is a worker', async () => {
      // Act
      const error = await runAgentStep(classifyEvent('my bill'), billing, agentDependencies(unusedModel)).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).handler).toBe('billing');
      expect((error as InvalidEventError).problems).toEqual(['a worker cannot run step "classify"']);
    });

    it('counts the step and the tokens it used', async () => {
      // Prepare
      const deps = agentDependencies(new ScriptedModel());
      const addMetric = vi.spyOn(deps.metrics, 'addMetric');

      // Act
      const plan = (await runAgentStep(classifyEvent('my bill'), supervisor, deps)) as Plan;

      // Assess
      expect(addMetric).toHaveBeenCalledWith(METRICS.tokensUsed, 'Count', plan.usage.inputTokens + plan.usage.outputTokens);
      expect(addMetric).toHaveBeenCalledWith(METRICS.agentSteps, 'Count', 1);
    });
  });

  describe('Step: work', () => {
    function workEvent(agentId: string, conversation: ConversationTurn[] = []): AgentEvent {
      return eventOf({
        step: 'work',
        stateName: 'Work',
        request: 'I was charged twice on my last bill.',
        assignment: {
          agentId,
          functionArn: fakeFunctionArn('telecom-support', agentId),
          instruction: `Answer the ${agentId} part of the request.`,
        },
        conversation,
      });
    }

    it('answers its assignment with its own template and budget', async () => {
      // Prepare
      const model = new RecordingScriptedModel();

      // Act
      const result = (await runAgentStep(workEvent('billing', HISTORY), billing, agentDependencies(model))) as WorkerResult;

      // Assess
      expect(WorkerResultSchema.parse(result)).toEqual(result);
      expect(result.agentId).toBe('billing');
      expect(result.status).toBe('ANSWERED');
      expect(result.answer).toMatch(/^Billing: I have reviewed the charges on your account for "I was charged twice on my last bill\."\./);
      expect(result.usage?.outputTokens).toBeGreaterThan(0);
      const [asked] = model.requests;
      expect(asked?.modelTier).toBe('fast');
      expect(asked?.system).toBe(billing.agent.systemPrompt);
      expect(asked?.maxTokens).toBe(1024); // min(1024, token budget 3000)
      expect(asked?.prompt).toContain('agent: Hello! I am happy to help. What is going on?');
      expect(asked?.prompt).toContain('Your task: Answer the billing part of the request.');
    });

    it('refuses an assignment meant for another agent, without calling the model', async () => {
      // Act
      const error = await runAgentStep(workEvent('technical-support'), billing, agentDependencies(unusedModel)).catch(
        (caught: unknown) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).handler).toBe('billing');
      expect((error as InvalidEventError).problems).toEqual(['assignment is for technical-support, not this agent']);
    });

    it('rejects an empty answer from the model', async () => {
      // Prepare
      const model = new FixedReplyModel('   \n ');

      // Act & Assess
      await expect(runAgentStep(workEvent('billing'), billing, agentDependencies(model))).rejects.toThrow(
        new AgentOutputError('billing', 'empty answer'),
      );
    });

    it('refuses the work step when the agent is the supervisor', async () => {
      // Act
      const error = await runAgentStep(workEvent('supervisor'), supervisor, agentDependencies(unusedModel)).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).problems).toEqual(['a supervisor cannot run step "work"']);
    });
  });

  describe('Step: synthesize', () => {
    const request = 'I was charged twice on my last bill and my internet has been slow all week.';

    function planFor(intents: string[]): Plan {
      return {
        route: 'delegate',
        intents,
        assignments: intents.map((id) => ({ agentId: id, functionArn: fakeFunctionArn('telecom-support', id), instruction: `Answer the ${id} part.` })),
        conversation: [...HISTORY, { from: 'customer', text: request }],
        usage: { inputTokens: 1, outputTokens: 1 },
      };
    }

    function synthesizeEvent(plan: Plan, results: WorkerResult[]): AgentEvent {
      return eventOf({ step: 'synthesize', stateName: 'Synthesize', input: { request, conversation: HISTORY }, plan, results });
    }

    it('merges every answer and appends the agent turn to the conversation', async () => {
      // Prepare
      const plan = planFor(['billing', 'technical-support']);
      const results: WorkerResult[] = [
        { agentId: 'billing', status: 'ANSWERED', answer: 'A refund is on its way.' },
        { agentId: 'technical-support', status: 'ANSWERED', answer: 'Please restart your router.' },
      ];

      // Act
      const synthesis = (await runAgentStep(synthesizeEvent(plan, results), supervisor, agentDependencies(new ScriptedModel()))) as Synthesis;

      // Assess
      expect(SynthesisSchema.parse(synthesis)).toEqual(synthesis);
      expect(synthesis.answer).toBe('A refund is on its way.\nPlease restart your router.');
      expect(synthesis.intents).toEqual(['billing', 'technical-support']);
      expect(synthesis.handledBy).toEqual(['billing', 'technical-support']);
      expect(synthesis.conversation).toEqual([...plan.conversation, { from: 'agent', text: synthesis.answer }]);
    });

    it('names the team that failed and keeps the answers that came', async () => {
      // Prepare
      const plan = planFor(['billing', 'technical-support']);
      const results: WorkerResult[] = [
        { agentId: 'billing', status: 'ANSWERED', answer: 'A refund is on its way.' },
        { agentId: 'technical-support', status: 'FAILED', answer: '' },
      ];

      // Act
      const synthesis = (await runAgentStep(synthesizeEvent(plan, results), supervisor, agentDependencies(new ScriptedModel()))) as Synthesis;

      // Assess
      expect(synthesis.answer).toBe(
        'A refund is on its way.\nOur technical-support team could not answer right now; we will follow up shortly.',
      );
      expect(synthesis.handledBy).toEqual(['billing']);
      expect(synthesis.intents).toEqual(['billing', 'technical-support']);
    });

    it('answers without the model when every worker failed', async () => {
      // Prepare
      const plan = planFor(['billing', 'technical-support']);
      const results: WorkerResult[] = [
        { agentId: 'billing', status: 'FAILED', answer: '' },
        { agentId: 'technical-support', status: 'FAILED', answer: '' },
      ];

      // Act
      const synthesis = (await runAgentStep(synthesizeEvent(plan, results), supervisor, agentDependencies(unusedModel))) as Synthesis;

      // Assess
      expect(synthesis.answer).toBe('Our billing and technical-support teams could not answer right now; we will follow up shortly.');
      expect(synthesis.handledBy).toEqual([]);
      expect(synthesis.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
      expect(synthesis.conversation.at(-1)).toEqual({ from: 'agent', text: synthesis.answer });
    });

    it('rejects an empty synthesis from the model', async () => {
      // Prepare
      const results: WorkerResult[] = [{ agentId: 'billing', status: 'ANSWERED', answer: 'A refund is on its way.' }];

      // Act & Assess
      await expect(
        runAgentStep(synthesizeEvent(planFor(['billing']), results), supervisor, agentDependencies(new FixedReplyModel(' '))),
      ).rejects.toThrow(new AgentOutputError('supervisor', 'empty synthesis'));
    });

    it('refuses the synthesize step when the agent is a worker', async () => {
      // Act & Assess
      await expect(
        runAgentStep(synthesizeEvent(planFor(['billing']), []), billing, agentDependencies(unusedModel)),
      ).rejects.toBeInstanceOf(InvalidEventError);
    });
  });

  describe('Conversation context', () => {
    it('carries the conversation through classify, work and synthesize', async () => {
      // Prepare
      const request = 'I was charged twice on my last bill and my internet has been slow all week.';
      const input = { request, conversation: HISTORY };
      const model = new ScriptedModel();

      // Act
      const plan = (await runAgentStep(
        eventOf({ step: 'classify', stateName: 'Classify', input }),
        supervisor,
        agentDependencies(model),
      )) as Plan;
      const workers = { billing, 'technical-support': technicalSupport } as Record<string, AgentConfig>;
      const results: WorkerResult[] = [];
      for (const assignment of plan.assignments) {
        const config = workers[assignment.agentId];
        if (!config) throw new Error(`no worker config for ${assignment.agentId}`);
        const event = eventOf({ step: 'work', stateName: 'Work', request, assignment, conversation: plan.conversation });
        results.push((await runAgentStep(event, config, agentDependencies(model))) as WorkerResult);
      }
      const synthesis = (await runAgentStep(
        eventOf({ step: 'synthesize', stateName: 'Synthesize', input, plan, results }),
        supervisor,
        agentDependencies(model),
      )) as Synthesis;

      // Assess
      expect(results.map((result) => result.agentId)).toEqual(['billing', 'technical-support']);
      expect(synthesis.handledBy).toEqual(['billing', 'technical-support']);
      expect(synthesis.answer).toContain('Billing: ');
      expect(synthesis.answer).toContain('Technical support: ');
      expect(synthesis.conversation).toEqual([
        ...HISTORY,
        { from: 'customer', text: request },
        { from: 'agent', text: synthesis.answer },
      ]);
    });
  });
});
