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
 * `functions/patterns/auction/auction-rules.ts`.
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
import { TokenUsageSchema } from '../../core/agent-contract.ts';

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

/** The execution input of an `auction` run: the task to put out to tender. */
export const AuctionInputSchema = z
  .object({
    /** What the awarded bidder must do. */
    task: z.string().trim().min(1, 'must not be empty').max(8000),
    /** Capabilities a bidder needs (a bidder with none of them does not bid); may be empty. */
    requiredCapabilities: z.array(z.string().trim().min(1).max(64)).max(32),
  })
  .strict();
export type AuctionInput = z.infer<typeof AuctionInputSchema>;

const teamName = z.string().min(1).max(64);

/** The detail of an `AuctionAnnounced` event: the team's bidders answer it. */
export const AuctionAnnouncedDetailSchema = z.object({ team: teamName, announcement: AnnouncementSchema }).strict();
export type AuctionAnnouncedDetail = z.infer<typeof AuctionAnnouncedDetailSchema>;

/** The detail of a `BidSubmitted` event: the team's collector stores it. */
export const BidSubmittedDetailSchema = z.object({ team: teamName, bid: BidSchema }).strict();
export type BidSubmittedDetail = z.infer<typeof BidSubmittedDetailSchema>;

/** A bid as the state machine carries it once awarded: who runs the task, and the function it is. */
export const AwardSchema = z
  .object({
    /** 1 for the winner, 2 for the first runner-up awarded after it, ... */
    attempt: z.number().int().positive(),
    round: z.number().int().positive(),
    bidder: id,
    bidId: id,
    score: z.number(),
    /** The bidder's deployed function, from the team (definition substitutions), never from a bid. */
    functionArn: z.string().min(1),
  })
  .strict();
export type Award = z.infer<typeof AwardSchema>;

const fencedTask = {
  taskId: z.string().min(1).max(128),
  epoch: z.number().int().positive(),
  stateName: z.string().min(1),
};

/** The team's bidders, in definition order, with their function ARNs (same order). */
const biddersOfTeam = {
  bidders: z.array(id).min(1),
  bidderFunctionArns: z.array(z.string().min(1)).min(1),
};

/** What open-auction answers: the announcement, and OPEN (announce it) or CLOSED (a replay: go on to the close). */
/** OPEN: announce the round; ANNOUNCED: announced before, wait for the rest of its window and close it; CLOSED: replay its close (auction-store `reopen`). */
export const OpenAuctionResultSchema = z.object({ announcement: AnnouncementSchema, status: z.enum(['OPEN', 'ANNOUNCED', 'CLOSED']) }).strict();
export type OpenAuctionResult = z.infer<typeof OpenAuctionResultSchema>;

/** open-auction: store round `round` and answer its announcement (the stored one, if it exists). */
export const OpenAuctionEventSchema = z
  .object({
    step: z.literal('open-auction'),
    ...fencedTask,
    team: teamName,
    round: z.number().int().positive(),
    windowSeconds: z.number().int().positive().max(3600),
    task: z.string().min(1),
    requiredCapabilities: z.array(z.string()),
    bidders: z.array(id).min(1),
  })
  .strict();
export type OpenAuctionEvent = z.infer<typeof OpenAuctionEventSchema>;

/** How many bids of a round were turned away, per reason (by the collector or at close). */
export const RejectionCountsSchema = z.record(z.string(), z.number().int().nonnegative());

/** close-auction: close round `round`, admit its bids, and award the best or re-announce. */
export const CloseAuctionEventSchema = z
  .object({
    step: z.literal('close-auction'),
    ...fencedTask,
    /** The team of the state machine (definition substitution): the control function's store is scoped to it. */
    team: teamName,
    round: z.number().int().positive(),
    windowSeconds: z.number().int().positive(),
    maxRounds: z.number().int().positive(),
    ...biddersOfTeam,
  })
  .strict();
export type CloseAuctionEvent = z.infer<typeof CloseAuctionEventSchema>;

