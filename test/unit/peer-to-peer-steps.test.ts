/**
 * The peer-to-peer steps as pure functions: the deterministic tally (quorum, tie-break, outcomes),
 * the verification of claims, the scripted critic, and how a peer's reply is parsed. Models here
 * are the scripted model or a test double that returns one fixed text.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import { critique, critiqueProblems, scriptedCritique } from '../../functions/patterns/peer-to-peer/critique.ts';
import { propose } from '../../functions/patterns/peer-to-peer/propose.ts';
import { requiredBackers, tallyProblems, tallyRound } from '../../functions/patterns/peer-to-peer/tally.ts';
import { verificationProblems, verifyAnswer, verifyStep } from '../../functions/patterns/peer-to-peer/verify.ts';
import type { StepContext } from '../../functions/agents/steps/step-context.ts';
import type { Critique, CritiqueEvent, Proposal, ProposeEvent, TallyEvent, Verification, VerifyEvent } from '../../functions/patterns/peer-to-peer/contract.ts';
import { AgentOutputError } from '../../functions/core/errors.ts';
import type { ModelProvider, ModelReply } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type AgentDefinition, type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { agentConfigOf } from '../support/telecom.ts';

const PEERS = ['ana', 'ben', 'cy'];

function proposal(agentId: string, extra: Partial<Proposal> = {}): Proposal {
  return { agentId, round: 1, status: 'PROPOSED', proposal: `${agentId}'s plan`, claims: [], addresses: [], ...extra };
}

function backing(agentId: string, supports: string | null): Critique {
  return { agentId, round: 1, status: 'CRITIQUED', supports, critiques: [] };
}

const failed = (agentId: string) => ({ agentId, round: 1, status: 'FAILED' as const, error: 'ModelInvocationError' });

function tallyEvent(critiques: TallyEvent['critiques'], extra: Partial<TallyEvent> = {}): TallyEvent {
  return {
    step: 'tally',
    taskId: 't-1',
    stateName: 'Tally',
    stepId: '1',
    round: 1,
    maxRounds: 3,
    quorum: 2 / 3,
    peerIds: PEERS,
    ranks: PEERS.map(() => '1'),
    positions: [],
    proposals: PEERS.map((id) => proposal(id)),
    critiques,
    ...extra,
  };
}

describe('Function: requiredBackers', () => {
  it.each([
    [2 / 3, 3, 2],
    [0.66, 3, 2],
    [1, 3, 3],
    [0.5, 4, 2],
    [0.5, 3, 2],
    [0.75, 5, 4],
  ])('quorum %d of %d peers needs %d backers', (quorum, peers, expected) => {
    expect(requiredBackers(quorum, peers)).toBe(expected);
  });
});

describe('Function: tallyRound', () => {
  it('agrees when a quorum of the team backs one proposal', () => {
    const tally = tallyRound(tallyEvent([backing('ana', 'ben'), backing('ben', 'ben'), backing('cy', 'cy')]));

    expect(tally).toMatchObject({ outcome: 'agreed', agreed: true, best: { agentId: 'ben' }, support: { backers: ['ana', 'ben'], count: 2, required: 2 } });
  });

  it('breaks a tie by the earliest peer in definition order, and continues while rounds are left', () => {
    const tally = tallyRound(tallyEvent([backing('cy', 'cy'), backing('ben', 'ben'), backing('ana', 'ana')]));

    expect(tally).toMatchObject({ outcome: 'continue', agreed: false, best: { agentId: 'ana' }, support: { count: 1, byProposal: { ana: 1, ben: 1, cy: 1 } } });
  });

  it('prefers the most backers over definition order', () => {
    const tally = tallyRound(tallyEvent([backing('ana', 'cy'), backing('ben', 'ben'), backing('cy', 'cy')], { quorum: 1 }));

    expect(tally).toMatchObject({ outcome: 'continue', best: { agentId: 'cy' }, support: { count: 2, required: 3 } });
  });

  it('ends exhausted at maxRounds without quorum', () => {
    const tally = tallyRound(tallyEvent([backing('ana', 'ana'), backing('ben', 'ben'), backing('cy', 'cy')], { round: 3, stepId: '3' }));

    expect(tally.outcome).toBe('exhausted');
  });

  it('counts a failed peer as not backing, and is unreachable when too few peers answered', () => {
    const twoLeft = tallyRound(tallyEvent([failed('ana'), backing('ben', 'ben'), backing('cy', 'ben')]));
    const oneLeft = tallyRound(tallyEvent([failed('ana'), failed('ben'), backing('cy', 'cy')]));

    expect(twoLeft).toMatchObject({ outcome: 'agreed', support: { count: 2, of: 3 } });
    expect(oneLeft).toMatchObject({ outcome: 'unreachable', answering: 1 });
  });

  it('is unreachable when nobody proposed anything', () => {
    const tally = tallyRound(tallyEvent([backing('ana', null)], { proposals: PEERS.map(failed) }));

    expect(tally).toMatchObject({ outcome: 'unreachable', best: null });
  });
});

describe('Function: tallyRound (loops)', () => {
  const stalemate = [backing('ana', 'ana'), backing('ben', 'ben'), backing('cy', 'cy')];

  it('records each round\'s positions, in peer order, with a failed or abstaining peer as empty', () => {
    const tally = tallyRound(tallyEvent([failed('ana'), backing('ben', null), backing('cy', 'ben')], { positions: ['ana,ben,cy'] }));

    expect(tally.positions).toEqual(['ana,ben,cy', ',,ben']);
  });

  it('takes the highest-ranked peer\'s proposal when round 2 repeats round 1 (the conflict rule), before the round limit', () => {
    const tally = tallyRound(tallyEvent(stalemate, { round: 2, stepId: '2', positions: ['ana,ben,cy'], ranks: ['1', '3', '2'] }));

    expect(tally).toMatchObject({ outcome: 'looping', agreed: false, best: { agentId: 'ben' }, support: { backers: ['ben'], count: 1 } });
    expect(tally.loop).toMatchObject({ kind: 'repetition', ruling: 'ben', detection: { type: 'loop', step: 'Tally', stepId: 'round-2', action: 'conflict-rule', agents: PEERS } });
  });

  it('detects positions flipping back to those of two rounds before (A-B-A)', () => {
    const flipped = [backing('ana', 'ben'), backing('ben', 'cy'), backing('cy', 'ana')];
    const tally = tallyRound(tallyEvent(flipped, { round: 3, stepId: '3', maxRounds: 5, positions: ['ben,cy,ana', 'cy,ana,ben'], ranks: ['2', '1', '1'] }));

    expect(tally.loop).toMatchObject({ kind: 'oscillation', ruling: 'ana' });
  });

  it('escalates (no ruling) when the top rank is shared', () => {
    const tally = tallyRound(tallyEvent(stalemate, { round: 2, stepId: '2', positions: ['ana,ben,cy'], ranks: ['2', '2', '1'] }));

    expect(tally).toMatchObject({ outcome: 'looping', best: { agentId: 'ana' }, loop: { ruling: null, detection: { action: 'escalated' } } });
  });

  it('is no loop when positions change, when a quorum agrees, or at the round limit', () => {
    const moved = tallyRound(tallyEvent(stalemate, { round: 2, stepId: '2', positions: ['ben,ben,cy'] }));
    const agreed = tallyRound(tallyEvent([backing('ana', 'ben'), backing('ben', 'ben'), backing('cy', 'cy')], { round: 2, stepId: '2', positions: ['ben,ben,cy'] }));
    const last = tallyRound(tallyEvent(stalemate, { round: 3, stepId: '3', positions: ['ana,ben,cy', 'ana,ben,cy'] }));

    expect([moved.outcome, agreed.outcome, last.outcome]).toEqual(['continue', 'agreed', 'exhausted']);
    expect([moved.loop, agreed.loop, last.loop]).toEqual([null, null, null]);
  });

  it('is consistent by tallyProblems, which flags a loop without the looping outcome and a best the rule did not take', () => {
    const event = tallyEvent(stalemate, { round: 2, stepId: '2', positions: ['ana,ben,cy'], ranks: ['1', '3', '2'] });
    const honest = tallyRound(event);

    expect(tallyProblems(event, honest)).toEqual([]);
    expect(tallyProblems(event, { ...honest, outcome: 'continue', best: { agentId: 'ana', proposal: "ana's plan", claims: [] } })).toEqual(
      expect.arrayContaining(['outcome continue with a loop', "the conflict rule took ben's proposal, best is ana"]),
    );
  });
});

describe('Function: tallyProblems', () => {
  it('accepts what tallyRound computes', () => {
    const event = tallyEvent([backing('ana', 'ben'), backing('ben', 'ben'), backing('cy', 'cy')]);
    expect(tallyProblems(event, tallyRound(event))).toEqual([]);
  });

  it('flags a tally that would mislead the Choice: continue past the limit, agreed without quorum, a foreign best', () => {
    const event = tallyEvent([backing('ana', 'ana'), backing('ben', 'ben'), backing('cy', 'cy')], { round: 3, stepId: '3', maxRounds: 3 });
    const honest = tallyRound(event);
    const problems = tallyProblems(event, { ...honest, outcome: 'continue', agreed: true, best: { agentId: 'ana', proposal: 'something else', claims: [] } });

    expect(problems).toEqual(
      expect.arrayContaining([
        "best proposal is not ana's proposal of this round",
        'agreed is true with outcome continue',
        'agreed does not follow from the count and the quorum',
        'continue at round 3 of 3',
      ]),
    );
  });
});

describe('Function: verifyAnswer', () => {
  function verifyEvent(claims: Proposal['claims'], facts: Record<string, string | number | boolean>): VerifyEvent {
    const event = tallyEvent([backing('ana', 'ana'), backing('ben', 'ana'), backing('cy', 'ana')], {
      proposals: [proposal('ana', { claims }), proposal('ben'), proposal('cy')],
    });
    return { step: 'verify', taskId: 't-1', stateName: 'Verify', input: { question: 'q?', facts, highImpact: false }, tally: tallyRound(event) };
  }

  it('confirms claims that match the facts, ignoring case, blanks and number-as-text', () => {
    const event = verifyEvent([{ fact: 'tier', value: ' Internal ' }, { fact: 'rps', value: '1200' }], { tier: 'internal', rps: 1200 });
    const verification = verifyAnswer(event);

    expect(verification).toMatchObject({ verified: true, checkedProposal: 'ana', reason: 'all 2 claims match the facts of the input' });
    expect(verificationProblems(event, verification)).toEqual([]);
  });

  it('does not verify a contradicted claim or a claim about a fact the input does not give', () => {
    const verification = verifyAnswer(verifyEvent([{ fact: 'rps', value: 9000 }, { fact: 'budget', value: 5 }], { rps: 1200 }));

    expect(verification.verified).toBe(false);
    expect(verification.checks.map((check) => check.status)).toEqual(['contradicted', 'unknown-fact']);
    expect(verification.reason).toBe('2 of 2 claims do not match the input: rps=9000 (input: 1200); budget=5 (input: no such fact)');
  });

  it('does not verify an answer that cites no fact', () => {
    expect(verifyAnswer(verifyEvent([], { rps: 1200 }))).toMatchObject({ verified: false, checks: [], reason: expect.stringContaining('cites no fact') as unknown });
  });

  it('flags a verdict that does not fit its checks', () => {
    const event = verifyEvent([{ fact: 'rps', value: 9000 }], { rps: 1200 });
    expect(verificationProblems(event, { ...verifyAnswer(event), verified: true })).toEqual([
      'verified is true but not every claim is confirmed',
      'the confidence and the verdict disagree on verified',
    ]);
  });

  it('calibrates from the checks and takes the agreement from the tally: all three backing a contradicted claim is a hallucination', () => {
    const event = verifyEvent([{ fact: 'rps', value: 9000 }, { fact: 'tier', value: 'internal' }], { rps: 1200, tier: 'internal' });
    const verification = verifyAnswer(event);

    expect(verification.confidence).toEqual({ agreement: 1, calibrated: 0, threshold: 0.7, verified: false, detection: true });
    expect(verification.hallucination).toBe(true);
    expect(verificationProblems(event, verification)).toEqual([]);
  });

  it('is no hallucination when the support is below the threshold, however the claims fare', () => {
    const event = verifyEvent([{ fact: 'rps', value: 9000 }], { rps: 1200 });
    const weak = { ...event, tally: { ...event.tally, support: { ...event.tally.support, backers: ['ana', 'ben'], count: 2 } } };
    const verification = verifyAnswer(weak);

    expect(verification.confidence.agreement).toBeCloseTo(2 / 3);
    expect(verification).toMatchObject({ verified: false, hallucination: false, confidence: { calibrated: 0, detection: false } });
  });

  it('flags a confidence that does not follow from the tally and the checks', () => {
    const event = verifyEvent([{ fact: 'rps', value: 9000 }], { rps: 1200 });
    const honest = verifyAnswer(event);
    const forged = { ...honest, confidence: { ...honest.confidence, agreement: 0.5, calibrated: 0.9 }, hallucination: false, detection: null };

    expect(verificationProblems(event, forged)).toEqual([
      'agreement is 0.5, the tally\'s support is 3 of 3',
      'calibrated confidence above 0 with a contradicted claim',
      'hallucination is false, the confidence\'s detection true',
    ]);
  });
});

describe('Function: scriptedCritique (the scripted shortcut)', () => {
  let team: TeamDefinition;

  beforeAll(async () => {
    team = await loadTeamFile('teams/peer-review.yaml');
  });

  function agentNamed(id: string): AgentDefinition {
    const agent = team.agents.find((candidate) => candidate.id === id);
    if (!agent) throw new Error(`no agent ${id}`);
    return agent;
  }

  it('backs its own proposal in round 1 and criticises the others', () => {
    const reply = scriptedCritique(1, agentNamed('performance-reviewer'), ['security-reviewer', 'performance-reviewer', 'maintainability-reviewer'].map((id) => proposal(id)));

    expect(reply.supports).toBe('performance-reviewer');
    expect(reply.critiques.map((concern) => concern.target)).toEqual(['security-reviewer', 'maintainability-reviewer']);
  });

  it('backs the proposal answering the most concerns from round 2 on, ties to the earliest', () => {
    const offered = [proposal('a', { addresses: ['x'] }), proposal('b', { addresses: ['x', 'y'] }), proposal('c', { addresses: ['x', 'y'] })];
    expect(scriptedCritique(2, agentNamed('security-reviewer'), offered).supports).toBe('b');
  });
});

/** TEST DOUBLE (not the scripted model): answers every call with one fixed text. */
class FixedReplyModel implements ModelProvider {
  public constructor(private readonly text: string) {}

