/**
 * How a bidder agent answers an announcement: the pure rules (capabilityScore,
 * evaluateAnnouncement) on the shipped marketplace team, and the bidder handler that puts the bid
 * on the bus. EventBridge cannot run here, so its client is a small hand-written fake that records
 * the PutEvents commands (aws-sdk-client-mock is not installed); the bidder's load comes from a
 * real AuctionStore on DynamoDB Local (started once in test/global-setup.ts). The end-to-end path
 * (the local bus, the collector, the state machine) is covered in test/integration/auction.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AgentHandler } from '../../functions/agents/agent.ts';
import { type AuctionAnnouncedEvent, bidOnAnnouncement, createBidHandler, createBidderAgentHandler, isBusEvent } from '../../functions/patterns/auction/bidder.ts';
import { BID_VALIDITY_SECONDS, DEFAULT_BIDDER_CAPACITY, capabilityScore, evaluateAnnouncement } from '../../functions/patterns/auction/bidding.ts';
import { chooseWinner } from '../../functions/patterns/auction/auction-rules.ts';
import { AuctionStore } from '../../functions/patterns/auction/auction-store.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { METRICS } from '../../functions/core/contract.ts';
import { type Announcement, AnnouncementSchema, type Bid, BidSchema, BidSubmittedDetailSchema } from '../../functions/patterns/auction/contract.ts';
import { EventPublishError, InvalidEventError } from '../../functions/core/errors.ts';
import { DETAIL_TYPES, LEGION_EVENT_SOURCE } from '../../functions/core/events.ts';
import type { AgentDefinition, TeamDefinition } from '../../functions/core/team.ts';
import { loadTeamFile } from '../../functions/core/team.ts';
import { DynamoDbLocal, LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { agentConfigOf } from '../support/telecom.ts';
import { FakeEventBridge } from '../support/fake-event-bridge.ts';

/** The team whose partition the stores of this file use (keys carry the team). */
const TEST_TEAM = 'test-team';

