/**
 * The `auction` state machine's settle states: the awarded bidder's result was verified
 * (COMPLETED: its capacity is freed), or the bidder failed or its result was rejected (FAILED: its
 * capacity is freed and the runner-up, the next bidder of the ranking that has not failed, is
 * awarded in the same transaction). With no runner-up left, or `maxAwards` reached, it throws
 * AwardsExhaustedError, which escalates the run.
 *
 * @example
 * ```ts
 * const handler = createSettleAwardHandler({ auctions, logger, metrics });
 * const next = await handler({ step: 'settle-award', stateName: 'AwardRunnerUp', team: 'dispatch', taskId: 't-1', epoch: 1, attempt: 1,
 *   outcome: 'FAILED', reason: 'ScriptedFailureError: ...', maxAwards: 2, bidders, bidderFunctionArns }, context);
 * next.award?.bidder; // the runner-up
 * ```
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../core/contract.ts';
import { type SettleAwardEvent, SettleAwardEventSchema, type SettleAwardResult } from './contract.ts';
import { AwardsExhaustedError } from '../../core/errors.ts';
import { type ControlHandler, createControlHandler } from '../../control/control-handler.ts';
import type { AuctionControlDependencies } from './open-auction.ts';
import { type EscalationRecorder, recordEscalation } from '../../control/record-escalation.ts';

/** The auction's stores, and the approvals an exhausted award records its escalation in. */
export type SettleAwardDependencies = AuctionControlDependencies & EscalationRecorder;

/** Settles the award and, on failure, awards the runner-up (pure; no middlewares). */
export async function settleAward(event: SettleAwardEvent, deps: SettleAwardDependencies): Promise<SettleAwardResult> {
  if (event.outcome === 'FAILED') deps.metrics.addMetric(METRICS.awardsFailed, MetricUnit.Count, 1);
  try {
    const settled = await deps.auctions.forTeam(event.team).settleAward(event);
    if (settled.outcome === 'COMPLETED') deps.metrics.addMetric(METRICS.awardsCompleted, MetricUnit.Count, 1);
    if (settled.award) {
      deps.metrics.addMetric(METRICS.awardsMade, MetricUnit.Count, 1);
      deps.logger.warn('awarded bidder failed; runner-up awarded', { taskId: event.taskId, attempt: event.attempt, reason: event.reason, runnerUp: settled.award.bidder });
    }
    return settled;
  } catch (error) {
    if (error instanceof AwardsExhaustedError) {
      deps.metrics.addMetric(METRICS.escalations, MetricUnit.Count, 1);
      deps.logger.error('no runner-up left; escalating', { taskId: event.taskId, failed: error.failedBidders });
      // A resume would run the failed winner again, which may succeed this time: the escalation must outlive this execution.
      await recordEscalation(deps, { taskId: event.taskId, team: event.team, pattern: 'auction' }, error);
    }
    throw error;
  }
}

export function createSettleAwardHandler(deps: SettleAwardDependencies): ControlHandler<SettleAwardResult> {
  return createControlHandler('settle-award', SettleAwardEventSchema, (event) => settleAward(event, deps), deps);
}
