/**
 * The real statemachines/auction.asl.json, run by the local runtime: announcements and bids travel
 * on the local event bus (the rule patterns CDK deploys), the bidders' and the collector's real
 * handlers answer them, and rounds, bids and awards are stored in DynamoDB Local (started once in
 * test/global-setup.ts). Models are the scripted model; its `fail` faults and the bus faults
 * (late-bid, duplicate-bid) are scripted shortcuts, named where used.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuctionOutput, AuctionInput } from '../../functions/patterns/auction/contract.ts';
import { DETAIL_TYPES, LEGION_EVENT_SOURCE, auctionAnnouncedPattern } from '../../functions/core/events.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../../functions/models/model-provider.ts';
import { ScriptedModel, type ScriptedFault } from '../../functions/models/scripted-model.ts';
import type { AuctionSummary } from '../../functions/patterns/auction/auction-store.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import type { AuctionFaults } from '../../local/local-auction.ts';
import type { BusEvent } from '../../local/local-event-bus.ts';
import { LocalRuntime, type RunRequest, type RunResult } from '../../local/local-runtime.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

const INPUT: AuctionInput = { task: 'Translate the release notes of version 2.4 for customers in Germany and France.', requiredCapabilities: ['translation'] };
const taskId = (): string => `auction-${randomUUID()}`;
const output = (result: RunResult): AuctionOutput => result.output as AuctionOutput;
const eventsOf = (runtime: LocalRuntime, detailType: string, id: string): BusEvent[] =>
  runtime.eventBus.events.filter((event) => event['detail-type'] === detailType && JSON.stringify(event.detail).includes(id));

/** TEST DOUBLE (wraps the scripted model): when the winner's step calls the model, records the auction as stored at that moment. */
class AwardObservingModel implements ModelProvider {
  public seenAtRunWinner: AuctionSummary | undefined;
  private readonly scripted = new ScriptedModel();

  public constructor(private readonly observe: () => Promise<AuctionSummary>) {}

  public async converse(request: ModelRequest): Promise<ModelReply> {
    if (request.stateName === 'RunWinner') this.seenAtRunWinner = await this.observe();
    return this.scripted.converse(request);
  }
}