const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const BUS = 'legion-Legion';
const iso = (ms: number): string => new Date(ms).toISOString();
const context = { functionName: 'legion-marketplace-bidder', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function announcementOf(overrides: Partial<Announcement> = {}): Announcement {
  return AnnouncementSchema.parse({
    taskId: 't-bid',
    auctionId: 't-bid',
    round: 1,
    description: 'Translate the release notes of version 2.4 for our customers in Germany and France.',
    requiredCapabilities: ['translation'],
    announcedAt: iso(T0),
    replyBy: iso(T0 + 30_000),
    ...overrides,
  });
}

let marketplace: TeamDefinition;
const agentOf = (id: string): AgentDefinition => {
  const agent = marketplace.agents.find((candidate) => candidate.id === id);
  if (!agent) throw new Error(`no agent ${id} in the marketplace team`);
  return agent;
};
const biddersOf = (team: TeamDefinition): AgentDefinition[] => team.agents.filter((agent) => agent.role === 'bidder');

beforeAll(async () => {
  marketplace = await loadTeamFile('teams/marketplace.yaml');
});

describe('Function: capabilityScore', () => {
  it('is the share of the required capabilities the agent has', () => {
    expect(capabilityScore(['translation', 'summarisation'], ['translation', 'localisation'])).toBe(0.5);
    expect(capabilityScore(['translation', 'localisation', 'german', 'french'], ['translation', 'localisation', 'sql'])).toBeCloseTo(2 / 3, 12);
    expect(capabilityScore(['copywriting'], ['translation'])).toBe(0);
    expect(capabilityScore(['translation'], ['translation'])).toBe(1);
  });

  it('compares case-insensitively', () => {
    expect(capabilityScore(['Translation', 'GERMAN'], ['translation', 'German'])).toBe(1);
  });

  it('is 1 when nothing is required, whatever the agent can do', () => {
    expect(capabilityScore(['sql'], [])).toBe(1);
  });
});

describe('Function: evaluateAnnouncement', () => {
  const now = new Date(T0 + 1234);

  it('bids with id <agent>-r<round>, the price of its token budget on its tier, its timeout as ETA, valid BID_VALIDITY_SECONDS after replyBy', () => {
    const announcement = announcementOf({ round: 2 });

    const decision = evaluateAnnouncement(agentOf('lexi'), announcement, { load: 0, now });

    expect(decision).toEqual({
      bid: {
        auctionId: 't-bid',
        round: 2,
        bidId: 'lexi-r2',
        bidder: 'lexi',
        capabilityScore: 1,
        // 6000 tokens on the balanced tier, USD 0.009 per 1,000 tokens.
        priceEstimate: 0.054,
        etaSeconds: 60,
        expiresAt: iso(T0 + 30_000 + BID_VALIDITY_SECONDS * 1000),
        submittedAt: iso(T0 + 1234),
      },
    });
    // 3000 tokens on the fast tier, USD 0.00125 per 1,000 tokens.
    expect(evaluateAnnouncement(agentOf('polly'), announcement, { load: 0, now })).toMatchObject({ bid: { bidId: 'polly-r2', priceEstimate: 0.00375, etaSeconds: 30 } });
  });

  it('gives the same bidId to every evaluation of one announcement, so a repeated delivery is one bid', () => {
    const announcement = announcementOf();
    const first = evaluateAnnouncement(agentOf('polly'), announcement, { load: 0, now });
    const later = evaluateAnnouncement(agentOf('polly'), announcement, { load: 0, now: new Date(T0 + 9000) });
    expect('bid' in first && 'bid' in later && first.bid.bidId === later.bid.bidId).toBe(true);
  });

  it('lets the ETA grow with the tasks in hand: timeoutSeconds × (1 + load)', () => {
    const lexi = agentOf('lexi');
    expect(lexi.capacity).toBe(2);
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 0, now })).toMatchObject({ bid: { etaSeconds: 60 } });
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 1, now })).toMatchObject({ bid: { etaSeconds: 120 } });
  });

  it('scores a partial fit with the share of capabilities covered', () => {
    const announcement = announcementOf({ requiredCapabilities: ['translation', 'localisation'] });
    expect(evaluateAnnouncement(agentOf('polly'), announcement, { load: 0, now })).toMatchObject({ bid: { capabilityScore: 0.5 } });
    expect(evaluateAnnouncement(agentOf('lexi'), announcement, { load: 0, now })).toMatchObject({ bid: { capabilityScore: 1 } });
  });

  it('declines no-capability when the agent has none of the required capabilities, whatever its load', () => {
    expect(evaluateAnnouncement(agentOf('quill'), announcementOf(), { load: 0, now })).toEqual({ declined: 'no-capability' });
    expect(evaluateAnnouncement(agentOf('atlas'), announcementOf(), { load: 99, now })).toEqual({ declined: 'no-capability' });
  });

  it('declines no-capacity when the agent holds capacity awarded tasks or more', () => {
    const polly = agentOf('polly');
    const lexi = agentOf('lexi');
    expect(polly.capacity).toBe(1);
    expect(evaluateAnnouncement(polly, announcementOf(), { load: 1, now })).toEqual({ declined: 'no-capacity' });
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 1, now })).toHaveProperty('bid');
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 2, now })).toEqual({ declined: 'no-capacity' });
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 3, now })).toEqual({ declined: 'no-capacity' });
  });

  it('takes a capacity of DEFAULT_BIDDER_CAPACITY (1) when the definition sets none', () => {
    const { capacity: _unset, ...lexi } = agentOf('lexi');
    expect(DEFAULT_BIDDER_CAPACITY).toBe(1);
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 0, now })).toHaveProperty('bid');
    expect(evaluateAnnouncement(lexi, announcementOf(), { load: 1, now })).toEqual({ declined: 'no-capacity' });
  });

  it('lets every bidder bid when nothing is required', () => {
    const decisions = biddersOf(marketplace).map((agent) => evaluateAnnouncement(agent, announcementOf({ requiredCapabilities: [] }), { load: 0, now }));
    expect(decisions.map((decision) => ('bid' in decision ? decision.bid.capabilityScore : decision.declined))).toEqual([1, 1, 1, 1]);
  });

  it('produces only bids that BidSchema accepts', () => {
    const announcements = [
      announcementOf(),
      announcementOf({ round: 3, requiredCapabilities: [] }),
      announcementOf({ requiredCapabilities: ['Translation', 'sql', 'copywriting', 'forecasting'] }),
    ];
    const bids: Bid[] = [];
    for (const agent of biddersOf(marketplace)) {
      for (const announcement of announcements) {
        for (let load = 0; load < (agent.capacity ?? DEFAULT_BIDDER_CAPACITY); load += 1) {
          const decision = evaluateAnnouncement(agent, announcement, { load, now });
          if ('bid' in decision) bids.push(decision.bid);
        }
      }
    }

    expect(bids.length).toBeGreaterThan(10);
    for (const bid of bids) expect(BidSchema.safeParse(bid)).toMatchObject({ success: true, data: bid });
  });

  it('with the marketplace team and [translation]: exactly lexi and polly bid, and polly wins (equal capability, cheaper and faster)', () => {
    const decisions = biddersOf(marketplace).map((agent) => [agent.id, evaluateAnnouncement(agent, announcementOf(), { load: 0, now })] as const);
    const bids = decisions.flatMap(([, decision]) => ('bid' in decision ? [decision.bid] : []));

    expect(bids.map((bid) => bid.bidder)).toEqual(['lexi', 'polly']);
    expect(Object.fromEntries(decisions.filter(([, decision]) => 'declined' in decision))).toEqual({ quill: { declined: 'no-capability' }, atlas: { declined: 'no-capability' } });
    const [lexi, polly] = bids;
    expect(polly?.capabilityScore).toBe(lexi?.capabilityScore);
    expect(polly?.priceEstimate).toBeLessThan(lexi?.priceEstimate ?? 0);
    expect(polly?.etaSeconds).toBeLessThan(lexi?.etaSeconds ?? 0);

    const ranking = chooseWinner(bids);
    expect(ranking.winner?.bidder).toBe('polly');
    expect(ranking.runnerUp?.bidder).toBe('lexi');
    // 0.6 · 1 − 0.25 · 0.00375/0.054 − 0.15 · 30/60 against 0.6 − 0.25 − 0.15.
    expect(ranking.ranking.map((entry) => entry.score)).toEqual([expect.closeTo(0.6 - 0.25 * (0.00375 / 0.054) - 0.075, 9), expect.closeTo(0.2, 9)]);
  });
});


