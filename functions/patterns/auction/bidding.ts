/**
 * How a bidder agent answers an auction announcement, as a pure function: whether it bids, and
 * with what capability score, price estimate and ETA. It is deterministic code, no model call, so
 * a bid is cheap, repeatable, and the same offline and in AWS.
 *
 * - **capabilityScore**: the share of the required capabilities the agent has (case-insensitive);
 *   1 when none are required. An agent with none of them does not bid.
 * - **capacity**: an agent holding `capacity` (default 1) awarded tasks already does not bid.
 * - **priceEstimate** (USD): `tokenBudget / 1000 × USD_PER_1K_TOKENS[modelTier]`, the most the task
 *   can cost it.
 * - **etaSeconds**: `timeoutSeconds × (1 + tasks in hand)`: the new task waits behind the others.
 * - **bidId**: `<agent>-r<round>`, the same for every delivery of one announcement, so the
 *   collector stores one bid however often the announcement (or the bid) is delivered.
 *
 * @example
 * ```ts
 * const decision = evaluateAnnouncement(agent, announcement, { load: 0, now: new Date() });
 * if ('bid' in decision) await publish(decision.bid);
 * ```
 */
import type { ModelTier } from '../../core/contract.ts';
import type { Announcement, Bid } from './contract.ts';
import type { AgentDefinition } from '../../core/team-schema.ts';

/** Blended (input and output) on-demand price per 1,000 tokens of each tier, in USD: an estimate for bidding, not a bill. */
export const USD_PER_1K_TOKENS: Readonly<Record<ModelTier, number>> = Object.freeze({ fast: 0.00125, balanced: 0.009, deep: 0.045 });

/** Awarded tasks a bidder holds at once when its definition sets no `capacity`. */
export const DEFAULT_BIDDER_CAPACITY = 1;

/** How long a bid binds its bidder after the reply-by deadline. */
export const BID_VALIDITY_SECONDS = 600;

export type DeclineReason = 'no-capability' | 'no-capacity';
export type BidDecision = { bid: Bid } | { declined: DeclineReason };

export interface BidderState {
  /** Awarded tasks the agent holds now. */
  load: number;
  /** When the bid is submitted. */
  now: Date;
}

/** The share of `required` that `capabilities` covers, compared case-insensitively; 1 when nothing is required. */
export function capabilityScore(capabilities: readonly string[], required: readonly string[]): number {
  if (required.length === 0) return 1;
  const own = new Set(capabilities.map((capability) => capability.toLowerCase()));
  return required.filter((capability) => own.has(capability.toLowerCase())).length / required.length;
}

export function evaluateAnnouncement(agent: AgentDefinition, announcement: Announcement, state: BidderState): BidDecision {
  const score = capabilityScore(agent.capabilities, announcement.requiredCapabilities);
  if (score === 0) return { declined: 'no-capability' };
  if (state.load >= (agent.capacity ?? DEFAULT_BIDDER_CAPACITY)) return { declined: 'no-capacity' };
  const expiresAt = new Date(Date.parse(announcement.replyBy) + BID_VALIDITY_SECONDS * 1000);
  return {
    bid: {
      auctionId: announcement.auctionId,
      round: announcement.round,
      bidId: `${agent.id}-r${String(announcement.round)}`,
      bidder: agent.id,
      capabilityScore: score,
      priceEstimate: Math.round((agent.tokenBudget / 1000) * USD_PER_1K_TOKENS[agent.modelTier] * 1e6) / 1e6,
      etaSeconds: agent.timeoutSeconds * (1 + state.load),
      expiresAt: expiresAt.toISOString(),
      submittedAt: state.now.toISOString(),
    },
  };
}