/** What closing a round decided. `REANNOUNCE` carries the next round; `AWARDED` the award. */
export const CloseAuctionResultSchema = z
  .object({
    outcome: z.enum(['AWARDED', 'REANNOUNCE']),
    round: z.number().int().positive(),
    award: AwardSchema.nullable(),
    next: z.object({ round: z.number().int().positive(), windowSeconds: z.number().int().positive() }).nullable(),
    bids: z.object({
      /** Deliveries that reached the collector for this round, stored or refused. */
      received: z.number().int().nonnegative(),
      admitted: z.number().int().nonnegative(),
      /** Every rejection: the collector's (duplicate, unknown bidder, after the close) and the close's. */
      rejected: RejectionCountsSchema,
      /** The rejections decided at the close only (late by its timestamp, expired). */
      rejectedAtClose: RejectionCountsSchema,
    }),
    /** Admitted bidders best first, with their scores. */
    ranking: z.array(z.object({ bidder: id, bidId: id, score: z.number() })),
  })
  .strict();
export type CloseAuctionResult = z.infer<typeof CloseAuctionResultSchema>;

/** settle-award: the awarded bidder finished (COMPLETED) or failed (FAILED: award the runner-up). */
export const SettleAwardEventSchema = z
  .object({
    step: z.literal('settle-award'),
    ...fencedTask,
    /** The team of the state machine (definition substitution): the control function's store is scoped to it. */
    team: teamName,
    attempt: z.number().int().positive(),
    outcome: z.enum(['COMPLETED', 'FAILED']),
    /** Why it failed: Step Functions' `{ Error, Cause }`, or the verifier's problems. */
    reason: z.string().max(4000).default(''),
    maxAwards: z.number().int().positive(),
    ...biddersOfTeam,
  })
  .strict();
export type SettleAwardEvent = z.infer<typeof SettleAwardEventSchema>;

export const SettleAwardResultSchema = z
  .object({
    outcome: z.enum(['COMPLETED', 'AWARDED']),
    /** The runner-up now awarded (AWARDED), null when COMPLETED. */
    award: AwardSchema.nullable(),
    /** Bidders whose award failed so far, in order. */
    failed: z.array(id),
  })
  .strict();
export type SettleAwardResult = z.infer<typeof SettleAwardResultSchema>;

/** The awarded bidder's step: run the task. */
export const ExecuteEventSchema = z.object({
  step: z.literal('execute'),
  ...fencedTask,
  stepId: z.string().min(1),
  task: z.string().min(1),
  requiredCapabilities: z.array(z.string()),
  award: AwardSchema,
});
export type ExecuteEvent = z.infer<typeof ExecuteEventSchema>;

export const ExecuteResultSchema = z
  .object({
    bidder: id,
    attempt: z.number().int().positive(),
    output: z.string().min(1),
    usage: TokenUsageSchema.optional(),
  })
  .strict();
export type ExecuteResult = z.infer<typeof ExecuteResultSchema>;

/** The verifier's check of the awarded bidder's result (deterministic, no model call). */
export const VerifyAwardEventSchema = z.object({
  step: z.literal('verify-award'),
  ...fencedTask,
  stepId: z.string().min(1),
  task: z.string().min(1),
  requiredCapabilities: z.array(z.string()),
  award: AwardSchema,
  result: ExecuteResultSchema,
});
export type VerifyAwardEvent = z.infer<typeof VerifyAwardEventSchema>;

export const VerifyAwardResultSchema = z
  .object({
    verdict: z.enum(['accepted', 'rejected']),
    problems: z.array(z.string()),
    /** Always absent: the check makes no model call (the field is every step result's). */
    usage: TokenUsageSchema.optional(),
  })
  .strict();
export type VerifyAwardResult = z.infer<typeof VerifyAwardResultSchema>;

/** What a successful auction run returns. */
export interface AuctionOutput {
  answer: string;
  awardedTo: string;
  attempt: number;
  round: number;
  failedBidders: string[];
}