// Not concurrent: under the load of several runs at once a bidder can miss the 1 s bidding window (seen once: lexi won instead of polly).
describe('Pattern: auction (local runtime, local event bus, DynamoDB Local)', () => {
  let marketplace: TeamDefinition;
  /** The marketplace with a 1 s bidding window, so that waiting tests stay short. */
  let team: TeamDefinition;

  function withRuntime<T>(work: (runtime: LocalRuntime) => Promise<T>, model: ModelProvider = new ScriptedModel()): Promise<T> {
    return withTestRuntime({ model }, work);
  }

  /**
   * The team under a name of its own: a bidder's capacity is counted per team and bidder in the
   * shared DynamoDB Local, so tests must not see each other's awards.
   */
  const ownTeam = (base: TeamDefinition = team): TeamDefinition => ({ ...base, name: `mkt-${randomUUID().slice(0, 8)}` });
  const request = (overrides: Partial<RunRequest> = {}, faults?: Partial<AuctionFaults>): RunRequest => ({
    team: ownTeam(),
    input: INPUT,
    taskId: taskId(),
    ...overrides,
    ...(faults ? { auctionFaults: { lateBidders: [], duplicateBidders: [], ...faults } } : {}),
  });
  const withModelFaults = (faults: ScriptedFault[]): ModelProvider => new ScriptedModel({ faults });

  beforeAll(async () => {
    marketplace = await loadTeamFile('teams/marketplace.yaml');
    team = { ...marketplace, limits: { ...marketplace.limits, bidWindowSeconds: 1 } };
  });

  describe('Feature: normal award', () => {
    it('announces once, collects one bid per capable bidder, awards the best score and returns the verified result', async () => {
      // Arrange
      const run = request();

      // Act
      const { result, announced, bids, load } = await withRuntime(async (runtime) => {
        const finished = await runtime.run(run);
        return {
          result: finished,
          announced: eventsOf(runtime, DETAIL_TYPES.auctionAnnounced, run.taskId),
          bids: eventsOf(runtime, DETAIL_TYPES.bidSubmitted, run.taskId),
          load: await runtime.bidderLoad(run.team.name, 'polly'),
        };
      });

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      // lexi and polly have "translation"; equal capability, polly is cheaper and faster.
      expect(output(result)).toMatchObject({ awardedTo: 'polly', attempt: 1, round: 1, failedBidders: [] });
      expect(output(result).answer).toMatch(/translation/);
      expect(announced).toHaveLength(1);
      expect(bids.map((event) => (event.detail.bid as { bidder: string }).bidder).sort()).toEqual(['lexi', 'polly']);
      expect(result.auction?.rounds).toEqual([expect.objectContaining({ round: 1, windowSeconds: 1, outcome: 'AWARDED', received: 2, admitted: 2 })]);
      expect(Object.values(result.auction?.rounds[0]?.rejected ?? {}).every((count) => count === 0)).toBe(true);
      expect(result.auction?.awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'COMPLETED' }]);
      expect(result.trace.map((step) => `${step.agent}:${step.state}`)).toEqual(['polly:RunWinner', 'auditor:VerifyResult']);
      // Bidding and verifying make no model call: only the winner's step does.
      expect(result.modelCalls).toBe(1);
      expect(load).toBe(0);
    });

    it('records the award before the winner runs', async () => {
      // Arrange
      const run = request();
      let model: AwardObservingModel | undefined;

      // Act
      const result = await withRuntime(
        (runtime) => {
          model = new AwardObservingModel(() => runtime.auctionSummary(run.taskId));
          return runtime.run(run);
        },
        new (class implements ModelProvider {
          public converse(modelRequest: ModelRequest): Promise<ModelReply> {
            if (!model) throw new Error('the observing model is set before the run starts');
            return model.converse(modelRequest);
          }
        })(),
      );

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(model?.seenAtRunWinner?.awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'AWARDED' }]);
      expect(model?.seenAtRunWinner?.rounds[0]?.status).toBe('CLOSED');
    });
  });

  describe('Feature: bids the auction rejects', () => {
    it('rejects and counts a bid submitted after the deadline (scripted shortcut: polly gets the announcement late)', async () => {
      // Act
      const result = await withRuntime((runtime) => runtime.run(request({}, { lateBidders: ['polly'] })));

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(output(result).awardedTo).toBe('lexi');
      expect(result.auction?.rounds[0]).toMatchObject({ received: 2, admitted: 1, rejected: { late: 1, duplicate: 0 } });
    });

    it('counts one bid delivered twice once (scripted shortcut: polly puts its bid on the bus twice)', async () => {
      // Arrange
      const run = request({}, { duplicateBidders: ['polly'] });

      // Act
      const { result, bids } = await withRuntime(async (runtime) => ({ result: await runtime.run(run), bids: eventsOf(runtime, DETAIL_TYPES.bidSubmitted, run.taskId) }));

      // Assess
      expect(bids).toHaveLength(3);
      expect(result.status).toBe('SUCCEEDED');
      expect(output(result).awardedTo).toBe('polly');
      expect(result.auction?.rounds[0]).toMatchObject({ received: 3, admitted: 2, rejected: { duplicate: 1, late: 0 } });
      expect(result.auction?.awards).toHaveLength(1);
    });

    it('rejects and counts a bid from a bidder that is not the team\'s', async () => {
      // Arrange: a stranger subscribed to the team's announcements, bidding as the bidders do.
      const run = request();

      // Act
      const result = await withRuntime(async (runtime) => {
        runtime.eventBus.addRule({
          name: 'stranger',
          eventPattern: auctionAnnouncedPattern(run.team.name),
          targets: [
            {
              id: 'stranger',
              handler: async (event) => {
                const { announcement } = event.detail as { announcement: { auctionId: string; round: number; replyBy: string } };
                const bid = { auctionId: announcement.auctionId, round: announcement.round, bidId: 'stranger-r1', bidder: 'stranger', capabilityScore: 1, priceEstimate: 0, etaSeconds: 1, expiresAt: '2099-01-01T00:00:00Z', submittedAt: new Date().toISOString() };
                return runtime.eventBus.putEvents([{ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.bidSubmitted, Detail: JSON.stringify({ team: run.team.name, bid }) }]);
              },
            },
          ],
        });
        return runtime.run(run);
      });

      // Assess: the stranger's unbeatable bid was not admitted.
      expect(output(result).awardedTo).toBe('polly');
      expect(result.auction?.rounds[0]).toMatchObject({ received: 3, admitted: 2, rejected: { 'unknown-bidder': 1 } });
    });
  });

  describe('Feature: no valid bids', () => {
    it('re-announces with a doubled window, then escalates with NoValidBidsError', async () => {
      // Arrange: nobody has this capability.
      const run = request({ team: ownTeam({ ...team, limits: { ...team.limits, maxAuctionRounds: 2 } }), input: { task: 'Model the molecule', requiredCapabilities: ['quantum-chemistry'] } });

      // Act
      const { result, announced } = await withRuntime(async (runtime) => ({ result: await runtime.run(run), announced: eventsOf(runtime, DETAIL_TYPES.auctionAnnounced, run.taskId) }));

      // Assess
      expect(result.status).toBe('WAITING');
      expect(result.approval?.escalation.Error).toBe('NoValidBidsError');
      expect(result.approval?.escalation.Cause).toMatch(/2 auction round\(s\) closed without a valid bid/);
      expect(announced).toHaveLength(2);
      expect(result.auction?.rounds.map((round) => [round.round, round.windowSeconds, round.outcome, round.received])).toEqual([
        [1, 1, 'REANNOUNCE', 0],
        [2, 2, 'NO_VALID_BIDS', 0],
      ]);
      expect(result.auction?.awards).toEqual([]);
    });

    it('does not bid with no capacity left: a bidder holding an unfinished award declines the next auction', async () => {
      // Arrange: polly (capacity 1) is awarded a first task, which stops before its result is verified.
      const sharedTeam = ownTeam();
      const first = new AbortController();
      const busy = request({ team: sharedTeam, signal: first.signal, onStateEntered: (state) => { if (state === 'VerifyResult') first.abort(); } });

      // Act
      const { aborted, second, load } = await withRuntime(async (runtime) => {
        const abortedRun = await runtime.run(busy);
        const loadAfter = await runtime.bidderLoad(sharedTeam.name, 'polly');
        return { aborted: abortedRun, second: await runtime.run(request({ team: sharedTeam })), load: loadAfter };
      });

      // Assess
      expect(aborted.status).toBe('ABORTED');
      expect(load).toBe(1);
      expect(second.status).toBe('SUCCEEDED');
      expect(output(second).awardedTo).toBe('lexi');
      expect(second.auction?.rounds[0]).toMatchObject({ received: 1, admitted: 1 });
    });
  });

  describe('Feature: the winner fails', () => {
    it('awards the runner-up when the winner fails (scripted shortcut: fail:RunWinner once)', async () => {
      // Act
      const result = await withRuntime((runtime) => runtime.run(request()), withModelFaults([{ kind: 'fail', stateName: 'RunWinner', times: 1 }]));

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(output(result)).toMatchObject({ awardedTo: 'lexi', attempt: 2, failedBidders: ['polly'] });
      expect(result.auction?.awards.map((award) => [award.attempt, award.bidder, award.status])).toEqual([
        [1, 'polly', 'FAILED'],
        [2, 'lexi', 'COMPLETED'],
      ]);
      expect(result.auction?.awards[0]?.reason).toMatch(/ScriptedFailureError/);
    });

    it('awards the runner-up when the verifier rejects the winner\'s result', async () => {
      // Arrange: polly's result does not address "translation", so the verifier rejects it.
      const sloppy = { ...team, agents: team.agents.map((agent) => (agent.id === 'polly' ? { ...agent, scriptedReply: 'Done, see attached: {request}' } : agent)) };

      // Act
      const result = await withRuntime((runtime) => runtime.run(request({ team: ownTeam(sloppy) })));

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(output(result).awardedTo).toBe('lexi');
      expect(result.auction?.awards[0]).toMatchObject({ bidder: 'polly', status: 'FAILED' });
      expect(result.auction?.awards[0]?.reason).toMatch(/does not address: translation/);
    });

    it('escalates with AwardsExhaustedError when the runner-up fails too, and frees both bidders', async () => {
      // Act
      const { result, loads } = await withRuntime(
        async (runtime) => {
          const run = request();
          return { result: await runtime.run(run), loads: [await runtime.bidderLoad(run.team.name, 'polly'), await runtime.bidderLoad(run.team.name, 'lexi')] };
        },
        withModelFaults([{ kind: 'fail', stateName: 'RunWinner', times: 2 }]),
      );

      // Assess
      expect(result.status).toBe('WAITING');
      expect(result.approval?.escalation.Error).toBe('AwardsExhaustedError');
      expect(result.approval?.escalation.Cause).toMatch(/polly, lexi/);
      expect(result.auction?.awards.map((award) => award.status)).toEqual(['FAILED', 'FAILED']);
      expect(loads).toEqual([0, 0]);
    });
  });

  describe('Feature: recovery', () => {
    it('rolls back an inconsistent winner result and runs the award again, without a second award (scripted shortcut: inconsistent:RunWinner)', async () => {
      // Act
      const result = await withRuntime((runtime) => runtime.run(request()), withModelFaults([{ kind: 'off-contract', stateName: 'RunWinner', times: 1 }]));

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(result.rollbacks).toHaveLength(1);
      expect(output(result).awardedTo).toBe('polly');
      expect(result.auction?.awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'COMPLETED' }]);
      expect(result.auction?.rounds).toHaveLength(1);
    });

    it('resumes after a crash once the winner ran: no new announcement, no new award, no model call', async () => {
      // Arrange
      const controller = new AbortController();
      const run = request({ signal: controller.signal, onStateEntered: (state) => { if (state === 'VerifyResult') controller.abort(); } });

      // Act
      const { crashed, resumed, announced } = await withRuntime(async (runtime) => {
        const first = await runtime.run(run);
        const second = await runtime.resume({ team: run.team, taskId: run.taskId });
        return { crashed: first, resumed: second, announced: eventsOf(runtime, DETAIL_TYPES.auctionAnnounced, run.taskId) };
      });

      // Assess
      expect(crashed.status).toBe('ABORTED');
      expect(resumed.status).toBe('SUCCEEDED');
      expect(output(resumed).awardedTo).toBe('polly');
      expect(resumed.modelCalls).toBe(0);
      expect(announced).toHaveLength(1);
      expect(resumed.auction?.awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'COMPLETED' }]);
    });

    /** Runs `run` until `state` starts, as a crash there would stop it (the state's work not begun), then resumes it: after its round's deadline, or at once. */
    async function crashAndResume(runtime: LocalRuntime, run: RunRequest, state: string, resumeAfterDeadline: boolean): Promise<{ crashed: RunResult; resumed: RunResult; announced: BusEvent[] }> {
      const crash = new AbortController();
      const onStateEntered = (entered: string): void => {
        if (entered === state) crash.abort();
      };
      const crashed = await runtime.run({ ...run, signal: crash.signal, onStateEntered });
      const replyBy = (await runtime.auctionSummary(run.taskId)).rounds[0]?.replyBy ?? '';
      if (resumeAfterDeadline) await sleep(Date.parse(replyBy) - Date.now() + 100);
      const resumed = await runtime.resume({ team: run.team, taskId: run.taskId });
      return { crashed, resumed, announced: eventsOf(runtime, DETAIL_TYPES.auctionAnnounced, run.taskId) };
    }

    /** One announcement round only: a round wasted by the crash would escalate with NoValidBidsError. */
    const oneRound = (): RunRequest => request({ team: ownTeam({ ...team, limits: { ...team.limits, maxAuctionRounds: 1 } }) });

    it.each(['RoundStillOpen', 'Announce'])('resumes a crash as %s starts, past the deadline, by announcing the round it never announced with a fresh window: awarded as without the crash', async (state) => {
      // Act
      const run = oneRound();
      const { crashed, resumed, announced } = await withRuntime((runtime) => crashAndResume(runtime, run, state, true));

      // Assess: nobody was told of the first deadline; the round is announced once, and its bids are in time.
      expect(crashed.status).toBe('ABORTED');
      expect(crashed.auction?.rounds).toMatchObject([{ round: 1, status: 'OPEN', received: 0 }]);
      expect(resumed.status).toBe('SUCCEEDED');
      expect(output(resumed)).toMatchObject({ awardedTo: 'polly', round: 1, attempt: 1 });
      expect(announced).toHaveLength(1);
      expect(resumed.auction?.rounds).toHaveLength(1);
      expect(resumed.auction?.rounds[0]).toMatchObject({ outcome: 'AWARDED', received: 2, admitted: 2, rejected: { late: 0, duplicate: 0 } });
      expect(resumed.auction?.awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'COMPLETED' }]);
    });

    it.each([
      { when: 'past the deadline', resumeAfterDeadline: true },
      { when: 'within the window', resumeAfterDeadline: false },
    ])('resumes a crash during the bidding window ($when) without announcing the round again: it closes on the bids submitted in time', async ({ resumeAfterDeadline }) => {
      // Act
      const run = oneRound();
      const { crashed, resumed, announced } = await withRuntime((runtime) => crashAndResume(runtime, run, 'WaitForBids', resumeAfterDeadline));

      // Assess
      expect(crashed.status).toBe('ABORTED');
      expect(resumed.status).toBe('SUCCEEDED');
      expect(output(resumed)).toMatchObject({ awardedTo: 'polly', round: 1 });
      expect(announced).toHaveLength(1);
      expect(resumed.auction?.rounds).toHaveLength(1);
      expect(resumed.auction?.rounds[0]).toMatchObject({ received: 2, admitted: 2, rejected: { late: 0, duplicate: 0 } });
    });

    it('resumes a crash as Escalate starts, after every award failed, into the same wait for a human (scripted shortcut: fail:RunWinner twice)', async () => {
      // Act: run again, the winner would succeed; the escalation was recorded when the awards ran out.
      const run = request();
      const { crashed, resumed } = await withRuntime((runtime) => crashAndResume(runtime, run, 'Escalate', false), withModelFaults([{ kind: 'fail', stateName: 'RunWinner', times: 2 }]));

      // Assess
      expect(crashed.status).toBe('ABORTED');
      expect(resumed.status).toBe('WAITING');
      expect(resumed.approval).toMatchObject({ status: 'PENDING', escalation: { Error: 'AwardsExhaustedError' } });
      expect(resumed.modelCalls).toBe(0);
      expect(resumed.auction?.awards.map((award) => award.status)).toEqual(['FAILED', 'FAILED']);
    });
  });

  it('rejects input without a task before anything runs', async () => {
    await expect(withRuntime((runtime) => runtime.run(request({ input: { requiredCapabilities: [] } })))).rejects.toThrow(/task/);
  });
});
