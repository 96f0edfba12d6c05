/**
 * Over 500 lines on purpose: every auction item and its conditional writes in one place, so that
 * the idempotency of each state machine step can be checked against the item table below.
 *
 * Where the `auction` pattern keeps its state: in the checkpoint table, beside the task's
 * checkpoints (partition `TEAM#<team>#TASK#<taskId>`; the auction id is the task id). Every write is
 * conditional, so each operation is idempotent: a retried or resumed state machine step gets the
 * decision already stored instead of making a second one, and a bid delivered twice is stored once.
 *
 * | item                       | what                                                            |
 * | -------------------------- | --------------------------------------------------------------- |
 * | `AUCTION#<round>`          | the announcement, the bidders, OPEN/CLOSED, the collector's rejections, the close decision |
 * | `BID#<round>#<bidId>`      | one bid, as first delivered, with the time it arrived           |
 * | `AWARD#<attempt>`          | who was awarded the task, and whether it COMPLETED or FAILED    |
 * | `TEAM#<team>#BIDDER#<id>` `LEASE#<task>#<attempt>` | an award's lease on its bidder's capacity, until settled or AWARD_LEASE_SECONDS |
 *
 * The award is written in the same transaction that closes the round, so it is recorded before the
 * winner runs; settling it (COMPLETED or FAILED, the runner-up awarded) is one transaction too.
 *
 * @example
 * ```ts
 * const store = new AuctionStore({ client, tableName, team: 'dispatch' });
 * const announcement = await store.openRound({ taskId, team, round: 1, windowSeconds: 30, task, requiredCapabilities, bidders });
 * await store.recordBid(bid); // { status: 'STORED' }, or { status: 'REJECTED', reason: 'duplicate' }
 * const decision = await store.closeRound({ taskId, round: 1, windowSeconds: 30, maxRounds: 3, bidders, functionArnOf });
 * ```
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryItems } from '../../core/query-items.ts';
import { REJECTION_REASONS, type RejectionReason, admitBids, chooseWinner, nextWindowSeconds } from './auction-rules.ts';
import { CHECKPOINT_TABLE, taskItemKey, taskPartition, teamPartitionPrefix } from '../../core/contract.ts';
import type { Announcement, Award, Bid, CloseAuctionResult, SettleAwardResult } from './contract.ts';
import { AwardsExhaustedError, NoValidBidsError } from '../../core/errors.ts';

export interface AuctionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The team whose tasks the store reaches: every key carries it (team isolation). */
  team: string;
  /** @default CHECKPOINT_TABLE.retentionDays */
  retentionDays?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface OpenRoundInput {
  taskId: string;
  team: string;
  round: number;
  windowSeconds: number;
  task: string;
  requiredCapabilities: readonly string[];
  bidders: readonly string[];
}

/** The team's bidders and their functions, to turn a winning bid into an award. */
export interface BidderDirectory {
  bidders: readonly string[];
  bidderFunctionArns: readonly string[];
}

export interface CloseRoundInput extends BidderDirectory {
  taskId: string;
  round: number;
  windowSeconds: number;
  maxRounds: number;
}

export interface SettleAwardInput extends BidderDirectory {
  taskId: string;
  attempt: number;
  outcome: 'COMPLETED' | 'FAILED';
  reason: string;
  maxAwards: number;
}

export interface OpenedRound {
  announcement: Announcement;
  status: OpenedStatus;
}

/**
 * What OpenRound tells the state machine: OPEN, announce the round (new, or never seen to reach a
 * bidder); ANNOUNCED, its announcement went out before, so wait for the rest of its window and
 * close it; CLOSED, replay its close.
 */
export type OpenedStatus = RoundStatus | 'ANNOUNCED';

export type RecordBidResult = { status: 'STORED' } | { status: 'REJECTED'; reason: RejectionReason };

export type RoundStatus = 'OPEN' | 'CLOSED';
export type AwardStatus = 'AWARDED' | 'COMPLETED' | 'FAILED';

/** One round of an auction as stored, for `RunResult.auction` and the CLI. */
export interface RoundSummary {
  round: number;
  windowSeconds: number;
  replyBy: string;
  status: RoundStatus;
  /** AWARDED, REANNOUNCE or NO_VALID_BIDS once closed. */
  outcome?: string;
  /** Deliveries that reached the collector (stored or not). */
  received: number;
  admitted: number;
  rejected: Record<RejectionReason, number>;
}

