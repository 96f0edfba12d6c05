/**
 * The auction's agent steps without middlewares: `execute` (the awarded bidder runs the task, with
 * the deterministic ScriptedModel or a test double) and `verify-award` (the verifier's check,
 * deterministic code, no model), their checks and their invariants, on the shipped marketplace team.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAgentResult, runAgentStep } from '../../functions/agents/agent.ts';
import { awardProblems, execute } from '../../functions/patterns/auction/execute.ts';
import { MIN_RESULT_CHARS, resultProblems, verifyAward, verifyAwardProblems } from '../../functions/patterns/auction/verify-award.ts';
import { type Award, AwardSchema, type ExecuteEvent, ExecuteEventSchema, type ExecuteResult, ExecuteResultSchema, type VerifyAwardEvent, VerifyAwardEventSchema, type VerifyAwardResult, VerifyAwardResultSchema } from '../../functions/patterns/auction/contract.ts';
import { AgentOutputError, InvalidEventError } from '../../functions/core/errors.ts';
import type { ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { agentConfigOf, fakeFunctionArn } from '../support/telecom.ts';
import { FixedReplyModel, agentDependencies, stepContext, unusedModel } from '../support/agent-doubles.ts';

const TASK = 'Translate the release notes of version 2.4 for our customers in Germany and France.';

/** The ScriptedModel, recording what each step asked it. */
class RecordingScriptedModel extends ScriptedModel {
  public readonly requests: ModelRequest[] = [];

  public override converse(request: ModelRequest): Promise<ModelReply> {
    this.requests.push(request);
    return super.converse(request);
  }
}


let marketplace: TeamDefinition;

beforeAll(async () => {
  marketplace = await loadTeamFile('teams/marketplace.yaml');
});

function awardTo(bidder: string, overrides: Partial<Award> = {}): Award {
  return AwardSchema.parse({ attempt: 1, round: 1, bidder, bidId: `${bidder}-r1`, score: 0.5, functionArn: fakeFunctionArn('marketplace', bidder), ...overrides });
}

function executeEvent(overrides: Partial<ExecuteEvent> = {}): ExecuteEvent {
  return ExecuteEventSchema.parse({
    step: 'execute', taskId: 't-unit', epoch: 1, stateName: 'RunWinner', stepId: 'award-1', task: TASK, requiredCapabilities: ['translation'], award: awardTo('polly'), ...overrides,
  });
}

function verifyEvent(result: Partial<ExecuteResult>, overrides: Partial<VerifyAwardEvent> = {}): VerifyAwardEvent {
  return VerifyAwardEventSchema.parse({
    step: 'verify-award', taskId: 't-unit', epoch: 1, stateName: 'VerifyAward', stepId: 'award-1', task: TASK, requiredCapabilities: ['translation', 'localisation'], award: awardTo('lexi'),
    result: { bidder: 'lexi', attempt: 1, output: 'translation: Die Versionshinweise.\nlocalisation: adapted for the German market.', ...result },
    ...overrides,
  });
}

describe('Step: execute (the awarded bidder runs the task)', () => {
  it('returns { bidder, attempt, output } from the ScriptedModel, asking it for every required capability', async () => {
    const config = agentConfigOf(marketplace, 'polly');
    const model = new RecordingScriptedModel();

    const result = await execute(executeEvent({ award: awardTo('polly', { attempt: 2 }) }), stepContext(config, model));

    expect(ExecuteResultSchema.parse(result)).toEqual(result);
    expect(result).toMatchObject({ bidder: 'polly', attempt: 2 });
    expect(result.output).toContain('[polly]');
    expect(result.output).toContain('Cover each of: translation.');
    expect(result.usage?.outputTokens).toBeGreaterThan(0);
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]).toMatchObject({ modelTier: 'fast', system: config.agent.systemPrompt, maxTokens: 1024, stateName: 'RunWinner' });
    expect(model.requests[0]?.prompt).toContain(TASK);
  });

  it('asks to carry out the task when nothing is required', async () => {
    const model = new RecordingScriptedModel();
    const result = await execute(executeEvent({ requiredCapabilities: [] }), stepContext(agentConfigOf(marketplace, 'polly'), model));
    expect(result.output).toContain('Carry out the task.');
  });

  it('throws InvalidEventError, without calling the model, when the award is another bidder\'s', async () => {
    const model = new RecordingScriptedModel();

    const error: unknown = await execute(executeEvent({ award: awardTo('lexi') }), stepContext(agentConfigOf(marketplace, 'polly'), model)).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).problems).toEqual(['award 1 is for lexi, not this agent']);
    expect(model.requests).toEqual([]);
  });

  it('throws AgentOutputError on an empty reply', async () => {
    await expect(execute(executeEvent(), stepContext(agentConfigOf(marketplace, 'polly'), new FixedReplyModel('   \n')))).rejects.toBeInstanceOf(AgentOutputError);
  });

  it('runs through the generic agent step for a bidder; its result passes the step\'s checks', async () => {
    const config = agentConfigOf(marketplace, 'lexi');
    const event = executeEvent({ award: awardTo('lexi') });

    const result = await runAgentStep(event, config, agentDependencies(new ScriptedModel()));

    expect(result).toMatchObject({ bidder: 'lexi', attempt: 1 });
    expect(checkAgentResult(event, result, config)).toEqual([]);
  });

  it('is refused to the verifier role (only bidders execute)', async () => {
    await expect(runAgentStep(executeEvent({ award: awardTo('auditor') }), agentConfigOf(marketplace, 'auditor'), agentDependencies(unusedModel))).rejects.toThrow(/a verifier cannot run step "execute"/);
  });
});

