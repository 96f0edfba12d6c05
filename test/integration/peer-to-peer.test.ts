/**
 * The real statemachines/peer-to-peer.asl.json, run by the local runtime with the real
 * middy-wrapped agent handlers, against DynamoDB Local (started once in test/global-setup.ts).
 * Models are the scripted model (round 1: every reviewer backs its own proposal; round 2: all back
 * the one answering the most concerns, ties to the earliest reviewer), except where a test names a
 * test double of its own.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Tally, Verification } from '../../functions/patterns/peer-to-peer/contract.ts';
import { ModelInvocationError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';

interface Negotiated {
  answer: string;
  proposedBy: string;
  agreed: boolean;
  support: Tally['support'];
  quorum: number;
  rounds: number;
  verified: boolean;
  hallucination: boolean;
  confidence: Verification['confidence'];
  verification: Verification;
}

/** States whose steps call a model (the tally and the verification do not). */
const MODEL_STATES = ['Propose', 'Critique'];

const newTaskId = (): string => `p2p-${randomUUID()}`;
const outputOf = (result: RunResult): Negotiated => result.output as Negotiated;
const stepsIn = (result: RunResult, state: string): number => result.trace.filter((step) => step.state === state).length;

/** TEST DOUBLE (not the scripted model): every call of the named agents fails with ModelInvocationError; the others get scripted replies. */
class FailingPeersModel implements ModelProvider {
  public failedCalls = 0;
  private readonly scripted = new ScriptedModel();
  private readonly failingPrompts: string[];

  public constructor(team: TeamDefinition, failing: readonly string[]) {
    this.failingPrompts = team.agents.filter((agent) => failing.includes(agent.id)).map((agent) => agent.systemPrompt);
  }

  public converse(request: ModelRequest): Promise<ModelReply> {
    if (!this.failingPrompts.includes(request.system)) return this.scripted.converse(request);
    this.failedCalls += 1;
    return Promise.reject(new ModelInvocationError('fake', 'peer model unavailable'));
  }
}

/** TEST DOUBLE (not the scripted model): scripted replies, except that every proposal's claims cite a value the input does not give (a false premise). */
class FalsePremiseModel implements ModelProvider {
  private readonly scripted = new ScriptedModel();

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const reply = await this.scripted.converse(request);
    if (request.stateName !== 'Propose') return reply;
    const proposal = JSON.parse(reply.text) as { claims: { fact: string; value: unknown }[] };
    return { ...reply, text: JSON.stringify({ ...proposal, claims: proposal.claims.map((claim) => ({ ...claim, value: 'unlimited' })) }) };
  }
}

/**
 * TEST DOUBLE (not the scripted model): scripted replies, except that round-2 critiques wait on their
 * model until the run is aborted, as a process that crashed in the middle of those steps leaves them.
 */
class StallingModel implements ModelProvider {
  private readonly scripted = new ScriptedModel();

  public constructor(private readonly crash: AbortSignal) {}

  public converse(request: ModelRequest): Promise<ModelReply> {
    if (request.stateName !== 'Critique' || !request.prompt.includes('Round 2.')) return this.scripted.converse(request);
    const crashed = new ModelInvocationError('fake', 'the process crashed');
    if (this.crash.aborted) return Promise.reject(crashed);
    return new Promise((_resolve, reject) => {
      this.crash.addEventListener('abort', () => {
        reject(crashed);
      }, { once: true });
    });
  }
}