export interface AwardSummary {
  attempt: number;
  round: number;
  bidder: string;
  status: AwardStatus;
  reason?: string;
}

export interface AuctionSummary {
  rounds: RoundSummary[];
  awards: AwardSummary[];
}

type StoredDecision = CloseAuctionResult | { outcome: 'NO_VALID_BIDS'; round: number; rejected: Record<string, number> };

interface RoundItem {
  team: string;
  announcement: Announcement;
  bidders: string[];
  windowSeconds: number;
  status: RoundStatus;
  collectorRejected: Record<RejectionReason, number>;
  stored: number;
  decision?: StoredDecision;
  /** Rejections decided at the close (admitBids), apart from the collector's. */
  closeRejected?: Record<RejectionReason, number>;
}

interface AwardItem {
  award: Award;
  status: AwardStatus;
  reason?: string;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const roundKey = (round: number): string => `AUCTION#${pad(round)}`;
const bidKey = (round: number, bidId: string): string => `BID#${pad(round)}#${bidId}`;
const awardKey = (attempt: number): string => `AWARD#${pad(attempt)}`;
const zeroCounts = (): Record<RejectionReason, number> => Object.fromEntries(REJECTION_REASONS.map((reason) => [reason, 0])) as Record<RejectionReason, number>;

export class AuctionStore {
  private readonly options: AuctionStoreOptions;
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  public constructor(options: AuctionStoreOptions) {
    this.options = options;
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? CHECKPOINT_TABLE.retentionDays) * 86_400;
    this.now = options.now ?? Date.now;
  }

  /** The same store for another team's tasks (control functions scope themselves per call). */
  public forTeam(team: string): AuctionStore {
    return team === this.options.team ? this : new AuctionStore({ ...this.options, team });
  }