describe('Function: awardProblems (the execute invariant)', () => {
  it('accepts a result of the awarded bidder for this award', () => {
    expect(awardProblems({ award: awardTo('polly', { attempt: 2 }) }, { bidder: 'polly', attempt: 2 })).toEqual([]);
  });

  it('names a result from another bidder and one for another attempt', () => {
    expect(awardProblems({ award: awardTo('polly', { attempt: 2 }) }, { bidder: 'lexi', attempt: 1 })).toEqual(["result from lexi, but the award is polly's", 'result for award 1, not 2']);
  });

  it('flags, through the step\'s checks, a result that is not the awarded bidder\'s', () => {
    const config = agentConfigOf(marketplace, 'polly');
    const event = executeEvent();
    const result: ExecuteResult = { bidder: 'lexi', attempt: 1, output: 'translation: done' };
    expect(checkAgentResult(event, result, config)).toEqual(["result from lexi, but the award is polly's"]);
  });
});

describe('Step: verify-award (deterministic, no model call)', () => {
  it('accepts an output of the awarded bidder that addresses every required capability', async () => {
    const result = await verifyAward(verifyEvent({}));
    expect(result).toEqual({ verdict: 'accepted', problems: [] });
    expect(VerifyAwardResultSchema.safeParse(result).success).toBe(true);
  });

  it('matches the capabilities case-insensitively', async () => {
    await expect(verifyAward(verifyEvent({ output: 'TRANSLATION and LOCALISATION both done here, carefully.' }))).resolves.toEqual({ verdict: 'accepted', problems: [] });
  });

  it('rejects an output that misses a required capability, naming it', async () => {
    const result = await verifyAward(verifyEvent({ output: 'translation: Die Versionshinweise der Version 2.4.' }));
    expect(result).toEqual({ verdict: 'rejected', problems: ['does not address: localisation'] });
  });

  it('rejects an output that is too short', async () => {
    const output = 'translation, localisation';
    expect(output.length).toBeGreaterThanOrEqual(MIN_RESULT_CHARS);
    const short = 'translation';
    const result = await verifyAward(verifyEvent({ output: short }, { requiredCapabilities: ['translation'] }));
    expect(result).toEqual({ verdict: 'rejected', problems: [`result is ${String(short.length)} characters, under ${String(MIN_RESULT_CHARS)}`] });
    await expect(verifyAward(verifyEvent({ output }))).resolves.toMatchObject({ verdict: 'accepted' });
  });

  it('rejects an output from another bidder than the awarded one, or for another award', async () => {
    const result = await verifyAward(verifyEvent({ bidder: 'polly', attempt: 2 }));
    expect(result.verdict).toBe('rejected');
    expect(result.problems).toEqual(["result from polly, but the award is lexi's", 'result for award 2, not 1']);
  });

  it('lists every problem at once', () => {
    expect(resultProblems(verifyEvent({ bidder: 'polly', output: 'done' }))).toEqual([
      "result from polly, but the award is lexi's",
      `result is 4 characters, under ${String(MIN_RESULT_CHARS)}`,
      'does not address: translation, localisation',
    ]);
  });

  it('accepts the ScriptedModel\'s answer of the execute step (execute then verify, as the state machine does)', async () => {
    const config = agentConfigOf(marketplace, 'polly');
    const event = executeEvent();
    const executed = await execute(event, stepContext(config, new ScriptedModel()));

    const verdict = await verifyAward(verifyEvent(executed, { award: event.award, requiredCapabilities: event.requiredCapabilities }));

    expect(verdict).toEqual({ verdict: 'accepted', problems: [] });
  });

  it('runs through the generic agent step for the verifier, without calling the model', async () => {
    const config = agentConfigOf(marketplace, 'auditor');
    const event = verifyEvent({ output: 'translation only, nothing more than that.' });

    const result = await runAgentStep(event, config, agentDependencies(unusedModel));

    expect(result).toEqual({ verdict: 'rejected', problems: ['does not address: localisation'] });
    expect(checkAgentResult(event, result, config)).toEqual([]);
  });
});

describe('Function: verifyAwardProblems (the verify-award invariant)', () => {
  it('accepts a verdict that follows from its problems', () => {
    const event = verifyEvent({});
    expect(verifyAwardProblems(event, { verdict: 'accepted', problems: [] })).toEqual([]);
    expect(verifyAwardProblems(event, { verdict: 'rejected', problems: ['does not address: localisation'] })).toEqual([]);
  });

  it('flags accepted with problems, and rejected without any', () => {
    const event = verifyEvent({});
    expect(verifyAwardProblems(event, { verdict: 'accepted', problems: ['does not address: localisation'] })).toEqual(['verdict accepted with 1 problems (expected rejected)']);
    expect(verifyAwardProblems(event, { verdict: 'rejected', problems: [] })).toEqual(['verdict rejected with 0 problems (expected accepted)']);
  });

  it('is the step\'s invariant: checkAgentResult reports the inconsistent verdict', () => {
    const event = verifyEvent({});
    const result: VerifyAwardResult = { verdict: 'accepted', problems: ['x'] };
    expect(checkAgentResult(event, result, agentConfigOf(marketplace, 'auditor'))).toEqual(['verdict accepted with 1 problems (expected rejected)']);
  });
});