describe('Pattern: peer-to-peer (local runtime, DynamoDB Local)', () => {
  let endpoint: string;
  let team: TeamDefinition;
  let reference: RunResult;

  beforeAll(async () => {
    endpoint = inject('dynamoEndpoint');
    team = await loadTeamFile('teams/peer-review.yaml');
    reference = await run({ taskId: newTaskId() });
  });

  async function run(options: { taskId: string; model?: ModelProvider; runTeam?: TeamDefinition; input?: unknown }): Promise<RunResult> {
    const runtime = await LocalRuntime.connect(endpoint, options.model ? { model: options.model } : {});
    try {
      return await runtime.run({ team: options.runTeam ?? team, input: options.input ?? team.example, taskId: options.taskId });
    } finally {
      await runtime.stop();
    }
  }

  describe('Feature: negotiation', () => {
    it('agrees in round 2 after a round without quorum, and returns the verified answer', async () => {
      const taskId = newTaskId();
      const result = await run({ taskId });
      const output = outputOf(result);

      expect(result.status).toBe('SUCCEEDED');
      expect(output).toMatchObject({ agreed: true, rounds: 2, quorum: 0.66, verified: true, proposedBy: 'security-reviewer' });
      expect(output.support).toMatchObject({ count: 3, of: 3, required: 2, backers: ['security-reviewer', 'performance-reviewer', 'maintainability-reviewer'] });
      expect(output.answer).toMatch(/^Security review of "Should the checkout service cache/);
      expect(output.verification.checks.map((check) => `${check.fact}:${check.status}`)).toEqual(['dataClassification:confirmed', 'encryptionAtRest:confirmed']);
      // Two rounds of three proposals and three critiques, two tallies, one verification.
      expect([stepsIn(result, 'Propose'), stepsIn(result, 'Critique'), stepsIn(result, 'Tally'), stepsIn(result, 'Verify')]).toEqual([6, 6, 2, 1]);
      expect(result.modelCalls).toBe(12);
    });

    it('records each round: round 1 ends in continue with every reviewer backing itself, round 2 in agreed', async () => {
      const taskId = newTaskId();
      await run({ taskId });
      const runtime = await LocalRuntime.connect(endpoint);
      const tallies = (await runtime.checkpoints(taskId))
        .filter((checkpoint) => checkpoint.stateName === 'Tally')
        .map((checkpoint) => JSON.parse(checkpoint.state) as Tally);
      await runtime.stop();

      expect(tallies.map((tally) => [tally.round, tally.outcome])).toEqual([
        [1, 'continue'],
        [2, 'agreed'],
      ]);
      expect(tallies[0]?.support.byProposal).toEqual({ 'security-reviewer': 1, 'performance-reviewer': 1, 'maintainability-reviewer': 1 });
    });

    it('ends at maxRounds with the best-supported proposal marked not agreed', async () => {
      const oneRound: TeamDefinition = { ...team, limits: { ...team.limits, maxRounds: 1 } };
      const result = await run({ taskId: newTaskId(), runTeam: oneRound });
      const output = outputOf(result);

      expect(result.status).toBe('SUCCEEDED');
      expect(output).toMatchObject({ agreed: false, rounds: 1, verified: true });
      // A three-way tie of one backer each goes to the earliest reviewer of the team.
      expect(output.proposedBy).toBe('security-reviewer');
      expect(output.support).toMatchObject({ count: 1, required: 2, byProposal: { 'security-reviewer': 1, 'performance-reviewer': 1, 'maintainability-reviewer': 1 } });
      expect(stepsIn(result, 'Tally')).toBe(1);
    });
  });

  describe('Feature: a peer failing', () => {
    it('goes on without a peer whose model keeps failing, when the others can still reach the quorum', async () => {
      const model = new FailingPeersModel(team, ['security-reviewer']);
      const result = await run({ taskId: newTaskId(), model });
      const output = outputOf(result);

      expect(result.status).toBe('SUCCEEDED');
      expect(output).toMatchObject({ agreed: true, rounds: 2, verified: true, proposedBy: 'performance-reviewer' });
      // The failed peer counts as not backing: 2 of 3, which meets ceil(0.66 × 3) = 2.
      expect(output.support).toMatchObject({ count: 2, of: 3, required: 2, backers: ['performance-reviewer', 'maintainability-reviewer'] });
      // Two rounds of Propose and Critique, each tried once and retried twice by the ASL.
      expect(model.failedCalls).toBe(12);
      expect(result.trace.some((step) => step.agent === 'security-reviewer')).toBe(false);
      // The answer stands without the peer, and says so.
      expect((result.output as { degraded: unknown }).degraded).toEqual([{ agentId: 'security-reviewer', reason: 'ModelInvocationError' }]);
    });

    it('fails with QuorumUnreachable when too few peers answer to ever reach the quorum', async () => {
      const model = new FailingPeersModel(team, ['security-reviewer', 'performance-reviewer']);
      const result = await run({ taskId: newTaskId(), model });

      expect(result.status).toBe('FAILED');
      expect(result.error?.error).toBe('QuorumUnreachable');
      expect(stepsIn(result, 'Tally')).toBe(1);
    });
  });

  describe('Feature: verification', () => {
    it('returns an agreed answer resting on a false premise marked unverified, naming the contradicted claims', async () => {
      const result = await run({ taskId: newTaskId(), model: new FalsePremiseModel() });
      const output = outputOf(result);

      expect(result.status).toBe('SUCCEEDED');
      expect(output).toMatchObject({ agreed: true, verified: false });
      expect(output.verification.checks).toEqual([
        { fact: 'dataClassification', claimed: 'unlimited', expected: 'internal', status: 'contradicted' },
        { fact: 'encryptionAtRest', claimed: 'unlimited', expected: 'required', status: 'contradicted' },
      ]);
      expect(output.verification.reason).toMatch(/2 of 2 claims do not match the input/);
      // A unanimous agreement on contradicted claims is a hallucinated consensus: recorded, and the answer flagged.
      expect(output).toMatchObject({ hallucination: true, confidence: { agreement: 1, calibrated: 0 } });
      expect(result.detections.map((detection) => [detection.type, detection.action])).toEqual([['hallucination', 'flagged']]);
    });

    it('does not verify an answer when the input gives no facts to check it against', async () => {
      const result = await run({ taskId: newTaskId(), input: { question: 'Should we adopt trunk-based development?' } });
      const output = outputOf(result);

      expect(output).toMatchObject({ agreed: true, verified: false });
      expect(output.verification).toMatchObject({ checks: [], reason: 'the input gives no facts to check the answer against' });
      // Nothing checked is no failed verification: no detection, and no confidence beyond the prior.
      expect(output).toMatchObject({ hallucination: false, confidence: { agreement: 1, calibrated: 0.5 } });
      expect(result.detections).toEqual([]);
    });
  });

  describe('Feature: recovery', () => {
    it('resumes after a crash at the second critique round to the same output, calling models only for steps without a checkpoint', async () => {
      const taskId = newTaskId();
      const controller = new AbortController();
      const crashing = await LocalRuntime.connect(endpoint, { model: new StallingModel(controller.signal) });
      const resuming = await LocalRuntime.connect(endpoint);
      try {
        let critiqueRounds = 0;
        const crashed = await crashing.run({
          team,
          input: team.example,
          taskId,
          signal: controller.signal,
          onStateEntered: (state) => {
            if (state === 'CritiqueRound' && ++critiqueRounds === 2) controller.abort();
          },
        });
        const resumed = await resuming.resume({ team, taskId });
        const modelSteps = (await resuming.checkpoints(taskId)).filter((checkpoint) => checkpoint.valid && MODEL_STATES.includes(checkpoint.stateName));
        const doneBefore = modelSteps.filter((checkpoint) => checkpoint.epoch === 1).length;

        expect(crashed.status).toBe('ABORTED');
        expect(resumed.status).toBe('SUCCEEDED');
        expect(resumed.output).toEqual(reference.output);
        // Round 1 and the round-2 proposals were checkpointed; only the three round-2 critiques run again.
        expect(doneBefore).toBe(9);
        expect(resumed.modelCalls).toBe(reference.modelCalls - doneBefore);
        expect(modelSteps).toHaveLength(reference.modelCalls);
      } finally {
        await crashing.stop();
        await resuming.stop();
      }
    });

    it.each(['Propose', 'Critique'])('rolls back automatically after an off-contract reply in %s and ends with the same answer', async (stateName) => {
      const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName }] });
      const result = await run({ taskId: newTaskId(), model });

      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toEqual(reference.output);
      expect(result.rollbacks).toHaveLength(1);
      expect(result.rollbacks[0]).toMatchObject({ automatic: true, reason: expect.stringContaining('AgentOutputError') as unknown });
      // The bad reply was never checkpointed: one checkpoint per step, as in an undisturbed run.
      expect(result.trace.map((step) => `${step.agent}:${step.state}`).sort()).toEqual(reference.trace.map((step) => `${step.agent}:${step.state}`).sort());
    });
  });

  it('rejects input without a question before running anything', async () => {
    const runtime = await LocalRuntime.connect(endpoint);
    try {
      await expect(runtime.run({ team, input: { request: 'no question field' }, taskId: newTaskId() })).rejects.toThrow(/question/);
    } finally {
      await runtime.stop();
    }
  });
});
