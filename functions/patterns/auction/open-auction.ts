/**
 * The `auction` state machine's OpenRound state: stores round `round` of the task's auction (its
 * announcement, the team's bidders, the reply-by deadline `windowSeconds` from now) and returns the
 * announcement, which the next state puts on the bus. Opening a round that exists returns the
 * stored announcement and its status: a retried or resumed step announces the same deadline
 * again, and a round already CLOSED is not announced again (the state machine goes to the close,
 * which returns its stored decision).
 *
 * @example
 * ```ts
 * const handler = createOpenAuctionHandler({ auctions, logger, metrics });
 * const { announcement, status } = await handler({ step: 'open-auction', stateName: 'OpenRound', taskId: 't-1', epoch: 1, team: 'marketplace',
 *   round: 1, windowSeconds: 30, task: 'Translate the release notes', requiredCapabilities: ['translation'], bidders: ['lexi', 'polly'] }, context);
 * announcement.replyBy; // 30 s after announcedAt
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { AuctionStore } from './auction-store.ts';
import { METRICS } from '../../core/contract.ts';
import { type OpenAuctionEvent, OpenAuctionEventSchema, type OpenAuctionResult } from './contract.ts';
import { type ControlHandler, createControlHandler } from '../../control/control-handler.ts';

export interface AuctionControlDependencies {
  auctions: AuctionStore;
  logger: Logger;
  metrics: Metrics;
}

/** Opens (or finds) the round and returns its announcement (pure; no middlewares). */
export async function openAuction(event: OpenAuctionEvent, deps: AuctionControlDependencies): Promise<OpenAuctionResult> {
  const opened = await deps.auctions.forTeam(event.team).openRound(event);
  if (opened.status === 'OPEN') deps.metrics.addMetric(METRICS.auctionRoundsOpened, MetricUnit.Count, 1);
  deps.logger.info('auction round open', { taskId: event.taskId, round: event.round, status: opened.status, replyBy: opened.announcement.replyBy, bidders: event.bidders.length });
  return opened;
}

export function createOpenAuctionHandler(deps: AuctionControlDependencies): ControlHandler<OpenAuctionResult> {
  return createControlHandler('open-auction', OpenAuctionEventSchema, (event) => openAuction(event, deps), deps);
}