  /**
   * Opens a round and returns its announcement and status; for a round opened before (a retried,
   * resumed or rolled-back step), what {@link AuctionStore.reopen} decides.
   */
  public async openRound(input: OpenRoundInput): Promise<OpenedRound> {
    const announcedAt = new Date(this.now());
    const announcement: Announcement = {
      taskId: input.taskId,
      auctionId: input.taskId,
      round: input.round,
      description: input.task,
      requiredCapabilities: [...input.requiredCapabilities],
      announcedAt: announcedAt.toISOString(),
      replyBy: new Date(announcedAt.getTime() + input.windowSeconds * 1000).toISOString(),
    };
    const item: RoundItem = { team: input.team, announcement, bidders: [...input.bidders], windowSeconds: input.windowSeconds, status: 'OPEN', collectorRejected: zeroCounts(), stored: 0 };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: this.tableName, Item: { ...this.key(input.taskId, roundKey(input.round)), ...item, expiresAt: this.expiresAt() }, ConditionExpression: 'attribute_not_exists(#sk)', ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey } } }],
        }),
      );
      return { announcement, status: 'OPEN' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return this.reopen(input.taskId, await this.requireRound(input.taskId, input.round));
    }
  }

  /**
   * A round opened before. CLOSED: its close is replayed. OPEN with a delivery received: its
   * announcement went out, so it is not announced again (ANNOUNCED: the state machine waits for
   * the rest of its window, maybe none, and closes it on the bids submitted in time). OPEN with
   * nothing received: the announcement may never have gone out (a crash before Announce); within
   * its window it is announced again as it is (bids delivered twice are duplicates), past it the
   * round first gets a fresh window from now, since every bid on the old deadline would be late.
   */
  private async reopen(taskId: string, round: RoundItem): Promise<OpenedRound> {
    if (round.status === 'CLOSED') return { announcement: round.announcement, status: 'CLOSED' };
    if (round.stored + sum(round.collectorRejected) > 0) return { announcement: round.announcement, status: 'ANNOUNCED' };
    if (Date.parse(round.announcement.replyBy) > this.now()) return { announcement: round.announcement, status: 'OPEN' };
    const announcedAt = new Date(this.now());
    const announcement: Announcement = { ...round.announcement, announcedAt: announcedAt.toISOString(), replyBy: new Date(announcedAt.getTime() + round.windowSeconds * 1000).toISOString() };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId, roundKey(announcement.round)),
          UpdateExpression: 'SET #announcement = :announcement',
          // Unless a bid, a close or another resume came first: then decide on what it left.
          ConditionExpression: '#status = :open AND #stored = :none AND #announcement.#replyBy = :replyBy',
          ExpressionAttributeNames: { '#announcement': 'announcement', '#replyBy': 'replyBy', '#status': 'status', '#stored': 'stored' },
          ExpressionAttributeValues: { ':announcement': announcement, ':open': 'OPEN', ':none': 0, ':replyBy': round.announcement.replyBy },
        }),
      );
      return { announcement, status: 'OPEN' };
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
      return this.reopen(taskId, await this.requireRound(taskId, announcement.round));
    }
  }

  /**
   * Stores a bid delivered by the bus, once. Refused (and counted on its round) when its round does
   * not exist (`wrong-auction`, not counted: there is nothing to count on), is closed (`late`: it
   * arrived after the auction closed), names an unknown bidder, or was stored before (`duplicate`:
   * EventBridge delivers at least once).
   */
  public async recordBid(bid: Bid): Promise<RecordBidResult> {
    const round = await this.getRound(bid.auctionId, bid.round);
    if (!round) return { status: 'REJECTED', reason: 'wrong-auction' };
    const refuse = async (reason: RejectionReason): Promise<RecordBidResult> => {
      await this.countRejection(bid.auctionId, bid.round, reason);
      return { status: 'REJECTED', reason };
    };
    if (!round.bidders.includes(bid.bidder)) return refuse('unknown-bidder');
    const roundItemKey = this.key(bid.auctionId, roundKey(bid.round));
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: roundItemKey,
                UpdateExpression: 'ADD #stored :one',
                ConditionExpression: '#status = :open',
                ExpressionAttributeNames: { '#stored': 'stored', '#status': 'status' },
                ExpressionAttributeValues: { ':one': 1, ':open': 'OPEN' },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...this.key(bid.auctionId, bidKey(bid.round, bid.bidId)), bid, receivedAt: new Date(this.now()).toISOString(), expiresAt: this.expiresAt() },
                ConditionExpression: 'attribute_not_exists(#sk)',
                ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
              },
            },
          ],
        }),
      );
      return { status: 'STORED' };
    } catch (error) {
      const failed = conditionFailures(error);
      if (failed === undefined) throw error;
      // The bid's own condition first: a second delivery after the close is still a duplicate.
      return refuse(failed[1] ? 'duplicate' : 'late');
    }
  }

  /**
   * Closes a round: admits its bids (auction-rules `admitBids`, at the time of closing), ranks them
   * (`chooseWinner`) and, in the same transaction, records the award to the winner. Without a valid
   * bid it decides a re-announcement with a wider window, or, past `maxRounds`, throws
   * NoValidBidsError. Closing a closed round returns (or throws) what was decided then.
   *
   * @throws {NoValidBidsError} when the last round allowed closed without a valid bid
   */
  public async closeRound(input: CloseRoundInput): Promise<CloseAuctionResult> {
    for (let attempt = 1; ; attempt += 1) {
      const round = await this.requireRound(input.taskId, input.round);
      if (round.status === 'CLOSED' && round.decision) return this.replay(input.taskId, round.decision);
      const closed = await this.tryClose(input, round);
      // A bid was stored between reading the bids and closing, or another close won: read again.
      if (closed !== 'RETRY') return closed;
      if (attempt >= MAX_CLOSE_ATTEMPTS) throw new RangeError(`round ${String(input.round)} of task ${input.taskId} kept receiving bids while closing (${String(attempt)} attempts)`);
    }
  }

  /** One attempt to close a round on the bids read now; RETRY when the round changed meanwhile. */
  private async tryClose(input: CloseRoundInput, round: RoundItem): Promise<CloseAuctionResult | 'RETRY'> {
    const bids = await this.bidsOf(input.taskId, input.round);
    const admission = admitBids(round.announcement, bids, { knownBidders: round.bidders, now: new Date(this.now()) });
    const ranking = chooseWinner(admission.admitted);
    const rejected = zeroCounts();
    for (const reason of REJECTION_REASONS) rejected[reason] = round.collectorRejected[reason] + admission.counts[reason];
    const summary = {
      round: input.round,
      bids: { received: bids.length + sum(round.collectorRejected), admitted: admission.admitted.length, rejected, rejectedAtClose: admission.counts },
      ranking: ranking.ranking.map(({ bid, score }) => ({ bidder: bid.bidder, bidId: bid.bidId, score })),
    };
    const close = (decision: StoredDecision, extra: TransactItem[] = []): Promise<'CLOSED' | 'RETRY'> =>
      this.closeWith(input, bids.length, decision, admission.counts, extra);

    if (ranking.winner) {
      const award = this.awardOf(ranking.winner, ranking.ranking[0]?.score ?? 0, 1, input);
      const decision: CloseAuctionResult = { outcome: 'AWARDED', award, next: null, ...summary };
      return (await close(decision, [this.putAward(input.taskId, award), this.takeLease(input.taskId, award)])) === 'CLOSED' ? decision : 'RETRY';
    }
    const nextWindow = nextWindowSeconds(input.windowSeconds, input.round, { maxRounds: input.maxRounds });
    if (nextWindow === undefined) {
      if ((await close({ outcome: 'NO_VALID_BIDS', round: input.round, rejected })) === 'RETRY') return 'RETRY';
      throw new NoValidBidsError(input.taskId, input.round, await this.rejectedAcrossRounds(input.taskId));
    }
    const decision: CloseAuctionResult = { outcome: 'REANNOUNCE', award: null, next: { round: input.round + 1, windowSeconds: nextWindow }, ...summary };
    return (await close(decision)) === 'CLOSED' ? decision : 'RETRY';
  }

  /**
   * Settles award `attempt`: COMPLETED frees the bidder's capacity; FAILED frees it too and awards
   * the next bidder of the round's ranking that has not failed, in one transaction. Settling a
   * settled award returns what was decided then.
   *
   * @throws {AwardsExhaustedError} when no runner-up is left, or `maxAwards` awards were made
   */
  public async settleAward(input: SettleAwardInput): Promise<SettleAwardResult> {
    // One read of every award answers all: this one, the failed ones, and a runner-up awarded before.
    const awards = (await this.query(input.taskId, 'AWARD#')) as unknown as AwardItem[];
    const byAttempt = (attempt: number): AwardItem | undefined => awards.find((item) => item.award.attempt === attempt);
    const current = byAttempt(input.attempt);
    if (!current) throw new RangeError(`task ${input.taskId} has no award ${String(input.attempt)}`);
    const failed = awards.filter((item) => item.status === 'FAILED').map((item) => item.award.bidder);
    if (current.status !== 'AWARDED') return replaySettlement(input, current, failed, byAttempt(input.attempt + 1));

    const round = await this.requireRound(input.taskId, current.award.round);
    const settle = this.settleItem(input, current.award);
    const release = this.releaseLease(input.taskId, current.award);
    if (input.outcome === 'COMPLETED') {
      await this.transactIdempotent([settle, release]);
      return { outcome: 'COMPLETED', award: null, failed };
    }
    const allFailed = [...failed, current.award.bidder];
    const next = input.attempt < input.maxAwards ? runnerUp(input, round, allFailed) : undefined;
    if (!next) {
      await this.transactIdempotent([settle, release]);
      throw new AwardsExhaustedError(input.taskId, allFailed);
    }
    await this.transactIdempotent([settle, release, this.putAward(input.taskId, next), this.takeLease(input.taskId, next)]);
    return { outcome: 'AWARDED', award: next, failed: allFailed };
  }

  /** Awarded tasks `bidder` of `team` holds now (its used capacity): its unexpired leases. */
  public async bidderLoad(team: string, bidder: string): Promise<number> {
    const now = Math.floor(this.now() / 1000);
    const leases = await this.queryPartition(bidderPartition(team, bidder), LEASE_PREFIX);
    return leases.filter((lease) => Number(lease[CHECKPOINT_TABLE.ttlAttribute]) > now).length;
  }

  /** Every round and award of a task's auction, oldest first (empty for a task without one). */
  public async summary(taskId: string): Promise<AuctionSummary> {
    const rounds = await this.query(taskId, 'AUCTION#');
    const awards = await this.query(taskId, 'AWARD#');
    return {
      rounds: rounds.map((item) => roundSummary(item as unknown as RoundItem)),
      awards: awards.map((item) => {
        const { award, status, reason } = item as unknown as AwardItem;
        return { attempt: award.attempt, round: award.round, bidder: award.bidder, status, ...(reason ? { reason } : {}) };
      }),
    };
  }

  private async replay(taskId: string, decision: StoredDecision): Promise<CloseAuctionResult> {
    if (decision.outcome === 'NO_VALID_BIDS') throw new NoValidBidsError(taskId, decision.round, await this.rejectedAcrossRounds(taskId));
    return decision;
  }

  private awardOf(bid: Bid, score: number, attempt: number, directory: BidderDirectory): Award {
    return { attempt, round: bid.round, bidder: bid.bidder, bidId: bid.bidId, score, functionArn: functionArnOf(directory, bid.bidder) };
  }

  /**
   * Closes the round if it is still OPEN with exactly `bidsRead` bids stored (the collector counts
   * each stored bid in the same transaction), so that no bid stored after the read is left out.
   * RETRY when a bid came in meanwhile, or another close won the race (the caller reads the round
   * again, and replays that close's decision).
   */
  private async closeWith(input: CloseRoundInput, bidsRead: number, decision: StoredDecision, closeRejected: Record<RejectionReason, number>, extra: TransactItem[]): Promise<'CLOSED' | 'RETRY'> {
    const close: TransactItem = {
      Update: {
        TableName: this.tableName,
        Key: this.key(input.taskId, roundKey(input.round)),
        UpdateExpression: 'SET #status = :closed, #decision = :decision, #closeRejected = :closeRejected',
        ConditionExpression: '#status = :open AND #stored = :stored',
        ExpressionAttributeNames: { '#status': 'status', '#decision': 'decision', '#closeRejected': 'closeRejected', '#stored': 'stored' },
        ExpressionAttributeValues: { ':closed': 'CLOSED', ':open': 'OPEN', ':decision': decision, ':closeRejected': closeRejected, ':stored': bidsRead },
      },
    };
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: [close, ...extra] }));
      return 'CLOSED';
    } catch (error) {
      if (conditionFailures(error)?.[0] !== true) throw error;
      return 'RETRY';
    }
  }

  /** Runs a transaction whose first item is the state change; if that one was made before, it is a replay and nothing happens. */
  private async transactIdempotent(items: TransactItem[]): Promise<void> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      const failed = conditionFailures(error);
      if (failed?.[0] !== true) throw error;
    }
  }

  private settleItem(input: SettleAwardInput, award: Award): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: this.key(input.taskId, awardKey(award.attempt)),
        UpdateExpression: 'SET #status = :status, #reason = :reason, #settledAt = :at',
        ConditionExpression: '#status = :awarded',
        ExpressionAttributeNames: { '#status': 'status', '#reason': 'reason', '#settledAt': 'settledAt' },
        ExpressionAttributeValues: { ':status': input.outcome, ':reason': input.reason.slice(0, 1000), ':awarded': 'AWARDED', ':at': new Date(this.now()).toISOString() },
      },
    };
  }

  private putAward(taskId: string, award: Award): TransactItem {
    const item: AwardItem & { awardedAt: string } = { award, status: 'AWARDED', awardedAt: new Date(this.now()).toISOString() };
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...this.key(taskId, awardKey(award.attempt)), ...item, expiresAt: this.expiresAt() },
        ConditionExpression: 'attribute_not_exists(#sk)',
        ExpressionAttributeNames: { '#sk': CHECKPOINT_TABLE.sortKey },
      },
    };
  }

  /**
   * An award takes a lease on its bidder's capacity until it is settled, or for at most
   * AWARD_LEASE_SECONDS: a run that crashed and is never resumed frees the bidder by itself.
   */
  private takeLease(taskId: string, award: Award): TransactItem {
    const expiresAt = Math.floor(this.now() / 1000) + AWARD_LEASE_SECONDS;
    return { Put: { TableName: this.tableName, Item: { ...leaseKey(this.options.team, taskId, award), expiresAt } } };
  }

  private releaseLease(taskId: string, award: Award): TransactItem {
    return { Delete: { TableName: this.tableName, Key: leaseKey(this.options.team, taskId, award) } };
  }

  private async countRejection(taskId: string, round: number, reason: RejectionReason): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(taskId, roundKey(round)),
        UpdateExpression: 'ADD #rejected.#reason :one',
        ExpressionAttributeNames: { '#rejected': 'collectorRejected', '#reason': reason },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  private async rejectedAcrossRounds(taskId: string): Promise<Record<string, number>> {
    const totals: Record<string, number> = zeroCounts();
    for (const round of (await this.summary(taskId)).rounds) {
      for (const reason of REJECTION_REASONS) totals[reason] = (totals[reason] ?? 0) + round.rejected[reason];
    }
    return totals;
  }

  private async bidsOf(taskId: string, round: number): Promise<Bid[]> {
    const items = await this.query(taskId, `BID#${pad(round)}#`);
    return items
      .map((item) => ({ bid: item.bid as Bid, receivedAt: String(item.receivedAt) }))
      .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.bid.bidId.localeCompare(b.bid.bidId))
      .map(({ bid }) => bid);
  }

  private async getRound(taskId: string, round: number): Promise<RoundItem | undefined> {
    return (await this.get(taskId, roundKey(round))) as RoundItem | undefined;
  }

  private async requireRound(taskId: string, round: number): Promise<RoundItem> {
    const item = await this.getRound(taskId, round);
    if (!item) throw new RangeError(`task ${taskId} has no auction round ${String(round)}`);
    return item;
  }

  private async get(taskId: string, sortKey: string): Promise<Record<string, unknown> | undefined> {
    const stored = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.key(taskId, sortKey), ConsistentRead: true }));
    return stored.Item;
  }

  private query(taskId: string, prefix: string): Promise<Record<string, unknown>[]> {
    return this.queryPartition(taskPartition(this.options.team, taskId), prefix);
  }

  private queryPartition(partition: string, prefix: string): Promise<Record<string, unknown>[]> {
    return queryItems(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey, '#sk': CHECKPOINT_TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': partition, ':prefix': prefix },
      ConsistentRead: true,
    });
  }

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }

  private key(taskId: string, sortKey: string): Record<string, string> {
    return taskItemKey(this.options.team, taskId, sortKey);
  }
}

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** Attempts to close a round while bids keep arriving, before giving up (each attempt re-reads them). */
const MAX_CLOSE_ATTEMPTS = 5;