describe('Function: bidOnAnnouncement (fake PutEvents, AuctionStore on DynamoDB Local)', () => {
  let db: DynamoDbLocal;
  let auctions: AuctionStore;

  beforeAll(async () => {
    db = await DynamoDbLocal.connect(inject('dynamoEndpoint'));
    auctions = new AuctionStore({ team: TEST_TEAM, client: db.documentClient(), tableName: LOCAL_TABLE_NAME, now: () => T0 });
  });
  afterAll(async () => {
    await db.stop();
  });

  /** One bidder of a team with its own name, so that its load (kept per team) is this test's alone. */
  function fixture(agentId: string) {
    const team = `mkt-${randomUUID()}`;
    const config: AgentConfig = { ...agentConfigOf(marketplace, agentId), team, eventBusName: BUS };
    const events = new FakeEventBridge();
    const logger = new Logger({ serviceName: 'legion-bidder-test', logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-bidder-test' });
    const telemetry = new TelemetrySink();
    telemetry.attach(logger, metrics);
    // The team's own store, as the bidder's Lambda has (keys carry the team).
    const teamAuctions = auctions.forTeam(team);
    const deps = { auctions: teamAuctions, events, eventBusName: BUS, logger, metrics, clock: () => new Date(T0 + 500) };
    const busEvent = (announcement: Announcement = announcementOf({ taskId: `t-${randomUUID()}`, auctionId: `t-${randomUUID()}` }), eventTeam = team): AuctionAnnouncedEvent => ({
      id: `e-${randomUUID()}`,
      source: LEGION_EVENT_SOURCE,
      'detail-type': DETAIL_TYPES.auctionAnnounced,
      detail: { team: eventTeam, announcement },
    });
    /** Gives `bidder` one award on this team, as the auction would: a round it wins, closed. */
    async function award(bidder: string): Promise<string> {
      const taskId = `t-${randomUUID()}`;
      const { announcement } = await teamAuctions.openRound({ taskId, team, round: 1, windowSeconds: 1, task: 'Earlier task', requiredCapabilities: [], bidders: [bidder] });
      await teamAuctions.recordBid(BidSchema.parse({ auctionId: taskId, round: 1, bidId: `${bidder}-r1`, bidder, capabilityScore: 1, priceEstimate: 0.01, etaSeconds: 30, expiresAt: iso(T0 + 3_600_000), submittedAt: announcement.announcedAt }));
      await teamAuctions.closeRound({ taskId, round: 1, windowSeconds: 1, maxRounds: 1, bidders: [bidder], bidderFunctionArns: [`arn:aws:lambda:us-east-1:123456789012:function:${bidder}`] });
      return taskId;
    }
    return { team, config, events, deps, telemetry, busEvent, award };
  }

  it('puts exactly one BidSubmitted entry on the Legion bus, with detail { team, bid }', async () => {
    const { team, config, events, deps, busEvent } = fixture('polly');
    const event = busEvent();

    const result = await bidOnAnnouncement(event, config, deps);

    const expectedBid = evaluateAnnouncement(config.agent, event.detail.announcement, { load: 0, now: new Date(T0 + 500) });
    expect(result).toEqual({ status: 'BID', ...expectedBid });
    expect(events.commands).toHaveLength(1);
    expect(events.entries).toEqual([{ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.bidSubmitted, EventBusName: BUS, Detail: expect.any(String) as string }]);
    const detail: unknown = JSON.parse(events.entries[0]?.Detail ?? 'null');
    expect(detail).toEqual({ team, bid: result.status === 'BID' ? result.bid : undefined });
    expect(BidSubmittedDetailSchema.safeParse(detail).success).toBe(true);
  });

  it('declines without putting anything when the agent has none of the capabilities', async () => {
    const { config, events, deps, busEvent } = fixture('quill');
    await expect(bidOnAnnouncement(busEvent(), config, deps)).resolves.toEqual({ status: 'DECLINED', reason: 'no-capability' });
    expect(events.commands).toEqual([]);
  });

  it('reads its load from the auction store: declines no-capacity while it holds an award, bids again once it is settled', async () => {
    const { team, config, events, deps, busEvent, award } = fixture('polly');
    const earlier = await award('polly');
    expect(await auctions.bidderLoad(team, 'polly')).toBe(1);

    await expect(bidOnAnnouncement(busEvent(), config, deps)).resolves.toEqual({ status: 'DECLINED', reason: 'no-capacity' });
    expect(events.commands).toEqual([]);

    await deps.auctions.settleAward({ taskId: earlier, attempt: 1, outcome: 'COMPLETED', reason: '', maxAwards: 1, bidders: ['polly'], bidderFunctionArns: ['arn:aws:lambda:us-east-1:123456789012:function:polly'] });
    await expect(bidOnAnnouncement(busEvent(), config, deps)).resolves.toMatchObject({ status: 'BID', bid: { bidder: 'polly', etaSeconds: 30 } });
    expect(events.commands).toHaveLength(1);
  });

  it('bids with a longer ETA while it holds fewer awards than its capacity', async () => {
    const { config, deps, busEvent, award } = fixture('lexi');
    await award('lexi');
    await expect(bidOnAnnouncement(busEvent(), config, deps)).resolves.toMatchObject({ status: 'BID', bid: { etaSeconds: 120 } });
  });

  it('refuses an announcement for another team with an InvalidEventError, putting nothing', async () => {
    const { config, events, deps, busEvent } = fixture('polly');

    const error: unknown = await bidOnAnnouncement(busEvent(undefined, 'other-team'), config, deps).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).problems.join('\n')).toContain('other-team');
    expect(events.commands).toEqual([]);
  });

  it('throws EventPublishError when EventBridge refuses the entry (FailedEntryCount 1)', async () => {
    const { config, events, deps, busEvent } = fixture('polly');
    events.failWith = 'InternalFailure';

    const error: unknown = await bidOnAnnouncement(busEvent(), config, deps).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(EventPublishError);
    expect(error).toMatchObject({ eventBusName: BUS, detailType: DETAIL_TYPES.bidSubmitted });
    expect((error as Error).message).toContain('InternalFailure');
  });

  describe('Function: createBidHandler', () => {
    it('validates the event: an announcement that breaks its schema is an InvalidEventError naming the field', async () => {
      const { config, events, deps, busEvent } = fixture('polly');
      const handler = createBidHandler(config, deps);
      const event = busEvent();

      const error: unknown = await handler({ ...event, detail: { ...event.detail, announcement: { ...event.detail.announcement, replyBy: 'tomorrow' } } }, context).catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).problems.some((problem) => problem.startsWith('detail.announcement.replyBy'))).toBe(true);
      expect(events.commands).toEqual([]);
      await expect(handler(event, context)).resolves.toMatchObject({ status: 'BID' });
    });

    it('counts the bids submitted and the announcements declined', async () => {
      const polly = fixture('polly');
      const quill = fixture('quill');

      await expect(createBidHandler(polly.config, polly.deps)(polly.busEvent(), context)).resolves.toMatchObject({ status: 'BID' });
      await expect(createBidHandler(quill.config, quill.deps)(quill.busEvent(), context)).resolves.toEqual({ status: 'DECLINED', reason: 'no-capability' });

      expect(polly.telemetry.metricValues(METRICS.bidsSubmitted)).toEqual([1]);
      expect(polly.telemetry.metricValues(METRICS.bidsDeclined)).toEqual([]);
      expect(quill.telemetry.metricValues(METRICS.bidsDeclined)).toEqual([1]);
      expect(quill.telemetry.metricValues(METRICS.bidsSubmitted)).toEqual([]);
    });
  });

  describe('Function: createBidderAgentHandler', () => {
    it('routes an EventBridge event to the bid handler and a step event to the step handler', async () => {
      const { config, events, deps, busEvent } = fixture('polly');
      /** STUB: the agent handler, recording the events it is given. */
      const stepEvents: unknown[] = [];
      const stepHandler: AgentHandler = (event) => {
        stepEvents.push(event);
        return Promise.resolve({ usage: { inputTokens: 1, outputTokens: 2 } });
      };
      const handler = createBidderAgentHandler(config, stepHandler, deps);

      await expect(handler(busEvent(), context)).resolves.toMatchObject({ status: 'BID', bid: { bidder: 'polly' } });
      expect(stepEvents).toEqual([]);
      expect(events.commands).toHaveLength(1);

      const step = { step: 'execute', taskId: 't-1', epoch: 1, stateName: 'RunWinner', stepId: 'award-1' };
      await expect(handler(step, context)).resolves.toEqual({ usage: { inputTokens: 1, outputTokens: 2 } });
      expect(stepEvents).toEqual([step]);
      expect(events.commands).toHaveLength(1);
    });
  });
});

describe('Function: isBusEvent', () => {
  it('tells an EventBridge delivery (it has a detail-type) from a state machine step', () => {
    expect(isBusEvent({ 'detail-type': DETAIL_TYPES.auctionAnnounced, detail: {} })).toBe(true);
    expect(isBusEvent({ step: 'execute', taskId: 't-1' })).toBe(false);
    expect(isBusEvent(null)).toBe(false);
    expect(isBusEvent('detail-type')).toBe(false);
  });
});
