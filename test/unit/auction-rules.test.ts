/**
 * functions/patterns/auction/auction-rules.ts: admission of bids when the window closes, the scoring rule and
 * its tie-break, and the wider window of a re-announcement. Pure functions: no bus, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WEIGHTS,
  REJECTION_REASONS,
  admitBids,
  chooseWinner,
  nextWindowSeconds,
} from '../../functions/patterns/auction/auction-rules.ts';
import { type Announcement, AnnouncementSchema, type Bid, BidSchema } from '../../functions/patterns/auction/contract.ts';

const ANNOUNCEMENT: Announcement = AnnouncementSchema.parse({
  taskId: 't-1',
  auctionId: 'a-1',
  round: 1,
  description: 'Summarise the outage tickets of last week',
  requiredCapabilities: ['summarisation'],
  replyBy: '2025-01-01T12:00:30Z',
  announcedAt: '2025-01-01T12:00:00Z',
});
const NOW = new Date('2025-01-01T12:00:31Z');
const KNOWN = ['alpha', 'bravo', 'charlie', 'delta'];

let counter = 0;
function bid(overrides: Partial<Bid> = {}): Bid {
  counter += 1;
  return BidSchema.parse({
    auctionId: 'a-1',
    round: 1,
    bidId: `b-${counter}`,
    bidder: 'alpha',
    capabilityScore: 0.8,
    priceEstimate: 0.02,
    etaSeconds: 30,
    expiresAt: '2025-01-01T12:10:00Z',
    submittedAt: '2025-01-01T12:00:10Z',
    ...overrides,
  });
}

function admit(bids: Bid[]): ReturnType<typeof admitBids> {
  return admitBids(ANNOUNCEMENT, bids, { knownBidders: KNOWN, now: NOW });
}

describe('Module: contracts/auction', () => {
  it('accepts a valid announcement and bid', () => {
    expect(() => bid()).not.toThrow();
    expect(ANNOUNCEMENT.round).toBe(1);
  });

  it('rejects unknown keys (strict objects)', () => {
    expect(BidSchema.safeParse({ ...bid(), extra: 1 }).success).toBe(false);
    expect(AnnouncementSchema.safeParse({ ...ANNOUNCEMENT, extra: 1 }).success).toBe(false);
  });

  it.each([
    ['a capability score above 1', { capabilityScore: 1.1 }],
    ['a negative price', { priceEstimate: -0.01 }],
    ['a zero ETA', { etaSeconds: 0 }],
    ['a non-ISO expiry', { expiresAt: 'tomorrow' }],
  ])('rejects a bid with %s', (_name, overrides) => {
    expect(BidSchema.safeParse({ ...bid(), ...overrides }).success).toBe(false);
  });

  it('rejects an announcement whose replyBy is not after announcedAt', () => {
    expect(AnnouncementSchema.safeParse({ ...ANNOUNCEMENT, replyBy: ANNOUNCEMENT.announcedAt }).success).toBe(false);
  });
});

describe('Function: admitBids', () => {
  it('admits valid bids in arrival order with every count at 0', () => {
    const bids = [bid({ bidder: 'alpha' }), bid({ bidder: 'bravo' })];
    const result = admit(bids);
    expect(result.admitted).toEqual(bids);
    expect(result.rejected).toEqual([]);
    expect(result.counts).toEqual(Object.fromEntries(REJECTION_REASONS.map((r) => [r, 0])));
  });

  it('rejects a late bid (submitted after replyBy)', () => {
    const late = bid({ submittedAt: '2025-01-01T12:00:30.001Z' });
    const result = admit([late]);
    expect(result.admitted).toEqual([]);
    expect(result.rejected).toEqual([{ bid: late, reason: 'late' }]);
    expect(result.counts.late).toBe(1);
  });

  it('admits a bid submitted exactly at replyBy', () => {
    expect(admit([bid({ submittedAt: ANNOUNCEMENT.replyBy })]).admitted).toHaveLength(1);
  });

  it('counts one bid delivered twice once, keeping the first delivery', () => {
    const first = bid({ bidder: 'bravo' });
    const redelivered = { ...first };
    const result = admit([first, redelivered]);
    expect(result.admitted).toHaveLength(1);
    expect(result.admitted[0]).toBe(first);
    expect(result.rejected).toEqual([{ bid: redelivered, reason: 'duplicate' }]);
    expect(result.counts.duplicate).toBe(1);
  });

  it('counts a late bid delivered twice as one late bid and one duplicate', () => {
    const late = bid({ submittedAt: '2025-01-01T12:01:00Z' });
    const result = admit([late, { ...late }]);
    expect(result.rejected.map((r) => r.reason)).toEqual(['late', 'duplicate']);
    expect(result.counts).toMatchObject({ late: 1, duplicate: 1 });
  });

  it('rejects a bid from an unknown bidder', () => {
    const result = admit([bid({ bidder: 'mallory' })]);
    expect(result.rejected.map((r) => r.reason)).toEqual(['unknown-bidder']);
    expect(result.counts['unknown-bidder']).toBe(1);
  });

  it('rejects a bid that expired before now, and keeps one expiring exactly now', () => {
    const expired = bid({ expiresAt: '2025-01-01T12:00:30.999Z' });
    const atNow = bid({ expiresAt: NOW.toISOString() });
    const result = admit([expired, atNow]);
    expect(result.rejected).toEqual([{ bid: expired, reason: 'expired' }]);
    expect(result.admitted).toEqual([atNow]);
  });

  it.each([
    ['another auction', { auctionId: 'a-2' }],
    ['another round', { round: 2 }],
  ])('rejects a bid for %s as wrong-auction', (_name, overrides) => {
    const result = admit([bid(overrides)]);
    expect(result.rejected.map((r) => r.reason)).toEqual(['wrong-auction']);
    expect(result.counts['wrong-auction']).toBe(1);
  });

  it('does not let a wrong-auction bid shadow a valid bid with the same id', () => {
    const stray = bid({ bidId: 'same', round: 2 });
    const valid = bid({ bidId: 'same' });
    const result = admit([stray, valid]);
    expect(result.admitted).toEqual([valid]);
    expect(result.rejected).toEqual([{ bid: stray, reason: 'wrong-auction' }]);
  });

  it('applies the first reason in the documented order and counts every reason', () => {
    const dup = bid({ bidder: 'charlie' });
    const bids = [
      bid({ bidder: 'mallory', submittedAt: '2025-01-01T12:05:00Z' }), // unknown before late
      bid({ submittedAt: '2025-01-01T12:05:00Z', expiresAt: '2025-01-01T12:00:00Z' }), // late before expired
      bid({ auctionId: 'a-9', bidder: 'mallory' }), // wrong-auction before unknown
      dup,
      { ...dup },
      bid({ expiresAt: '2025-01-01T12:00:20Z' }),
      bid({ bidder: 'delta' }),
    ];
    const result = admit(bids);
    expect(result.rejected.map((r) => r.reason)).toEqual(['unknown-bidder', 'late', 'wrong-auction', 'duplicate', 'expired']);
    expect(result.counts).toEqual({ 'wrong-auction': 1, duplicate: 1, 'unknown-bidder': 1, late: 1, expired: 1 });
    expect(result.admitted.map((b) => b.bidder)).toEqual(['charlie', 'delta']);
  });
});

describe('Function: chooseWinner', () => {
  const NO_WEIGHT = { capability: 0, price: 0, eta: 0 };

  it('returns no winner when there are no bids', () => {
    expect(chooseWinner([])).toEqual({ winner: undefined, runnerUp: undefined, ranking: [] });
  });

  it('has the documented default weights', () => {
    expect(DEFAULT_WEIGHTS).toEqual({ capability: 0.6, price: 0.25, eta: 0.15 });
  });

  it('scores by capability minus normalised price and ETA, and names the runner-up', () => {
    const a = bid({ bidder: 'alpha', capabilityScore: 0.9, priceEstimate: 2, etaSeconds: 60 });
    const b = bid({ bidder: 'bravo', capabilityScore: 0.5, priceEstimate: 1, etaSeconds: 30 });
    const award = chooseWinner([b, a]);
    expect(award.winner).toBe(a);
    expect(award.runnerUp).toBe(b);
    expect(award.ranking[0]?.score).toBeCloseTo(0.6 * 0.9 - 0.25 - 0.15, 12);
    expect(award.ranking[1]?.score).toBeCloseTo(0.6 * 0.5 - 0.25 * 0.5 - 0.15 * 0.5, 12);
  });

  it('lets a much cheaper and faster bid beat a slightly more capable one', () => {
    const capable = bid({ bidder: 'alpha', capabilityScore: 0.8, priceEstimate: 10, etaSeconds: 100 });
    const cheap = bid({ bidder: 'bravo', capabilityScore: 0.75, priceEstimate: 1, etaSeconds: 10 });
    expect(chooseWinner([capable, cheap]).winner).toBe(cheap);
  });

  it('honours overridden weights', () => {
    const capable = bid({ bidder: 'alpha', capabilityScore: 0.8, priceEstimate: 10, etaSeconds: 100 });
    const cheap = bid({ bidder: 'bravo', capabilityScore: 0.75, priceEstimate: 1, etaSeconds: 10 });
    expect(chooseWinner([capable, cheap], { weights: { price: 0, eta: 0 } }).winner).toBe(capable);
  });

  it('has no runner-up with a single bid, and handles all-zero prices', () => {
    const only = bid({ priceEstimate: 0 });
    const award = chooseWinner([only]);
    expect(award.winner).toBe(only);
    expect(award.runnerUp).toBeUndefined();
    expect(award.ranking[0]?.score).toBeCloseTo(0.6 * 0.8 - 0.15, 12);
  });

  it('breaks a tie on higher capability score first', () => {
    const low = bid({ bidder: 'alpha', capabilityScore: 0.5, priceEstimate: 0.01, etaSeconds: 1 });
    const high = bid({ bidder: 'bravo', capabilityScore: 0.6, priceEstimate: 9, etaSeconds: 99 });
    expect(chooseWinner([low, high], { weights: NO_WEIGHT }).winner).toBe(high);
  });

  it('then on lower price', () => {
    const dear = bid({ bidder: 'alpha', priceEstimate: 0.03, etaSeconds: 1 });
    const cheap = bid({ bidder: 'bravo', priceEstimate: 0.02, etaSeconds: 99 });
    expect(chooseWinner([dear, cheap], { weights: NO_WEIGHT }).winner).toBe(cheap);
  });

  it('then on lower ETA', () => {
    const slow = bid({ bidder: 'alpha', etaSeconds: 31 });
    const fast = bid({ bidder: 'bravo', etaSeconds: 30 });
    expect(chooseWinner([slow, fast], { weights: NO_WEIGHT }).winner).toBe(fast);
  });

  it('then on bidder id, alphabetically, with the default weights too', () => {
    const charlie = bid({ bidder: 'charlie' });
    const alpha = bid({ bidder: 'alpha' });
    const bravo = bid({ bidder: 'bravo' });
    const award = chooseWinner([charlie, alpha, bravo]);
    expect(award.ranking.map((r) => r.bid.bidder)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(award.runnerUp).toBe(bravo);
  });

  it('treats scores within floating-point noise as a tie', () => {
    // On paper both score 0.2; in floating point 0.3 - 1/10 is 0.19999999999999998 < 0.2.
    const c = bid({ bidder: 'charlie', capabilityScore: 0.3, priceEstimate: 1 });
    const d = bid({ bidder: 'delta', capabilityScore: 0.2, priceEstimate: 0 });
    const dear = bid({ bidder: 'alpha', capabilityScore: 0, priceEstimate: 10 });
    const award = chooseWinner([d, c, dear], { weights: { capability: 1, price: 1, eta: 0 } });
    expect(award.ranking[0]?.score).toBeLessThan(award.ranking[1]?.score ?? Number.NaN);
    expect(award.winner).toBe(c); // the tie-break (higher capability) decides, not the noise
    expect(award.runnerUp).toBe(d);
  });

  it('does not depend on the order of the bids', () => {
    const bids = ['delta', 'alpha', 'charlie', 'bravo'].map((bidder, i) =>
      bid({ bidder, capabilityScore: 0.5 + (i % 2) * 0.2, priceEstimate: 0.01 * (i + 1), etaSeconds: 10 * (4 - i) }),
    );
    const forward = chooseWinner(bids).ranking.map((r) => r.bid.bidId);
    const backward = chooseWinner([...bids].reverse()).ranking.map((r) => r.bid.bidId);
    expect(backward).toEqual(forward);
  });

  it.each([{ capability: -1 }, { price: Number.NaN }, { eta: Number.POSITIVE_INFINITY }])('rejects the weights %o', (weights) => {
    expect(() => chooseWinner([bid()], { weights })).toThrow(RangeError);
  });
});

describe('Function: nextWindowSeconds', () => {
  it('doubles the window by default until the last round, then escalates (undefined)', () => {
    expect(nextWindowSeconds(30, 1, { maxRounds: 3 })).toBe(60);
    expect(nextWindowSeconds(60, 2, { maxRounds: 3 })).toBe(120);
    expect(nextWindowSeconds(120, 3, { maxRounds: 3 })).toBeUndefined();
  });

  it('uses a custom factor, rounding up to whole seconds', () => {
    expect(nextWindowSeconds(10, 1, { factor: 1.5, maxRounds: 5 })).toBe(15);
    expect(nextWindowSeconds(15, 2, { factor: 1.5, maxRounds: 5 })).toBe(23);
  });

  it('escalates at once when only one round is allowed, and past the limit', () => {
    expect(nextWindowSeconds(30, 1, { maxRounds: 1 })).toBeUndefined();
    expect(nextWindowSeconds(30, 7, { maxRounds: 3 })).toBeUndefined();
  });

  it.each([
    ['a zero window', 0, 1, { maxRounds: 3 }],
    ['round 0', 30, 0, { maxRounds: 3 }],
    ['a fractional round', 30, 1.5, { maxRounds: 3 }],
    ['maxRounds 0', 30, 1, { maxRounds: 0 }],
    ['a factor of 1 (no widening)', 30, 1, { factor: 1, maxRounds: 3 }],
  ])('rejects %s', (_name, previous, round, options) => {
    expect(() => nextWindowSeconds(previous, round, options)).toThrow(RangeError);
  });
});