/** How long an award holds its bidder's capacity at most, if it is never settled. */
export const AWARD_LEASE_SECONDS = 900;

const LEASE_PREFIX = 'LEASE#';
const bidderPartition = (team: string, bidder: string): string => `${teamPartitionPrefix(team)}BIDDER#${bidder}`;

function leaseKey(team: string, taskId: string, award: Award): Record<string, string> {
  return { [CHECKPOINT_TABLE.partitionKey]: bidderPartition(team, award.bidder), [CHECKPOINT_TABLE.sortKey]: `${LEASE_PREFIX}${taskId}#${pad(award.attempt)}` };
}

/** What settling an award that was settled before decided then. */
function replaySettlement(input: SettleAwardInput, current: AwardItem, failed: string[], next: AwardItem | undefined): SettleAwardResult {
  if (current.status === 'COMPLETED') return { outcome: 'COMPLETED', award: null, failed };
  if (!next) throw new AwardsExhaustedError(input.taskId, failed);
  return { outcome: 'AWARDED', award: next.award, failed: failed.filter((bidder) => bidder !== next.award.bidder || next.status === 'FAILED') };
}

/** The next bidder of the round's ranking that has not failed, awarded the next attempt. */
function runnerUp(input: SettleAwardInput, round: RoundItem, failed: readonly string[]): Award | undefined {
  const ranking = round.decision?.outcome === 'AWARDED' ? round.decision.ranking : [];
  const next = ranking.find((entry) => !failed.includes(entry.bidder));
  if (!next) return undefined;
  return { attempt: input.attempt + 1, round: round.announcement.round, bidder: next.bidder, bidId: next.bidId, score: next.score, functionArn: functionArnOf(input, next.bidder) };
}

