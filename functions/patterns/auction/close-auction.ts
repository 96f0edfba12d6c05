/**
 * The `auction` state machine's CloseRound state, after the bidding window: admits the round's
 * bids (late, duplicate, unknown-bidder, expired and wrong-auction bids are rejected and counted),
 * ranks them by the documented scoring rule, and records the award to the winner before answering,
 * so the award exists before the winner runs. Without a valid bid it answers REANNOUNCE (a wider
 * window), or after `maxRounds` throws NoValidBidsError, which escalates the run.
 *
 * @example
 * ```ts
 * const handler = createCloseAuctionHandler({ auctions, logger, metrics });
 * const decision = await handler({ step: 'close-auction', stateName: 'CloseRound', team: 'dispatch', taskId: 't-1', epoch: 1, round: 1,
 *   windowSeconds: 30, maxRounds: 3, bidders: ['lexi', 'polly'], bidderFunctionArns: [lexiArn, pollyArn] }, context);
 * decision.outcome; // 'AWARDED'
 * ```
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../core/contract.ts';
import { type CloseAuctionEvent, CloseAuctionEventSchema, type CloseAuctionResult } from './contract.ts';
import { NoValidBidsError } from '../../core/errors.ts';
import { type ControlHandler, createControlHandler } from '../../control/control-handler.ts';
import type { AuctionControlDependencies } from './open-auction.ts';

/** Closes the round and decides (pure; no middlewares). */
export async function closeAuction(event: CloseAuctionEvent, deps: AuctionControlDependencies): Promise<CloseAuctionResult> {
  try {
    const decision = await deps.auctions.forTeam(event.team).closeRound(event);
    countBids(decision, deps);
    deps.logger.info('auction round closed', { taskId: event.taskId, round: event.round, outcome: decision.outcome, awardedTo: decision.award?.bidder, bids: decision.bids });
    return decision;
  } catch (error) {
    if (error instanceof NoValidBidsError) {
      deps.metrics.addMetric(METRICS.escalations, MetricUnit.Count, 1);
      deps.logger.error('no valid bids in any round; escalating', { taskId: event.taskId, rounds: event.round, rejected: error.rejected });
    }
    throw error;
  }
}

function countBids(decision: CloseAuctionResult, deps: AuctionControlDependencies): void {
  deps.metrics.addMetric(METRICS.auctionRoundsClosed, MetricUnit.Count, 1);
  if (decision.award) deps.metrics.addMetric(METRICS.awardsMade, MetricUnit.Count, 1);
  // The collector counted its own refusals as it made them; the reasons are in the log.
  const rejectedAtClose = Object.values(decision.bids.rejectedAtClose).reduce((total, count) => total + count, 0);
  if (rejectedAtClose > 0) deps.metrics.addMetric(METRICS.bidsRejected, MetricUnit.Count, rejectedAtClose);
}

export function createCloseAuctionHandler(deps: AuctionControlDependencies): ControlHandler<CloseAuctionResult> {
  return createControlHandler('close-auction', CloseAuctionEventSchema, (event) => closeAuction(event, deps), deps);
}
