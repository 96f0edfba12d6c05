/**
 * The target of each auction team's `BidSubmitted` rule: stores a bid, once, for the round it
 * answers. A second delivery of the same bid (EventBridge delivers at least once), a bid from a
 * bidder that is not the team's, and a bid for a round that has closed are refused and counted on
 * the round; a refusal is logged, never thrown, so EventBridge does not retry it.
 *
 * @example
 * ```ts
 * const handler = createCollectBidHandler({ auctions, logger, metrics });
 * await handler({ id: 'e-1', source: 'legion', 'detail-type': 'BidSubmitted', detail: { team: 'marketplace', bid } }, context);
 * // { status: 'STORED' } or { status: 'REJECTED', reason: 'duplicate' }
 * ```
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import type { RecordBidResult } from './auction-store.ts';
import { METRICS } from '../../core/contract.ts';
import { BidSubmittedDetailSchema } from './contract.ts';
import { DETAIL_TYPES, legionEventSchema } from '../../core/events.ts';
import { type ControlHandler, createControlHandler } from '../../control/control-handler.ts';
import type { AuctionControlDependencies } from './open-auction.ts';

/** The EventBridge event the rule delivers (the fields the collector reads). */
export const BidSubmittedEventSchema = legionEventSchema(DETAIL_TYPES.bidSubmitted, BidSubmittedDetailSchema);
export type BidSubmittedEvent = z.infer<typeof BidSubmittedEventSchema>;

/** Stores the bid or counts its refusal (pure; no middlewares). */
export async function collectBid(event: BidSubmittedEvent, deps: AuctionControlDependencies): Promise<RecordBidResult> {
  const { bid } = event.detail;
  const result = await deps.auctions.forTeam(event.detail.team).recordBid(bid);
  const context = { taskId: bid.auctionId, round: bid.round, bidId: bid.bidId, bidder: bid.bidder, eventId: event.id };
  deps.metrics.addMetric(METRICS.bidsReceived, MetricUnit.Count, 1);
  if (result.status === 'STORED') {
    deps.logger.info('bid stored', context);
  } else {
    deps.logger.warn('bid refused', { ...context, reason: result.reason });
    deps.metrics.addMetric(METRICS.bidsRejected, MetricUnit.Count, 1);
  }
  return result;
}

export function createCollectBidHandler(deps: AuctionControlDependencies): ControlHandler<RecordBidResult> {
  return createControlHandler('collect-bid', BidSubmittedEventSchema, (event) => collectBid(event, deps), deps);
}