function functionArnOf(directory: BidderDirectory, bidder: string): string {
  const arn = directory.bidderFunctionArns[directory.bidders.indexOf(bidder)];
  if (arn === undefined) throw new RangeError(`bidder ${bidder} is not one of the team's bidders`);
  return arn;
}

function roundSummary(item: RoundItem): RoundSummary {
  const { decision, collectorRejected: collector, closeRejected = zeroCounts() } = item;
  return {
    round: item.announcement.round,
    windowSeconds: item.windowSeconds,
    replyBy: item.announcement.replyBy,
    status: item.status,
    ...(decision ? { outcome: decision.outcome } : {}),
    received: item.stored + sum(collector),
    admitted: decision && decision.outcome !== 'NO_VALID_BIDS' ? decision.bids.admitted : 0,
    // The collector's counts as they are now: bids that arrived after the close are counted too.
    rejected: Object.fromEntries(REJECTION_REASONS.map((reason) => [reason, collector[reason] + closeRejected[reason]])) as Record<RejectionReason, number>,
  };
}

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}

function isConditionFailure(error: unknown): boolean {
  return conditionFailures(error) !== undefined;
}

/** Which items of a cancelled transaction failed their condition; undefined for any other error. */
function conditionFailures(error: unknown): boolean[] | undefined {
  if (!(error instanceof TransactionCanceledException) && (error as { name?: unknown } | null)?.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  if (!reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return undefined;
  return reasons.map((reason) => reason.Code === 'ConditionalCheckFailed');
}
