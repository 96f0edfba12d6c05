/**
 * The contract of the `auction` pattern (Contract Net, issue 5): the announcement the state machine
 * puts on the event bus, and the bid a bidder agent answers with. Both are strict: an unknown key
 * is a contract breach, not something to carry along silently.
 *
 * Times are ISO 8601 date-times (UTC `Z` or an explicit offset). A bid's `priceEstimate` is in
 * **US dollars** (the bidder's estimate of what running the task will cost, model tokens included),
 * so bids of bidders on different models compare on one scale.
 *
 * The rules that act on these (admission, winner, re-announcement) live in
 * `functions/shared/auction-rules.ts`.
 *
 * @example
 * ```ts
 * const announcement = AnnouncementSchema.parse({
 *   taskId: 't-42',
 *   auctionId: 'a-42',
 *   round: 1,
 *   description: 'Summarise the outage tickets of last week',
 *   requiredCapabilities: ['summarisation'],
 *   replyBy: '2025-01-01T12:00:30Z',
 *   announcedAt: '2025-01-01T12:00:00Z',
 * });
 * const bid = BidSchema.parse({
 *   auctionId: 'a-42',
 *   round: 1,
 *   bidId: 'b-7',
 *   bidder: 'summariser',
 *   capabilityScore: 0.9,
 *   priceEstimate: 0.012, // USD
 *   etaSeconds: 20,
 *   expiresAt: '2025-01-01T12:05:00Z',
 *   submittedAt: '2025-01-01T12:00:10Z',
 * });
 * ```
 */
import { z } from 'zod';

const isoDateTime = z.iso.datetime({ offset: true });
const id = z.string().trim().min(1).max(128);

/** The task the `auction` state machine offers to bidders, one per round. */
export const AnnouncementSchema = z
  .object({
    /** The run the auction belongs to. */
    taskId: id,
    /** The auction; the same across its rounds. */
    auctionId: id,
    /** 1 for the first announcement, +1 for each re-announcement with a wider window. */
    round: z.number().int().positive(),
    description: z.string().trim().min(1, 'must not be empty').max(8000),
    /** Capabilities a bidder needs; may be empty when any bidder will do. */
    requiredCapabilities: z.array(z.string().trim().min(1).max(64)).max(32),
    /** Bids submitted after this instant are late and rejected. */
    replyBy: isoDateTime,
    announcedAt: isoDateTime,
  })
  .strict()
  .refine((a) => Date.parse(a.replyBy) > Date.parse(a.announcedAt), {
    message: 'replyBy must be after announcedAt',
    path: ['replyBy'],
  });
export type Announcement = z.infer<typeof AnnouncementSchema>;

/** A bidder's answer to one round of one auction. */
export const BidSchema = z
  .object({
    auctionId: id,
    round: z.number().int().positive(),
    /** Unique per bid; a second delivery of the same bid (EventBridge is at-least-once) has the same id. */
    bidId: id,
    /** The bidder agent's id; must be one of the known bidders to be admitted. */
    bidder: id,
    /** How well the bidder's capabilities fit the task, 0 (not at all) to 1 (fully). */
    capabilityScore: z.number().min(0).max(1),
    /** Estimated cost of running the task, in US dollars. */
    priceEstimate: z.number().nonnegative(),
    /** Estimated time to a result, in seconds. */
    etaSeconds: z.number().positive(),
    /** The bid does not bind the bidder after this instant. */
    expiresAt: isoDateTime,
    submittedAt: isoDateTime,
  })
  .strict();
export type Bid = z.infer<typeof BidSchema>;
