/**
 * The rules of the `auction` pattern (Contract Net, issue 5), as pure functions: which bids are
 * admitted when the bidding window closes, which admitted bid wins, and how long the next window
 * is when a round ends without a valid bid. No I/O, no clock: `now` is an argument.
 *
 * @example
 * ```ts
 * const { admitted, counts } = admitBids(announcement, bids, { knownBidders: ['a', 'b'], now: new Date() });
 * const award = chooseWinner(admitted);
 * if (award.winner === undefined) {
 *   const next = nextWindowSeconds(30, announcement.round, { maxRounds: 3 }); // undefined → escalate
 * }
 * ```
 */
import type { Announcement, Bid } from './contract.ts';

/** Why a bid was not admitted. */
export const REJECTION_REASONS = ['wrong-auction', 'duplicate', 'unknown-bidder', 'late', 'expired'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface RejectedBid {
  bid: Bid;
  reason: RejectionReason;
}

export interface Admission {
  /** Admitted bids, in the order they arrived. */
  admitted: Bid[];
  /** Rejected bids, in the order they arrived, each with the first reason that applies. */
  rejected: RejectedBid[];
  /** Rejections per reason; every reason is present (0 when none). */
  counts: Record<RejectionReason, number>;
}

export interface AdmitOptions {
  /** Ids of the bidder agents of the marketplace. */
  knownBidders: Iterable<string>;
  /** The instant the auction closes; bids that expire before it are rejected. */
  now: Date;
}

function instant(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO date-time: ${iso}`);
  return ms;
}

/**
 * Sorts the bids received for one round of an auction into admitted and rejected. `bids` is in
 * arrival order. Each bid gets the first reason that applies, checked in this order:
 *
 * 1. `wrong-auction`: its `auctionId` or `round` is not the announcement's. Such a bid is not part
 *    of this round at all, so its `bidId` is not remembered for the duplicate check.
 * 2. `duplicate`: a bid with the same `bidId` arrived earlier in this round (EventBridge delivers at
 *    least once). The first delivery is kept and judged on its own; every later one is a duplicate,
 *    so one bid delivered twice is counted once, whatever the first delivery's fate.
 * 3. `unknown-bidder`: `bidder` is not in `knownBidders`.
 * 4. `late`: `submittedAt` is after `replyBy` (a bid submitted exactly at `replyBy` is on time).
 * 5. `expired`: `expiresAt` is before `now` (a bid expiring exactly at `now` is still valid).
 *
 * @throws RangeError when a time cannot be parsed (bids validated by `BidSchema` always can).
 */
export function admitBids(announcement: Announcement, bids: readonly Bid[], options: AdmitOptions): Admission {
  const known = new Set(options.knownBidders);
  const replyBy = instant(announcement.replyBy);
  const now = options.now.getTime();
  if (Number.isNaN(now)) throw new RangeError('now is an invalid Date');

  const seen = new Set<string>();
  const admitted: Bid[] = [];
  const rejected: RejectedBid[] = [];
  const counts = Object.fromEntries(REJECTION_REASONS.map((r) => [r, 0])) as Record<RejectionReason, number>;

  const reasonFor = (bid: Bid): RejectionReason | undefined => {
    if (bid.auctionId !== announcement.auctionId || bid.round !== announcement.round) return 'wrong-auction';
    if (seen.has(bid.bidId)) return 'duplicate';
    seen.add(bid.bidId);
    if (!known.has(bid.bidder)) return 'unknown-bidder';
    if (instant(bid.submittedAt) > replyBy) return 'late';
    if (instant(bid.expiresAt) < now) return 'expired';
    return undefined;
  };

  for (const bid of bids) {
    const reason = reasonFor(bid);
    if (reason === undefined) {
      admitted.push(bid);
    } else {
      rejected.push({ bid, reason });
      counts[reason] += 1;
    }
  }
  return { admitted, rejected, counts };
}

/** Weights of the scoring rule; see {@link chooseWinner}. */
export interface ScoreWeights {
  capability: number;
  price: number;
  eta: number;
}

export const DEFAULT_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({ capability: 0.6, price: 0.25, eta: 0.15 });

/** Scores closer than this are equal, so that floating-point noise never decides an award. */
export const SCORE_EPSILON = 1e-9;

export interface RankedBid {
  bid: Bid;
  score: number;
}

export type AuctionRanking =
  | { winner: Bid; runnerUp: Bid | undefined; ranking: RankedBid[] }
  | { winner: undefined; runnerUp: undefined; ranking: RankedBid[] };

function compareRanked(a: RankedBid, b: RankedBid): number {
  if (Math.abs(a.score - b.score) > SCORE_EPSILON) return b.score - a.score;
  if (a.bid.capabilityScore !== b.bid.capabilityScore) return b.bid.capabilityScore - a.bid.capabilityScore;
  if (a.bid.priceEstimate !== b.bid.priceEstimate) return a.bid.priceEstimate - b.bid.priceEstimate;
  if (a.bid.etaSeconds !== b.bid.etaSeconds) return a.bid.etaSeconds - b.bid.etaSeconds;
  if (a.bid.bidder !== b.bid.bidder) return a.bid.bidder < b.bid.bidder ? -1 : 1;
  // Only reachable for two bids of one bidder that tie on everything: keep the order total.
  if (a.bid.bidId !== b.bid.bidId) return a.bid.bidId < b.bid.bidId ? -1 : 1;
  return 0;
}

/**
 * Ranks admitted bids and picks the winner and the runner-up (awarded if the winner fails).
 *
 * Scoring rule, for each admitted bid:
 *
 * ```
 * score = w1 · capabilityScore − w2 · priceEstimate / maxPrice − w3 · etaSeconds / maxEta
 * ```
 *
 * where `maxPrice` and `maxEta` are the largest `priceEstimate` and `etaSeconds` among the admitted
 * bids (a price term of 0 when every price is 0), so both normalised terms lie in [0, 1]. Defaults:
 * w1 = 0.6 (`capability`), w2 = 0.25 (`price`), w3 = 0.15 (`eta`); `weights` may override any of them.
 * Higher score wins.
 *
 * Tie-break, when two scores differ by at most {@link SCORE_EPSILON}: higher `capabilityScore`,
 * then lower `priceEstimate`, then lower `etaSeconds`, then `bidder` id in alphabetical (code unit)
 * order, then `bidId`. The result does not depend on the order of `admitted`.
 *
 * @returns `ranking` best first; `winner` undefined (and `ranking` empty) when there is no bid.
 * @throws RangeError when a weight is negative or not finite.
 */
export function chooseWinner(admitted: readonly Bid[], options: { weights?: Partial<ScoreWeights> } = {}): AuctionRanking {
  const weights: ScoreWeights = { ...DEFAULT_WEIGHTS, ...options.weights };
  for (const [name, value] of Object.entries(weights)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`weight ${name} must be a finite number >= 0`);
  }
  if (admitted.length === 0) return { winner: undefined, runnerUp: undefined, ranking: [] };

  const maxPrice = Math.max(...admitted.map((b) => b.priceEstimate));
  const maxEta = Math.max(...admitted.map((b) => b.etaSeconds));
  const ranking = admitted
    .map((bid): RankedBid => {
      const price = maxPrice > 0 ? bid.priceEstimate / maxPrice : 0;
      const eta = maxEta > 0 ? bid.etaSeconds / maxEta : 0;
      return { bid, score: weights.capability * bid.capabilityScore - weights.price * price - weights.eta * eta };
    })
    .sort(compareRanked);

  const [first, second] = ranking;
  if (first === undefined) return { winner: undefined, runnerUp: undefined, ranking: [] };
  return { winner: first.bid, runnerUp: second?.bid, ranking };
}

export interface WindowOptions {
  /** How much wider each re-announcement's window is; > 1. Default 2. */
  factor?: number;
  /** Total number of rounds (announcements) allowed, the first included. */
  maxRounds: number;
}

/**
 * The bidding window of the next round, after round `round` (1-based) closed without a valid bid:
 * `ceil(previousSeconds · factor)` seconds, or `undefined` when round `round + 1` would exceed
 * `maxRounds`, which means: stop re-announcing and escalate.
 *
 * @example
 * ```ts
 * nextWindowSeconds(30, 1, { maxRounds: 3 }); // 60: round 2
 * nextWindowSeconds(60, 2, { maxRounds: 3 }); // 120: round 3
 * nextWindowSeconds(120, 3, { maxRounds: 3 }); // undefined: escalate
 * ```
 * @throws RangeError on a non-positive window, a round or maxRounds that is not a positive integer,
 *   or a factor that is not a finite number > 1.
 */
export function nextWindowSeconds(previousSeconds: number, round: number, options: WindowOptions): number | undefined {
  const { factor = 2, maxRounds } = options;
  if (!Number.isFinite(previousSeconds) || previousSeconds <= 0) throw new RangeError('previousSeconds must be a finite number > 0');
  if (!Number.isInteger(round) || round < 1) throw new RangeError('round must be an integer >= 1');
  if (!Number.isInteger(maxRounds) || maxRounds < 1) throw new RangeError('maxRounds must be an integer >= 1');
  if (!Number.isFinite(factor) || factor <= 1) throw new RangeError('factor must be a finite number > 1');
  if (round + 1 > maxRounds) return undefined;
  return Math.ceil(previousSeconds * factor);
}