  public converse(): Promise<ModelReply> {
    return Promise.resolve({ text: this.text, modelId: 'fixed-reply-test-double', usage: { inputTokens: 1, outputTokens: 1 } });
  }
}

describe('Steps: propose and critique parse what a model says', () => {
  let team: TeamDefinition;
  const logger = new Logger({ serviceName: 'peer-to-peer-unit-test' });

  beforeAll(async () => {
    team = await loadTeamFile('teams/peer-review.yaml');
  });

  const contextFor = (agentId: string, model: ModelProvider): StepContext => ({ config: agentConfigOf(team, agentId), model, logger });
  const peer = (agentId: string) => ({ agentId, functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${agentId}` });
  const input = { question: 'Cache prices?', facts: { readsPerSecond: 1200, writesPerSecond: 15 }, highImpact: false };

  function proposeEvent(agentId: string): ProposeEvent {
    return { step: 'propose', taskId: 't-1', stateName: 'Propose', stepId: '1', round: 1, input, peer: peer(agentId), previous: { proposals: [], critiques: [] } };
  }

  function critiqueEvent(agentId: string, proposals: CritiqueEvent['proposals']): CritiqueEvent {
    return { step: 'critique', taskId: 't-1', stateName: 'Critique', stepId: '1', round: 1, input, peer: peer(agentId), proposals };
  }

  it('proposes with the scripted model: its template, and the facts named in its capabilities as claims', async () => {
    const result = await propose(proposeEvent('performance-reviewer'), contextFor('performance-reviewer', new ScriptedModel()));

    expect(result).toMatchObject({ agentId: 'performance-reviewer', round: 1, status: 'PROPOSED', addresses: [] });
    expect(result.proposal).toMatch(/^Performance review of "Cache prices\?"/);
    expect(result.claims).toEqual([
      { fact: 'readsPerSecond', value: 1200 },
      { fact: 'writesPerSecond', value: 15 },
    ]);
  });

  it('rejects a proposal that claims to answer a critic who raised no concern', async () => {
    const model = new FixedReplyModel('{"proposal": "Do it.", "claims": [], "addresses": ["security-reviewer"]}');
    await expect(propose(proposeEvent('performance-reviewer'), contextFor('performance-reviewer', model))).rejects.toThrow(AgentOutputError);
  });

  it('rejects a critique backing a peer that made no proposal, or criticising itself', async () => {
    const offered = [proposal('security-reviewer'), proposal('performance-reviewer')];
    const unknown = new FixedReplyModel('{"supports": "maintainability-reviewer", "critiques": []}');
    const self = new FixedReplyModel('{"supports": "security-reviewer", "critiques": [{"target": "performance-reviewer", "concern": "mine"}]}');

    await expect(critique(critiqueEvent('security-reviewer', offered), contextFor('security-reviewer', unknown))).rejects.toThrow(/supports maintainability-reviewer/);
    await expect(critique(critiqueEvent('performance-reviewer', offered), contextFor('performance-reviewer', self))).rejects.toThrow(/criticises its own proposal/);
  });

  it('abstains without calling its model when no proposal is on the table', async () => {
    const event = critiqueEvent('security-reviewer', [failed('performance-reviewer')]);
    const result = await critique(event, contextFor('security-reviewer', new FixedReplyModel('not JSON')));

    expect(result).toMatchObject({ supports: null, critiques: [] });
    expect(critiqueProblems(event, result, agentConfigOf(team, 'security-reviewer'))).toEqual([]);
  });
});

describe('Step: verify with a facts tool as the source of truth', () => {
  let team: TeamDefinition;
  beforeAll(async () => {
    team = await loadTeamFile('teams/peer-review.yaml');
  });

  const logger = new Logger({ serviceName: 'peer-to-peer-unit-test', logLevel: 'SILENT' });
  /** The tally of a run whose best proposal (ana's) cites these claims; the input's facts agree with them. */
  function verifyEvent(claims: Proposal['claims']): VerifyEvent {
    const event = tallyEvent([backing('ana', 'ana'), backing('ben', 'ana'), backing('cy', 'ana')], { proposals: [proposal('ana', { claims }), proposal('ben'), proposal('cy')] });
    return { step: 'verify', taskId: 't-1', stateName: 'Verify', input: { question: 'q?', facts: { rps: 1200, tier: 'internal' }, highImpact: false }, tally: tallyRound(event) };
  }
  /** TEST DOUBLE of the step's tool calls: answers with `outcome`, recording the calls. */
  function contextWith(outcome: { content: string; isError: boolean } | undefined) {
    const calls: [string, Record<string, unknown>][] = [];
    const config = agentConfigOf(team, 'verifier');
    const context: StepContext = {
      config: { ...config, agent: { ...config.agent, factsTool: 'fact_lookup' } },
      model: new ScriptedModel(),
      logger,
      ...(outcome ? { callTool: (name: string, input: Record<string, unknown>) => { calls.push([name, input]); return Promise.resolve(outcome); } } : {}),
    };
    return { context, calls };
  }

  it("checks the claims against the tool's facts, not the input's, and asks it for the facts the answer cites", async () => {
    const { context, calls } = contextWith({ content: JSON.stringify({ rps: 900, tier: 'internal' }), isError: false });
    const verification = (await verifyStep.run(verifyEvent([{ fact: 'rps', value: 1200 }, { fact: 'tier', value: 'internal' }]), context)) as Verification;

    expect(calls).toEqual([['fact_lookup', { facts: ['rps', 'tier'] }]]);
    expect(verification.verified).toBe(false);
    expect(verification.checks.map((check) => [check.fact, check.status])).toEqual([['rps', 'contradicted'], ['tier', 'confirmed']]);
    expect(verification.reason).toBe('1 of 2 claims do not match tool fact_lookup: rps=1200 (tool fact_lookup: 900)');
  });

  it('fails closed when the tool fails or answers something else than facts', async () => {
    const failing = contextWith({ content: 'Tool fact_lookup failed: timed out after 10000 ms', isError: true });
    await expect(verifyStep.run(verifyEvent([{ fact: 'rps', value: 1200 }]), failing.context)).rejects.toThrow(/Infrastructure failure \(FactSourceUnavailable\): the facts tool fact_lookup failed: Tool fact_lookup failed: timed out/);
    const rambling = contextWith({ content: 'rps is about a thousand', isError: false });
    await expect(verifyStep.run(verifyEvent([{ fact: 'rps', value: 1200 }]), rambling.context)).rejects.toThrow(/FactSourceInvalid.*did not answer with a JSON object of facts: rps is about a thousand/);
  });

  it('refuses a facts tool on a verifier without tools', async () => {
    await expect(verifyStep.run(verifyEvent([{ fact: 'rps', value: 1200 }]), contextWith(undefined).context)).rejects.toThrow(/factsTool fact_lookup is not one of its tools/);
  });
});
