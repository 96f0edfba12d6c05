/**
 * Conformance suite of the auction store (rounds, bids, awards and bidder leases) and of the
 * auction control handlers that wrap it, against DynamoDB Local (the real jar, started once in
 * test/global-setup.ts). No DynamoDB client is mocked. Each test uses its own task id and its own
 * team name, so the bidders' leases (kept per team) never mix with other tests' or files'.
 * Time is the store's `now` option: a clock each test moves by hand.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { describe, expect, inject, it } from 'vitest';
import { createCloseAuctionHandler } from '../../functions/patterns/auction/close-auction.ts';
import { createCollectBidHandler } from '../../functions/patterns/auction/collect-bid.ts';
import { createOpenAuctionHandler } from '../../functions/patterns/auction/open-auction.ts';
import { createSettleAwardHandler } from '../../functions/patterns/auction/settle-award.ts';
import { ApprovalStore } from '../../functions/approvals/approval-store.ts';
import { REJECTION_REASONS, type RejectionReason, chooseWinner } from '../../functions/patterns/auction/auction-rules.ts';
import { AWARD_LEASE_SECONDS, AuctionStore, type CloseRoundInput, type OpenRoundInput } from '../../functions/patterns/auction/auction-store.ts';
import { ESCALATION_ERRORS, METRICS } from '../../functions/core/contract.ts';
import {
  type Announcement,
  AnnouncementSchema,
  AwardSchema,
  type Bid,
  BidSchema,
  type CloseAuctionResult,
  CloseAuctionResultSchema,
  OpenAuctionResultSchema,
  SettleAwardResultSchema,
} from '../../functions/patterns/auction/contract.ts';
import { AwardsExhaustedError, InvalidEventError, NoValidBidsError } from '../../functions/core/errors.ts';
import { DETAIL_TYPES, LEGION_EVENT_SOURCE } from '../../functions/core/events.ts';
import { DynamoDbLocal, LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'test-team';

/** A fixed instant in the future: leases and retention times are then never in the past. */
const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const WINDOW = 30;
const BIDDERS = ['lexi', 'polly', 'quill'] as const;
const arnOf = (bidder: string): string => `arn:aws:lambda:us-east-1:123456789012:function:legion-test-${bidder}`;
const DIRECTORY = { bidders: [...BIDDERS], bidderFunctionArns: BIDDERS.map(arnOf) };
const context = { functionName: 'legion-auction-test', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

const newTask = (): string => `auction-store-${randomUUID()}`;
const newTeam = (): string => `mkt-${randomUUID()}`;
const iso = (ms: number): string => new Date(ms).toISOString();
const zeroCounts = (): Record<RejectionReason, number> => Object.fromEntries(REJECTION_REASONS.map((reason) => [reason, 0])) as Record<RejectionReason, number>;
const counts = (partial: Partial<Record<RejectionReason, number>>): Record<RejectionReason, number> => ({ ...zeroCounts(), ...partial });

/** Offer profiles of the bidders, as the marketplace team's would bid: polly is cheaper and faster than lexi. */
const OFFERS: Record<string, Pick<Bid, 'capabilityScore' | 'priceEstimate' | 'etaSeconds'>> = {
  lexi: { capabilityScore: 1, priceEstimate: 0.054, etaSeconds: 60 },
  polly: { capabilityScore: 1, priceEstimate: 0.00375, etaSeconds: 30 },
  quill: { capabilityScore: 0.25, priceEstimate: 0.0025, etaSeconds: 30 },
  stranger: { capabilityScore: 1, priceEstimate: 0.001, etaSeconds: 10 },
};

function bidFor(announcement: Announcement, bidder: string, overrides: Partial<Bid> = {}): Bid {
  return BidSchema.parse({
    auctionId: announcement.auctionId,
    round: announcement.round,
    bidId: `${bidder}-r${String(announcement.round)}`,
    bidder,
    ...OFFERS[bidder],
    expiresAt: iso(Date.parse(announcement.replyBy) + 600_000),
    submittedAt: iso(Date.parse(announcement.announcedAt) + 1000),
    ...overrides,
  });
}

describe('Class: AuctionStore (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  /** A store for one test, with its own clock (starting at T0), task and team. */
  function fixture() {
    const clock = { ms: T0 };
    const team = newTeam();
    const store = new AuctionStore({ team, client, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
    const taskId = newTask();
    const open = (overrides: Partial<OpenRoundInput> = {}) =>
      store.openRound({ taskId, team, round: 1, windowSeconds: WINDOW, task: 'Translate the release notes', requiredCapabilities: ['translation'], bidders: [...BIDDERS], ...overrides });
    const close = (overrides: Partial<CloseRoundInput> = {}) => store.closeRound({ taskId, round: 1, windowSeconds: WINDOW, maxRounds: 3, ...DIRECTORY, ...overrides });
    const settle = (attempt: number, outcome: 'COMPLETED' | 'FAILED', maxAwards = 2) =>
      store.settleAward({ taskId, attempt, outcome, reason: outcome === 'FAILED' ? `attempt ${String(attempt)} failed` : '', maxAwards, ...DIRECTORY });
    /** Opens round 1, records a bid of each bidder given (in that order) and closes it after the window. */
    async function awarded(bidders: readonly string[]): Promise<{ announcement: Announcement; decision: CloseAuctionResult }> {
      const { announcement } = await open();
      for (const bidder of bidders) expect(await store.recordBid(bidFor(announcement, bidder))).toEqual({ status: 'STORED' });
      clock.ms = T0 + WINDOW * 1000;
      return { announcement, decision: await close() };
    }
    return { clock, store, taskId, team, open, close, settle, awarded };
  }

  describe('Method: openRound', () => {
    it('stores the round and returns its announcement, OPEN, with replyBy = announcedAt + windowSeconds', async () => {
      const { store, taskId, open } = fixture();

      const opened = await open();

      expect(opened).toEqual({
        status: 'OPEN',
        announcement: {
          taskId,
          auctionId: taskId,
          round: 1,
          description: 'Translate the release notes',
          requiredCapabilities: ['translation'],
          announcedAt: iso(T0),
          replyBy: iso(T0 + WINDOW * 1000),
        },
      });
      expect(AnnouncementSchema.safeParse(opened.announcement).success).toBe(true);
      expect((await store.summary(taskId)).rounds).toEqual([{ round: 1, windowSeconds: WINDOW, replyBy: iso(T0 + WINDOW * 1000), status: 'OPEN', received: 0, admitted: 0, rejected: zeroCounts() }]);
    });

    it('returns the stored announcement and status when the round exists: same replyBy though the clock moved, CLOSED after the close', async () => {
      const { clock, open, close } = fixture();
      const first = await open();

      clock.ms = T0 + 10_000;
      const again = await open({ windowSeconds: 90, task: 'Something else' });
      expect(again).toEqual(first);

      clock.ms = T0 + WINDOW * 1000;
      await close();
      clock.ms = T0 + 120_000;
      const afterClose = await open();
      expect(afterClose).toEqual({ announcement: first.announcement, status: 'CLOSED' });
    });

    it('keeps the rounds of one auction apart: round 2 has its own deadline', async () => {
      const { clock, store, taskId, open, close } = fixture();
      await open();
      clock.ms = T0 + WINDOW * 1000;
      await close();

      const second = await open({ round: 2, windowSeconds: 2 * WINDOW });

      expect(second.status).toBe('OPEN');
      expect(second.announcement).toMatchObject({ round: 2, auctionId: taskId, announcedAt: iso(T0 + WINDOW * 1000), replyBy: iso(T0 + 3 * WINDOW * 1000) });
      expect((await store.summary(taskId)).rounds.map((round) => [round.round, round.status])).toEqual([
        [1, 'CLOSED'],
        [2, 'OPEN'],
      ]);
    });
  });

  describe('Method: recordBid', () => {
    it('stores a valid bid of a known bidder', async () => {
      const { store, taskId, open } = fixture();
      const { announcement } = await open();

      await expect(store.recordBid(bidFor(announcement, 'polly'))).resolves.toEqual({ status: 'STORED' });

      expect((await store.summary(taskId)).rounds[0]).toMatchObject({ received: 1, rejected: zeroCounts(), status: 'OPEN' });
    });

    it('refuses a second delivery of the same bidId as a duplicate, counted once, and keeps the first delivery', async () => {
      const { clock, store, taskId, open, close } = fixture();
      const { announcement } = await open();
      const bid = bidFor(announcement, 'polly', { capabilityScore: 1 });

      await store.recordBid(bid);
      // Same bid id, other content: still the same bid delivered again; the first one counts.
      await expect(store.recordBid({ ...bid, capabilityScore: 0.5 })).resolves.toEqual({ status: 'REJECTED', reason: 'duplicate' });

      expect((await store.summary(taskId)).rounds[0]).toMatchObject({ received: 2, rejected: counts({ duplicate: 1 }) });
      clock.ms = T0 + WINDOW * 1000;
      const decision = await close();
      expect(decision.bids).toEqual({ received: 2, admitted: 1, rejected: counts({ duplicate: 1 }), rejectedAtClose: zeroCounts() });
      // One admitted bid: price and ETA terms are 1 each, so the score is 0.6 · capabilityScore − 0.4.
      expect(decision.ranking).toEqual([{ bidder: 'polly', bidId: bid.bidId, score: expect.closeTo(0.6 * 1 - 0.4, 9) as number }]);
    });

    it('refuses a bid of a bidder that is not the team\'s (unknown-bidder) and counts it on the round', async () => {
      const { store, taskId, open } = fixture();
      const { announcement } = await open();

      await expect(store.recordBid(bidFor(announcement, 'stranger'))).resolves.toEqual({ status: 'REJECTED', reason: 'unknown-bidder' });

      expect((await store.summary(taskId)).rounds[0]).toMatchObject({ received: 1, rejected: counts({ 'unknown-bidder': 1 }) });
    });

    it('refuses a bid for an auction or a round that does not exist (wrong-auction), counted nowhere', async () => {
      const { store, taskId, open } = fixture();
      const { announcement } = await open();
      const otherTask = newTask();

      await expect(store.recordBid(bidFor({ ...announcement, auctionId: otherTask, taskId: otherTask }, 'polly'))).resolves.toEqual({ status: 'REJECTED', reason: 'wrong-auction' });
      await expect(store.recordBid(bidFor({ ...announcement, round: 2 }, 'polly'))).resolves.toEqual({ status: 'REJECTED', reason: 'wrong-auction' });

      expect(await store.summary(otherTask)).toEqual({ rounds: [], awards: [] });
      expect((await store.summary(taskId)).rounds).toMatchObject([{ round: 1, received: 0, rejected: zeroCounts() }]);
    });

    it('refuses a bid that arrives after the round closed (late) and counts it on the round; the stored decision does not change', async () => {
      const { clock, store, taskId, open, close } = fixture();
      const { announcement } = await open();
      clock.ms = T0 + WINDOW * 1000;
      const decision = await close();

      await expect(store.recordBid(bidFor(announcement, 'polly'))).resolves.toEqual({ status: 'REJECTED', reason: 'late' });

      const [round] = (await store.summary(taskId)).rounds;
      expect(round?.rejected.late).toBe(1);
      expect(round).toMatchObject({ status: 'CLOSED', outcome: 'REANNOUNCE', received: 1, admitted: 0 });
      await expect(close()).resolves.toEqual(decision);
    });

    it('refuses a second delivery after the close as a duplicate, not as late (the bid\'s own condition first)', async () => {
      const { clock, store, taskId, open, close } = fixture();
      const { announcement } = await open();
      const bid = bidFor(announcement, 'polly');
      await store.recordBid(bid);
      clock.ms = T0 + WINDOW * 1000;
      await close();

      await expect(store.recordBid(bid)).resolves.toEqual({ status: 'REJECTED', reason: 'duplicate' });

      expect((await store.summary(taskId)).rounds[0]?.rejected).toEqual(counts({ duplicate: 1 }));
    });
  });

  describe('Method: closeRound', () => {
    it('awards the higher score (chooseWinner), records the award and the winner\'s lease in the same step', async () => {
      const { store, taskId, team, awarded } = fixture();

      const { announcement, decision } = await awarded(['lexi', 'polly']);

      const expected = chooseWinner([bidFor(announcement, 'lexi'), bidFor(announcement, 'polly')]);
      expect(expected.winner?.bidder).toBe('polly');
      expect(decision).toEqual({
        outcome: 'AWARDED',
        round: 1,
        award: { attempt: 1, round: 1, bidder: 'polly', bidId: 'polly-r1', score: expected.ranking[0]?.score, functionArn: arnOf('polly') },
        next: null,
        bids: { received: 2, admitted: 2, rejected: zeroCounts(), rejectedAtClose: zeroCounts() },
        ranking: expected.ranking.map(({ bid, score }) => ({ bidder: bid.bidder, bidId: bid.bidId, score })),
      });
      expect(decision.ranking.map((entry) => entry.bidder)).toEqual(['polly', 'lexi']);
      expect(decision.ranking[0]?.score).toBeGreaterThan(decision.ranking[1]?.score ?? Infinity);
      expect(CloseAuctionResultSchema.safeParse(decision).success).toBe(true);
      expect(AwardSchema.safeParse(decision.award).success).toBe(true);

      const summary = await store.summary(taskId);
      expect(summary.awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'AWARDED' }]);
      expect(summary.rounds[0]).toMatchObject({ status: 'CLOSED', outcome: 'AWARDED', received: 2, admitted: 2 });
      expect(await store.bidderLoad(team, 'polly')).toBe(1);
      expect(await store.bidderLoad(team, 'lexi')).toBe(0);
    });

    it('does not depend on the order in which bids arrived', async () => {
      const first = await fixture().awarded(['lexi', 'polly']);
      const second = await fixture().awarded(['polly', 'lexi']);
      expect(second.decision.ranking).toEqual(first.decision.ranking);
    });

    it('counts the collector\'s refusals in bids.received and bids.rejected, not in rejectedAtClose', async () => {
      const { clock, store, open, close } = fixture();
      const { announcement } = await open();
      await store.recordBid(bidFor(announcement, 'lexi'));
      await store.recordBid(bidFor(announcement, 'polly'));
      await store.recordBid(bidFor(announcement, 'polly'));
      await store.recordBid(bidFor(announcement, 'stranger'));
      clock.ms = T0 + WINDOW * 1000;

      const decision = await close();

      expect(decision.bids).toEqual({ received: 4, admitted: 2, rejected: counts({ duplicate: 1, 'unknown-bidder': 1 }), rejectedAtClose: zeroCounts() });
    });

    it('rejects as late at the close a bid stored in time but submitted after replyBy; one submitted exactly at replyBy is on time', async () => {
      const { clock, store, taskId, open, close } = fixture();
      const { announcement } = await open();
      const replyBy = Date.parse(announcement.replyBy);
      expect(await store.recordBid(bidFor(announcement, 'polly', { submittedAt: iso(replyBy + 1) }))).toEqual({ status: 'STORED' });
      expect(await store.recordBid(bidFor(announcement, 'lexi', { submittedAt: iso(replyBy) }))).toEqual({ status: 'STORED' });
      clock.ms = replyBy + 500;

      const decision = await close();

      expect(decision.outcome).toBe('AWARDED');
      expect(decision.award?.bidder).toBe('lexi');
      expect(decision.ranking.map((entry) => entry.bidder)).toEqual(['lexi']);
      expect(decision.bids).toEqual({ received: 2, admitted: 1, rejected: counts({ late: 1 }), rejectedAtClose: counts({ late: 1 }) });
      expect((await store.summary(taskId)).rounds[0]).toMatchObject({ admitted: 1, rejected: counts({ late: 1 }) });
    });

    it('rejects as expired a bid whose expiresAt is before the close', async () => {
      const { clock, store, open, close } = fixture();
      const { announcement } = await open();
      await store.recordBid(bidFor(announcement, 'polly', { expiresAt: iso(T0 + 40_000) }));
      await store.recordBid(bidFor(announcement, 'lexi', { expiresAt: iso(T0 + 60_000) }));
      clock.ms = T0 + 60_000; // polly's bid expired 20 s ago; lexi's expires exactly now: still valid

      const decision = await close();

      expect(decision.award?.bidder).toBe('lexi');
      expect(decision.bids).toEqual({ received: 2, admitted: 1, rejected: counts({ expired: 1 }), rejectedAtClose: counts({ expired: 1 }) });
    });

    it('returns the stored decision when called again, even once the clock moved past every bid, without a second award or lease', async () => {
      const { clock, store, taskId, team, close, awarded } = fixture();
      const { decision } = await awarded(['lexi', 'polly']);

      // Every bid has expired by now (replyBy + 600 s), so recomputing would decide otherwise; the
      // winner's lease (AWARD_LEASE_SECONDS from the close) still holds.
      clock.ms = T0 + (WINDOW + 670) * 1000;
      expect(T0 + (WINDOW + 670) * 1000).toBeLessThan(T0 + (WINDOW + AWARD_LEASE_SECONDS) * 1000);
      const again = await close();

      expect(again).toEqual(decision);
      expect(await store.bidderLoad(team, 'polly')).toBe(1);
      expect((await store.summary(taskId)).awards).toHaveLength(1);
    });

    it('decides REANNOUNCE with round + 1 and a doubled window when no bid came and rounds are left', async () => {
      const { clock, store, taskId, open, close } = fixture();
      await open();
      clock.ms = T0 + WINDOW * 1000;

      const decision = await close();

      expect(decision).toEqual({
        outcome: 'REANNOUNCE',
        round: 1,
        award: null,
        next: { round: 2, windowSeconds: 2 * WINDOW },
        bids: { received: 0, admitted: 0, rejected: zeroCounts(), rejectedAtClose: zeroCounts() },
        ranking: [],
      });
      const summary = await store.summary(taskId);
      expect(summary.awards).toEqual([]);
      expect(summary.rounds[0]).toMatchObject({ status: 'CLOSED', outcome: 'REANNOUNCE' });

      await open({ round: 2, windowSeconds: 2 * WINDOW });
      clock.ms += 2 * WINDOW * 1000;
      await expect(close({ round: 2, windowSeconds: 2 * WINDOW })).resolves.toMatchObject({ outcome: 'REANNOUNCE', next: { round: 3, windowSeconds: 4 * WINDOW } });
    });

    it('decides REANNOUNCE when every bid was rejected', async () => {
      const { clock, store, open, close } = fixture();
      const { announcement } = await open();
      await store.recordBid(bidFor(announcement, 'polly', { expiresAt: iso(T0 + 1000) }));
      clock.ms = T0 + WINDOW * 1000;

      await expect(close()).resolves.toMatchObject({ outcome: 'REANNOUNCE', award: null, bids: { received: 1, admitted: 0, rejectedAtClose: counts({ expired: 1 }) } });
    });

    it('throws NoValidBidsError (an escalation) when the last round closes without a valid bid, and again when called again', async () => {
      const { clock, store, taskId, open, close } = fixture();
      const { announcement } = await open();
      await store.recordBid(bidFor(announcement, 'stranger'));
      clock.ms = T0 + WINDOW * 1000;
      await close({ maxRounds: 2 });
      await open({ round: 2, windowSeconds: 2 * WINDOW });
      clock.ms += 2 * WINDOW * 1000;

      const error: unknown = await close({ round: 2, windowSeconds: 2 * WINDOW, maxRounds: 2 }).catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(NoValidBidsError);
      const noBids = error as NoValidBidsError;
      expect(noBids.name).toBe('NoValidBidsError');
      expect(ESCALATION_ERRORS).toContain(noBids.name);
      expect(noBids.taskId).toBe(taskId);
      expect(noBids.rounds).toBe(2);
      // The rejections of every round: round 1's unknown bidder is why there was nothing to award.
      expect(noBids.rejected).toEqual(counts({ 'unknown-bidder': 1 }));
      await expect(close({ round: 2, windowSeconds: 2 * WINDOW, maxRounds: 2 })).rejects.toMatchObject({ name: 'NoValidBidsError', taskId, rounds: 2 });

      const summary = await store.summary(taskId);
      expect(summary.rounds.map((round) => [round.status, round.outcome])).toEqual([
        ['CLOSED', 'REANNOUNCE'],
        ['CLOSED', 'NO_VALID_BIDS'],
      ]);
      expect(summary.awards).toEqual([]);
    });

    it('throws NoValidBidsError at once when maxRounds is 1', async () => {
      const { clock, open, close } = fixture();
      await open();
      clock.ms = T0 + WINDOW * 1000;
      await expect(close({ maxRounds: 1 })).rejects.toBeInstanceOf(NoValidBidsError);
    });

    it('throws a RangeError for a round that was never opened', async () => {
      const { close } = fixture();
      await expect(close()).rejects.toThrow(RangeError);
    });

    it('makes exactly one decision and one award when two closes of one round run at the same time', async () => {
      const { clock, store, taskId, team, open, close } = fixture();
      const { announcement } = await open();
      await store.recordBid(bidFor(announcement, 'lexi'));
      await store.recordBid(bidFor(announcement, 'polly'));
      clock.ms = T0 + WINDOW * 1000;

      const [first, second] = await Promise.all([close(), close()]);

      expect(first.outcome).toBe('AWARDED');
      expect(second).toEqual(first);
      expect((await store.summary(taskId)).awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'AWARDED' }]);
      expect(await store.bidderLoad(team, 'polly')).toBe(1);
      await expect(close()).resolves.toEqual(first);
    });

    it('accounts for a bid the collector stores while the round is closing: admitted or refused, never lost', async () => {
      // A second, real client on the same DynamoDB Local, whose middleware lets the collector store
      // a bid right after the close has read the round's bids and before it writes its decision:
      // the interleaving of a delivery arriving at the deadline, made deterministic.
      const raceDb = await DynamoDbLocal.connect(inject('dynamoEndpoint'));
      const raceClient = raceDb.documentClient();
      try {
        const clock = { ms: T0 };
        const store = new AuctionStore({ team: TEST_TEAM, client: raceClient, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
        const taskId = newTask();
        const { announcement } = await store.openRound({ taskId, team: newTeam(), round: 1, windowSeconds: WINDOW, task: 'Translate', requiredCapabilities: [], bidders: [...BIDDERS] });
        await store.recordBid(bidFor(announcement, 'lexi'));
        // Submitted in time (one second before replyBy), delivered as the round closes.
        const racing = bidFor(announcement, 'polly', { submittedAt: iso(Date.parse(announcement.replyBy) - 1000) });
        let collected: Awaited<ReturnType<AuctionStore['recordBid']>> | undefined;
        raceClient.middlewareStack.add(
          (next, ctx) => async (args) => {
            const output = await next(args);
            const prefix = (args.input as { ExpressionAttributeValues?: Record<string, unknown> }).ExpressionAttributeValues?.[':prefix'];
            if (collected === undefined && ctx.commandName === 'QueryCommand' && typeof prefix === 'string' && prefix.startsWith('BID#')) {
              collected = await store.recordBid(racing);
            }
            return output;
          },
          { step: 'initialize', name: 'deliverBidDuringClose' },
        );
        clock.ms = T0 + WINDOW * 1000;

        const decision = await store.closeRound({ taskId, round: 1, windowSeconds: WINDOW, maxRounds: 3, ...DIRECTORY });

        // A valid bid: judged at the close means ranked.
        const judged = decision.ranking.some((entry) => entry.bidId === racing.bidId);
        const fate = collected?.status === 'STORED' ? (judged ? 'stored and judged' : 'stored, then ignored by the close') : `refused: ${collected?.reason ?? 'never delivered'}`;
        expect(['stored and judged', 'refused: late']).toContain(fate);
        // Every delivery the round received is admitted or rejected.
        const [round] = (await store.summary(taskId)).rounds;
        const rejected = Object.values(round?.rejected ?? {}).reduce((total, count) => total + count, 0);
        expect((round?.admitted ?? 0) + rejected).toBe(round?.received);
      } finally {
        await raceDb.stop();
      }
    });
  });

  describe('Method: settleAward', () => {
    it('COMPLETED frees the winner\'s capacity; settling again returns the same and changes nothing', async () => {
      const { store, taskId, team, settle, awarded } = fixture();
      await awarded(['lexi', 'polly']);

      const settled = await settle(1, 'COMPLETED');

      expect(settled).toEqual({ outcome: 'COMPLETED', award: null, failed: [] });
      expect(SettleAwardResultSchema.safeParse(settled).success).toBe(true);
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
      expect((await store.summary(taskId)).awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'COMPLETED' }]);

      await expect(settle(1, 'COMPLETED')).resolves.toEqual(settled);
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
      expect((await store.summary(taskId)).awards).toHaveLength(1);
    });

    it('FAILED frees the failed bidder and awards the runner-up (attempt 2, next in the ranking, its function from the directory)', async () => {
      const { store, taskId, team, settle, awarded } = fixture();
      const { decision } = await awarded(['lexi', 'polly', 'quill']);
      const [winner, runnerUp] = decision.ranking;
      expect(winner?.bidder).toBe('polly');
      expect(runnerUp?.bidder).toBe('lexi');

      const settled = await settle(1, 'FAILED');

      expect(settled).toEqual({
        outcome: 'AWARDED',
        award: { attempt: 2, round: 1, bidder: 'lexi', bidId: 'lexi-r1', score: runnerUp?.score, functionArn: arnOf('lexi') },
        failed: ['polly'],
      });
      expect(SettleAwardResultSchema.safeParse(settled).success).toBe(true);
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
      expect(await store.bidderLoad(team, 'lexi')).toBe(1);
      expect((await store.summary(taskId)).awards).toEqual([
        { attempt: 1, round: 1, bidder: 'polly', status: 'FAILED', reason: 'attempt 1 failed' },
        { attempt: 2, round: 1, bidder: 'lexi', status: 'AWARDED' },
      ]);
    });

    it('FAILED settled again returns the same runner-up, without a third award or a second lease', async () => {
      const { store, taskId, team, settle, awarded } = fixture();
      await awarded(['lexi', 'polly', 'quill']);
      const settled = await settle(1, 'FAILED', 3);

      await expect(settle(1, 'FAILED', 3)).resolves.toEqual(settled);

      expect((await store.summary(taskId)).awards.map((award) => award.bidder)).toEqual(['polly', 'lexi']);
      expect(await store.bidderLoad(team, 'lexi')).toBe(1);
      expect(await store.bidderLoad(team, 'quill')).toBe(0);
    });

    it('COMPLETED by the runner-up frees it too, and keeps the failed bidder in `failed`', async () => {
      const { store, team, settle, awarded } = fixture();
      await awarded(['lexi', 'polly']);
      await settle(1, 'FAILED');

      await expect(settle(2, 'COMPLETED')).resolves.toEqual({ outcome: 'COMPLETED', award: null, failed: ['polly'] });
      expect(await store.bidderLoad(team, 'lexi')).toBe(0);
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
    });

    it('FAILED on the last award allowed (attempt == maxAwards) throws AwardsExhaustedError, frees the bidder, and throws again when repeated', async () => {
      const { store, taskId, team, settle, awarded } = fixture();
      await awarded(['lexi', 'polly']);

      const error: unknown = await settle(1, 'FAILED', 1).catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(AwardsExhaustedError);
      expect(error).toMatchObject({ name: 'AwardsExhaustedError', taskId, failedBidders: ['polly'] });
      expect(ESCALATION_ERRORS).toContain((error as Error).name);
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
      expect(await store.bidderLoad(team, 'lexi')).toBe(0);
      expect((await store.summary(taskId)).awards).toEqual([{ attempt: 1, round: 1, bidder: 'polly', status: 'FAILED', reason: 'attempt 1 failed' }]);
      await expect(settle(1, 'FAILED', 1)).rejects.toMatchObject({ name: 'AwardsExhaustedError', failedBidders: ['polly'] });
    });

    it('FAILED with no runner-up left in the ranking throws AwardsExhaustedError naming every failed bidder', async () => {
      const { store, taskId, team, settle, awarded } = fixture();
      await awarded(['lexi', 'polly']);
      await settle(1, 'FAILED', 5);

      const error: unknown = await settle(2, 'FAILED', 5).catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(AwardsExhaustedError);
      expect((error as AwardsExhaustedError).failedBidders).toEqual(['polly', 'lexi']);
      expect((error as Error).message).toContain('polly, lexi');
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
      expect(await store.bidderLoad(team, 'lexi')).toBe(0);
      expect((await store.summary(taskId)).awards.map((award) => [award.bidder, award.status])).toEqual([
        ['polly', 'FAILED'],
        ['lexi', 'FAILED'],
      ]);
    });

    it('FAILED with a single bid throws AwardsExhaustedError naming the winner', async () => {
      const { settle, awarded } = fixture();
      await awarded(['polly']);
      await expect(settle(1, 'FAILED', 3)).rejects.toMatchObject({ name: 'AwardsExhaustedError', failedBidders: ['polly'] });
    });

    it('throws a RangeError for an award that was never made', async () => {
      const { open, settle } = fixture();
      await open();
      await expect(settle(1, 'COMPLETED')).rejects.toThrow(RangeError);
    });
  });

  describe('Method: bidderLoad', () => {
    it('counts the awards a bidder holds, per team, and lets a lease lapse after AWARD_LEASE_SECONDS', async () => {
      const { clock, store, team, awarded } = fixture();
      await awarded(['polly']);
      const second = fixture();
      second.clock.ms = clock.ms;
      // Another auction of the same team (its store scoped to that team), also won by polly: two tasks in hand.
      const sameTeam = second.store.forTeam(team);
      const opened = await sameTeam.openRound({ taskId: second.taskId, team, round: 1, windowSeconds: WINDOW, task: 'Another', requiredCapabilities: [], bidders: [...BIDDERS] });
      await sameTeam.recordBid(bidFor(opened.announcement, 'polly'));
      second.clock.ms += WINDOW * 1000;
      await sameTeam.closeRound({ taskId: second.taskId, round: 1, windowSeconds: WINDOW, maxRounds: 1, ...DIRECTORY });

      expect(await store.bidderLoad(team, 'polly')).toBe(2);
      expect(await store.bidderLoad(newTeam(), 'polly')).toBe(0);

      clock.ms = second.clock.ms + AWARD_LEASE_SECONDS * 1000 + 1000;
      expect(await store.bidderLoad(team, 'polly')).toBe(0);
    });
  });
});

