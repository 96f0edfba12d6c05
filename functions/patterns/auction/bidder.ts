/**
 * A bidder agent's answer to an auction announcement. The team's `AuctionAnnounced` rule invokes
 * every bidder's function with the event; the bidder checks its capability and current capacity
 * (its awarded tasks in hand, from the auction store) and, if it bids, puts a `BidSubmitted` event
 * on the bus, which the team's collector stores. The same function runs the awarded task when the
 * state machine invokes it (step `execute`): `createBidderAgentHandler` routes each invocation.
 *
 * @example
 * ```ts
 * const handler = createBidderAgentHandler(config, agentDependencies, { auctions, events, eventBusName, logger, metrics });
 * await handler({ id: 'e-1', source: 'legion', 'detail-type': 'AuctionAnnounced', detail: { team: 'marketplace', announcement } }, context);
 * // { status: 'BID', bid } or { status: 'DECLINED', reason: 'no-capacity' }
 * await handler({ step: 'execute', stateName: 'RunWinner', ... }, context); // runs the awarded task
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { AuctionStore } from './auction-store.ts';
import type { AgentConfig } from '../../core/config.ts';
import { METRICS } from '../../core/contract.ts';
import { AuctionAnnouncedDetailSchema, type Bid, type BidSubmittedDetail } from './contract.ts';
import { InvalidEventError } from '../../core/errors.ts';
import { DETAIL_TYPES, LEGION_EVENT_SOURCE, legionEventSchema } from '../../core/events.ts';
import { validateEvent } from '../../middlewares/validate-event.ts';
import { type PutEventsClient, putEvent } from '../../core/put-event.ts';
import type { AgentHandler } from '../../agents/agent.ts';
import { DEFAULT_BIDDER_CAPACITY, type DeclineReason, evaluateAnnouncement } from './bidding.ts';

/** The EventBridge event the announcement rule delivers (the fields a bidder reads). */
export const AuctionAnnouncedEventSchema = legionEventSchema(DETAIL_TYPES.auctionAnnounced, AuctionAnnouncedDetailSchema);
export type AuctionAnnouncedEvent = z.infer<typeof AuctionAnnouncedEventSchema>;

export interface BidderDependencies {
  /** Where the bidder's awarded tasks in hand are counted. */
  auctions: Pick<AuctionStore, 'bidderLoad'>;
  events: PutEventsClient;
  eventBusName: string;
  logger: Logger;
  metrics: Metrics;
  /** @default () => new Date() */
  clock?: () => Date;
}

export type BidderResult = { status: 'BID'; bid: Bid } | { status: 'DECLINED'; reason: DeclineReason };

/** Decides on the announcement and, if it bids, puts the bid on the bus (pure; no middlewares). */
export async function bidOnAnnouncement(event: AuctionAnnouncedEvent, config: AgentConfig, deps: BidderDependencies): Promise<BidderResult> {
  const { team, announcement } = event.detail;
  if (team !== config.team) throw new InvalidEventError(config.agent.id, [`announcement for team ${team}, not ${config.team}`]);
  const load = await deps.auctions.bidderLoad(config.team, config.agent.id);
  const decision = evaluateAnnouncement(config.agent, announcement, { load, now: (deps.clock ?? (() => new Date()))() });
  const context = { taskId: announcement.taskId, round: announcement.round, load, capacity: config.agent.capacity ?? DEFAULT_BIDDER_CAPACITY };
  if ('declined' in decision) {
    deps.logger.info('no bid', { ...context, reason: decision.declined });
    deps.metrics.addMetric(METRICS.bidsDeclined, MetricUnit.Count, 1);
    return { status: 'DECLINED', reason: decision.declined };
  }
  const detail: BidSubmittedDetail = { team, bid: decision.bid };
  await putEvent({ Source: LEGION_EVENT_SOURCE, DetailType: DETAIL_TYPES.bidSubmitted, Detail: JSON.stringify(detail), EventBusName: deps.eventBusName }, deps);
  deps.logger.info('bid submitted', { ...context, bid: decision.bid });
  deps.metrics.addMetric(METRICS.bidsSubmitted, MetricUnit.Count, 1);
  return { status: 'BID', bid: decision.bid };
}

/** The announcement handler with logging, metrics and event validation. */
export function createBidHandler(config: AgentConfig, deps: BidderDependencies): (event: unknown, context: Context) => Promise<BidderResult> {
  const handler = middy<AuctionAnnouncedEvent, BidderResult>((event: AuctionAnnouncedEvent) => bidOnAnnouncement(event, config, deps))
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    .use(validateEvent({ schema: AuctionAnnouncedEventSchema, handlerName: config.agent.id }));
  return handler as unknown as (event: unknown, context: Context) => Promise<BidderResult>;
}

/** Whether an invocation came from an EventBridge rule (it has a `detail-type`) rather than the state machine. */
export function isBusEvent(event: unknown): boolean {
  return event !== null && typeof event === 'object' && 'detail-type' in event;
}

/**
 * A bidder's function: announcements (from its rule) go to the bid handler, steps (from the
 * state machine: `execute`) to the agent handler.
 */
export function createBidderAgentHandler(config: AgentConfig, stepHandler: AgentHandler, deps: BidderDependencies): (event: unknown, context: Context) => Promise<unknown> {
  const bidHandler = createBidHandler(config, deps);
  return (event, context) => (isBusEvent(event) ? bidHandler(event, context) : stepHandler(event, context));
}
