/**
 * The invariants of agent step results (checkAgentResult) and the middleware that enforces them
 * (verifyOutput) on a real middy handler: consistent results pass, each broken invariant is named.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAgentResult } from '../../functions/agents/agent.ts';
import type { AgentEvent, Plan, Synthesis, WorkerResult } from '../../functions/core/agent-contract.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { ConsistencyViolationError } from '../../functions/core/errors.ts';
import { verifyOutput } from '../../functions/guards/verify-output.ts';
import type { TeamDefinition } from '../../functions/core/team.ts';
import { agentConfigOf, fakeFunctionArn, loadTelecomTeam } from '../support/telecom.ts';

const CONVERSATION = [{ from: 'customer' as const, text: 'my bill is wrong' }];
const USAGE = { inputTokens: 1, outputTokens: 1 };

describe('Function: checkAgentResult', () => {
  let team: TeamDefinition;
  let supervisor: AgentConfig;
  let billing: AgentConfig;
  let plan: Plan;

  beforeAll(async () => {
    team = await loadTelecomTeam();
    supervisor = agentConfigOf(team, 'supervisor');
    billing = agentConfigOf(team, 'billing');
    plan = {
      route: 'delegate',
      intents: ['billing'],
      assignments: [{ agentId: 'billing', functionArn: fakeFunctionArn(team.name, 'billing'), instruction: 'Answer the billing part.' }],
      conversation: CONVERSATION,
      usage: USAGE,
    };
  });

  const classifyEvent = (): AgentEvent => ({ step: 'classify', taskId: 't', stateName: 'Classify', input: { request: 'my bill is wrong', conversation: [] } });

  describe('Feature: classify', () => {
    it('accepts a plan built from the roster', () => {
      expect(checkAgentResult(classifyEvent(), plan, supervisor)).toEqual([]);
    });

    it.each<[string, (plan: Plan) => Plan, string]>([
      ['a forged function', (p) => ({ ...p, assignments: p.assignments.map((a) => ({ ...a, functionArn: 'arn:aws:lambda:us-east-1:666:function:evil' })) }), "assignment billing: function is not the roster's"],
      ['a worker outside the roster', (p) => ({ ...p, intents: ['refunds'], assignments: p.assignments.map((a) => ({ ...a, agentId: 'refunds' })) }), 'assignment refunds: not a worker of the roster'],
      ['a worker assigned twice', (p) => ({ ...p, assignments: [...p.assignments, ...p.assignments] }), 'a worker is assigned twice'],
      ['intents that differ from the assignments', (p) => ({ ...p, intents: ['billing', 'technical-support'] }), 'intents and assignments name different workers'],
      ['delegating to nobody', (p) => ({ ...p, intents: [], assignments: [] }), 'route delegate does not fit 0 assignments'],
      ['a fallback without its answer', (p) => ({ ...p, route: 'fallback', intents: [], assignments: [] }), 'route fallback without a fallback answer'],
    ])('names %s', (_what, tamper, problem) => {
      expect(checkAgentResult(classifyEvent(), tamper(plan), supervisor)).toContain(problem);
    });

    it('reports schema problems with their path', () => {
      expect(checkAgentResult(classifyEvent(), { ...plan, route: 'maybe' } as unknown as Plan, supervisor)).toEqual([
        expect.stringMatching(/^route: /) as unknown,
      ]);
    });
  });

  describe('Feature: work', () => {
    const workEvent = (): AgentEvent => ({
      step: 'work',
      taskId: 't',
      stateName: 'Work',
      request: 'my bill is wrong',
      conversation: CONVERSATION,
      assignment: { agentId: 'billing', functionArn: fakeFunctionArn(team.name, 'billing'), instruction: 'Answer.' },
    });

    it('accepts an answer from the assigned worker', () => {
      const answer: WorkerResult = { agentId: 'billing', status: 'ANSWERED', answer: 'Refund on its way.', usage: USAGE };
      expect(checkAgentResult(workEvent(), answer, billing)).toEqual([]);
    });

    it('names an answer from another worker and an empty answer', () => {
      const answer: WorkerResult = { agentId: 'technical-support', status: 'ANSWERED', answer: '  ' };
      expect(checkAgentResult(workEvent(), answer, billing)).toEqual([
        'answer is from technical-support, the assignment is for billing',
        'status ANSWERED with an empty answer',
      ]);
    });
  });

  describe('Feature: synthesize', () => {
    const results: WorkerResult[] = [
      { agentId: 'billing', status: 'ANSWERED', answer: 'Refund on its way.' },
      { agentId: 'technical-support', status: 'FAILED', answer: '' },
    ];
    const synthesizeEvent = (): AgentEvent => ({ step: 'synthesize', taskId: 't', stateName: 'Synthesize', input: { request: 'my bill is wrong', conversation: [] }, plan, results });
    const synthesis = (answer = 'Refund on its way.'): Synthesis => ({
      answer,
      intents: ['billing'],
      handledBy: ['billing'],
      conversation: [...CONVERSATION, { from: 'agent', text: answer }],
      usage: USAGE,
    });

    it('accepts a synthesis of exactly the workers that answered', () => {
      expect(checkAgentResult(synthesizeEvent(), synthesis(), supervisor)).toEqual([]);
    });

    it('names a worker claimed but not answered, changed intents and a conversation that does not end with the answer', () => {
      const tampered: Synthesis = { ...synthesis(), handledBy: ['billing', 'technical-support'], intents: [], conversation: CONVERSATION };
      expect(checkAgentResult(synthesizeEvent(), tampered, supervisor)).toEqual([
        'handledBy billing,technical-support is not the workers that answered (billing)',
        'intents differ from the plan',
        'conversation is not the plan conversation followed by this answer',
      ]);
    });
  });
});

describe('Function: verifyOutput', () => {
  const context = {} as Context;
  const handlerReturning = (result: { ok: boolean }) =>
    middy<{ stateName: string }, { ok: boolean }>(() => Promise.resolve(result)).use(
      verifyOutput<{ stateName: string }, { ok: boolean }>({ agentId: 'billing', check: (_event, value) => (value.ok ? [] : ['not ok']) }),
    );

  it('lets a consistent result through', async () => {
    await expect(handlerReturning({ ok: true })({ stateName: 'Work' }, context)).resolves.toEqual({ ok: true });
  });

  it('refuses an inconsistent result with a ConsistencyViolationError naming agent, state and problems', async () => {
    const outcome = handlerReturning({ ok: false })({ stateName: 'Work' }, context);
    await expect(outcome).rejects.toBeInstanceOf(ConsistencyViolationError);
    await expect(outcome).rejects.toMatchObject({ agent: 'billing', stateName: 'Work', problems: ['not ok'] });
  });
});