describe('Function: auction control handlers (middy-wrapped, DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  function fixture() {
    const clock = { ms: T0 };
    const team = newTeam();
    const auctions = new AuctionStore({ team, client, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
    const telemetry = new TelemetrySink();
    const logger = new Logger({ serviceName: 'legion-auction-control-test' });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-auction-control-test' });
    telemetry.attach(logger, metrics);
    // settle-award records an exhausted award's escalation with the task (record-escalation.ts).
    const approvals = new ApprovalStore({ team, client, tableName: LOCAL_TABLE_NAME, now: () => clock.ms });
    const deps = { auctions, approvals, logger, metrics };
    const taskId = newTask();
    const fenced = { team, taskId, epoch: 1 };
    const openEvent = (overrides: Record<string, unknown> = {}) => ({
      step: 'open-auction', stateName: 'OpenRound', ...fenced, round: 1, windowSeconds: WINDOW, task: 'Translate the release notes', requiredCapabilities: ['translation'], bidders: [...BIDDERS], ...overrides,
    });
    const closeEvent = (overrides: Record<string, unknown> = {}) => ({ step: 'close-auction', stateName: 'CloseRound', ...fenced, round: 1, windowSeconds: WINDOW, maxRounds: 3, ...DIRECTORY, ...overrides });
    const settleEvent = (overrides: Record<string, unknown> = {}) => ({ step: 'settle-award', stateName: 'Settle', ...fenced, attempt: 1, outcome: 'COMPLETED', maxAwards: 2, ...DIRECTORY, ...overrides });
    const bidEvent = (bid: Bid, overrides: Record<string, unknown> = {}) => ({ version: '0', id: `e-${randomUUID()}`, source: LEGION_EVENT_SOURCE, 'detail-type': DETAIL_TYPES.bidSubmitted, detail: { team, bid }, ...overrides });
    return {
      clock, auctions, telemetry, taskId, team, openEvent, closeEvent, settleEvent, bidEvent,
      open: createOpenAuctionHandler(deps),
      close: createCloseAuctionHandler(deps),
      settle: createSettleAwardHandler(deps),
      collect: createCollectBidHandler(deps),
    };
  }

  async function invalid(run: Promise<unknown>): Promise<InvalidEventError> {
    const error: unknown = await run.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvalidEventError);
    return error as InvalidEventError;
  }

  describe('Handler: open-auction', () => {
    it('opens the round and answers its announcement (the stored one when opened again), counting the round opened', async () => {
      const { open, openEvent, telemetry, taskId } = fixture();

      const result = await open(openEvent(), context);

      expect(OpenAuctionResultSchema.parse(result)).toEqual(result);
      expect(result).toMatchObject({ status: 'OPEN', announcement: { taskId, round: 1, replyBy: iso(T0 + WINDOW * 1000) } });
      expect(telemetry.metricValues(METRICS.auctionRoundsOpened)).toEqual([1]);
      await expect(open(openEvent({ windowSeconds: 2 * WINDOW }), context)).resolves.toEqual(result);
    });

    it('rejects an event without taskId with an InvalidEventError naming the field', async () => {
      const { open, openEvent } = fixture();
      const { taskId: _omitted, ...withoutTask } = openEvent();

      const error = await invalid(open(withoutTask, context));

      expect(error.handler).toBe('open-auction');
      expect(error.problems.some((problem) => problem.startsWith('taskId'))).toBe(true);
    });

    it('rejects windowSeconds 0 with an InvalidEventError naming the field, and stores nothing', async () => {
      const { open, openEvent, auctions, taskId } = fixture();

      const error = await invalid(open(openEvent({ windowSeconds: 0 }), context));

      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^windowSeconds: /);
      expect(await auctions.summary(taskId)).toEqual({ rounds: [], awards: [] });
    });
  });

  describe('Handler: close-auction', () => {
    it('closes the round through the handler and counts the round and the award', async () => {
      const { open, openEvent, close, closeEvent, collect, bidEvent, clock, telemetry } = fixture();
      const { announcement } = await open(openEvent(), context);
      await collect(bidEvent(bidFor(announcement, 'polly')), context);
      clock.ms = T0 + WINDOW * 1000;

      const decision = await close(closeEvent(), context);

      expect(decision).toMatchObject({ outcome: 'AWARDED', award: { bidder: 'polly', functionArn: arnOf('polly') } });
      expect(telemetry.metricValues(METRICS.auctionRoundsClosed)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.awardsMade)).toEqual([1]);
    });

    it('rejects an event without bidderFunctionArns with an InvalidEventError naming the field', async () => {
      const { close, closeEvent } = fixture();
      const { bidderFunctionArns: _omitted, ...withoutArns } = closeEvent();

      const error = await invalid(close(withoutArns, context));

      expect(error.handler).toBe('close-auction');
      expect(error.problems.some((problem) => problem.startsWith('bidderFunctionArns'))).toBe(true);
    });

    it('passes NoValidBidsError on and counts an escalation', async () => {
      const { open, openEvent, close, closeEvent, clock, telemetry } = fixture();
      await open(openEvent(), context);
      clock.ms = T0 + WINDOW * 1000;

      await expect(close(closeEvent({ maxRounds: 1 }), context)).rejects.toBeInstanceOf(NoValidBidsError);
      expect(telemetry.metricValues(METRICS.escalations)).toEqual([1]);
    });
  });

  describe('Handler: settle-award', () => {
    it('settles through the handler (reason defaults to empty) and rejects an unknown outcome naming the field', async () => {
      const { open, openEvent, close, closeEvent, collect, bidEvent, settle, settleEvent, clock, telemetry } = fixture();
      const { announcement } = await open(openEvent(), context);
      await collect(bidEvent(bidFor(announcement, 'polly')), context);
      await collect(bidEvent(bidFor(announcement, 'lexi')), context);
      clock.ms = T0 + WINDOW * 1000;
      await close(closeEvent(), context);

      const error = await invalid(settle(settleEvent({ outcome: 'DONE' }), context));
      expect(error.problems.some((problem) => problem.startsWith('outcome'))).toBe(true);

      await expect(settle(settleEvent({ outcome: 'FAILED', reason: 'States.Timeout' }), context)).resolves.toMatchObject({ outcome: 'AWARDED', award: { attempt: 2, bidder: 'lexi' }, failed: ['polly'] });
      await expect(settle(settleEvent({ attempt: 2 }), context)).resolves.toEqual({ outcome: 'COMPLETED', award: null, failed: ['polly'] });
      expect(telemetry.metricValues(METRICS.awardsFailed)).toEqual([1]);
      expect(telemetry.metricValues(METRICS.awardsCompleted)).toEqual([1]);
    });
  });

  describe('Handler: collect-bid', () => {
    it('stores a bid, then answers a second delivery with REJECTED duplicate without throwing', async () => {
      const { open, openEvent, collect, bidEvent, auctions, taskId, telemetry } = fixture();
      const { announcement } = await open(openEvent(), context);
      const event = bidEvent(bidFor(announcement, 'polly'));

      await expect(collect(event, context)).resolves.toEqual({ status: 'STORED' });
      await expect(collect(event, context)).resolves.toEqual({ status: 'REJECTED', reason: 'duplicate' });

      expect((await auctions.summary(taskId)).rounds[0]).toMatchObject({ received: 2, rejected: counts({ duplicate: 1 }) });
      expect(telemetry.metricValues(METRICS.bidsReceived)).toEqual([1, 1]);
      expect(telemetry.metricValues(METRICS.bidsRejected)).toEqual([1]);
    });

    it('rejects an event whose detail-type is not BidSubmitted with an InvalidEventError, storing nothing', async () => {
      const { open, openEvent, collect, bidEvent, auctions, taskId } = fixture();
      const { announcement } = await open(openEvent(), context);

      const error = await invalid(collect(bidEvent(bidFor(announcement, 'polly'), { 'detail-type': DETAIL_TYPES.auctionAnnounced }), context));

      expect(error.handler).toBe('collect-bid');
      expect(error.problems.some((problem) => problem.startsWith('detail-type'))).toBe(true);
      expect((await auctions.summary(taskId)).rounds[0]).toMatchObject({ received: 0 });
    });

    it('rejects a bid that breaks BidSchema (an unknown key) with an InvalidEventError naming it', async () => {
      const { open, openEvent, collect, bidEvent } = fixture();
      const { announcement } = await open(openEvent(), context);
      const event = bidEvent(bidFor(announcement, 'polly'));

      const error = await invalid(collect({ ...event, detail: { ...event.detail, bid: { ...event.detail.bid, functionArn: 'arn:aws:lambda:evil' } } }, context));

      expect(error.problems.join('\n')).toContain('detail.bid');
    });
  });
});
