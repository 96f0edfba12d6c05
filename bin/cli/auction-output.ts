/**
 * The auction part of `legion run auction`'s human output: each round with its bids, and each
 * award with how it ended. (`--json` prints `RunResult.auction` as is.)
 *
 * @example
 * ```ts
 * process.stderr.write(describeAuction(result.auction));
 * // round 1 (2 s window): 3 bids received, 2 admitted, rejected: 1 late → AWARDED
 * // award 1: polly (round 1) FAILED: ...
 * ```
 */
import type { AuctionSummary } from '../../functions/patterns/auction/auction-store.ts';

export function describeAuction(auction: AuctionSummary): string {
  const lines = auction.rounds.map((round) => {
    const rejected = Object.entries(round.rejected)
      .filter(([, count]) => count > 0)
      .map(([reason, count]) => `${String(count)} ${reason}`);
    const outcome = round.outcome ? ` → ${round.outcome}` : ` (${round.status})`;
    return `  round ${String(round.round)} (${String(round.windowSeconds)} s window): ${String(round.received)} bids received, ${String(round.admitted)} admitted${rejected.length > 0 ? `, rejected: ${rejected.join(', ')}` : ''}${outcome}`;
  });
  for (const award of auction.awards) {
    lines.push(`  award ${String(award.attempt)}: ${award.bidder} (round ${String(award.round)}) ${award.status}${award.reason ? `: ${award.reason}` : ''}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
