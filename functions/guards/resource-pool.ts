/**
 * Over 500 lines on purpose: the leases, the wait-for edges and the acquisition loop that reads both
 * share one item layout and one set of conditional writes, and change together; the graph
 * functions (findCycle, chooseVictim) are pure and tested on their own.
 *
 * Shared resources (a database, a signing key...) that agents lock while they use them, kept in the
 * checkpoint table (partition `TEAM#<pool>#POOL`, e.g. one pool per team, so the tasks of a team share
 * them). Deadlocks are prevented, detected and resolved:
 * - a lock is a lease that expires (`leaseSeconds`): a holder that crashed never blocks for longer,
 *   the next holder takes the expired lease over (a forced release);
 * - a holder that has to wait records a wait-for edge (`WAIT#<waiterId>`); a cycle in the wait-for
 *   graph is a deadlock, which its YOUNGEST holder (latest `startedAt`) breaks by releasing all its
 *   leases and starting over, while the older ones keep waiting (see chooseVictim);
 * - a wait longer than `waitTimeoutMs` gives up: the waiter releases everything and fails with
 *   DeadlockTimeoutError.
 *
 * @example
 * ```ts
 * const pool = new ResourcePool({ client, tableName, pool: 'telecom-support' });
 * const holder = { id: 't-1/billing/s1', taskId: 't-1', startedAt: Date.now() };
 * const { detections } = await acquireAll(pool, holder, ['database', 'verification-key']);
 * try { await work(); } finally { await pool.releaseAll(holder.id, ['database', 'verification-key']); }
 * ```
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryItems } from '../core/query-items.ts';
import { CHECKPOINT_TABLE, poolPartition } from '../core/contract.ts';
import { DeadlockTimeoutError } from '../core/errors.ts';

export const LEASE_SK_PREFIX = 'LEASE#';
export const WAIT_SK_PREFIX = 'WAIT#';

/** Who takes a lease: one agent step. */
export interface PoolHolder {
  /** Unique per agent step, e.g. `${taskId}/${agentId}/${stepId}`; the same id re-acquires its own leases. */
  id: string;
  taskId: string;
  /** When the holder's step began (ms since the epoch): the latest is the youngest, the victim of a cycle. */
  startedAt: number;
}

/** A resource leased to a holder, until `leaseExpiresAt` unless renewed. */
export interface Lease {
  resource: string;
  holderId: string;
  taskId: string;
  holderStartedAt: number;
  /** When the lease was taken or last renewed (ms). */
  acquiredAt: number;
  /** After this (ms), anyone may take the lease over. */
  leaseExpiresAt: number;
}

/** A wait-for edge: `waiterId` waits for `resource`, held by `holderId` when it last looked. */
export interface WaitEdge {
  waiterId: string;
  waiterStartedAt: number;
  taskId: string;
  resource: string;
  holderId: string;
  /** When this wait began (ms). */
  since: number;
  /** The waiter refreshes the edge each time it polls; after this (ms) it is a crashed waiter's and ignored. */
  waitExpiresAt: number;
}

export interface WaitForGraph {
  leases: Lease[];
  waits: WaitEdge[];
}

export type TryAcquireResult =
  /** `forcedFrom`: the holder of the expired lease that was taken over. */
  | { acquired: true; lease: Lease; forcedFrom?: string }
  /** `heldBy` is undefined only when the lease changed hands twice while it was read: try again. */
  | { acquired: false; heldBy: Lease | undefined };

export interface ResourcePoolOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The partition the resources are shared in (e.g. the team's name). */
  pool: string;
  /** How long a lease lasts without being renewed (by acquiring it again). @default 60 */
  leaseSeconds?: number;
  /** How long DynamoDB keeps an item before its TTL may delete it. @default 86_400 (1 day) */
  retentionSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

/** What acquireAll needs of a pool; a stand-in for tests only needs these. */
export type LeasingPool = Pick<ResourcePool, 'now' | 'tryAcquire' | 'release' | 'releaseAll' | 'recordWait' | 'clearWait' | 'waitForGraph'>;

const isConditionFailure = (error: unknown): boolean => (error as { name?: unknown }).name === 'ConditionalCheckFailedException';

export class ResourcePool {
  public readonly now: () => number;
  private readonly leaseMs: number;
  private readonly retentionSeconds: number;

  public constructor(private readonly options: ResourcePoolOptions) {
    this.now = options.now ?? Date.now;
    this.leaseMs = (options.leaseSeconds ?? 60) * 1000;
    this.retentionSeconds = options.retentionSeconds ?? 86_400;
  }

  /**
   * Takes the lease of `resource` in one conditional write: when it is free, already this holder's
   * (re-entrant: a retried Lambda gets its lease back, renewed), or expired (a forced release of a
   * holder that stopped renewing: `forcedFrom` names it). Otherwise reports who holds it.
   *
   * @example
   * ```ts
   * const attempt = await pool.tryAcquire('database', holder);
   * if (!attempt.acquired) console.log(`held by ${attempt.heldBy?.holderId ?? 'someone'}`);
   * ```
   */
  public async tryAcquire(resource: string, holder: PoolHolder): Promise<TryAcquireResult> {
    const first = await this.acquireOnce(resource, holder);
    // Released between the write and the read: once more, as it is most likely free now.
    return first.acquired || first.heldBy !== undefined ? first : this.acquireOnce(resource, holder);
  }

  /**
   * Releases `holderId`'s lease of `resource`; a lease held by another (or none) is left alone.
   * Returns whether a lease was released.
   *
   * @example
   * ```ts
   * await pool.release('database', holder.id);
   * ```
   */
  public async release(resource: string, holderId: string): Promise<boolean> {
    try {
      await this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: this.key(LEASE_SK_PREFIX, resource),
          ConditionExpression: '#holderId = :holderId',
          ExpressionAttributeNames: { '#holderId': 'holderId' },
          ExpressionAttributeValues: { ':holderId': holderId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Releases every lease of `resources` that `holderId` holds; returns the resources released.
   *
   * @example
   * ```ts
   * await pool.releaseAll(holder.id, ['database', 'verification-key']);
   * ```
   */
  public async releaseAll(holderId: string, resources: readonly string[]): Promise<string[]> {
    const released = await Promise.all(resources.map((resource) => this.release(resource, holderId)));
    return resources.filter((_resource, index) => released[index]);
  }

  /**
   * Records (or refreshes) that `waiter` waits for `resource`, held by `heldBy`. `since` stays the
   * time this wait began until clearWait.
   *
   * @example
   * ```ts
   * await pool.recordWait(holder, 'database', attempt.heldBy.holderId);
   * ```
   */
  public async recordWait(waiter: PoolHolder, resource: string, heldBy: string): Promise<void> {
    const now = this.now();
    await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.key(WAIT_SK_PREFIX, waiter.id),
        UpdateExpression:
          'SET #waiterId = :waiterId, #waiterStartedAt = :startedAt, #taskId = :taskId, #resource = :resource, #holderId = :holderId, ' +
          '#since = if_not_exists(#since, :now), #waitExpiresAt = :waitExpiresAt, #ttl = :ttl',
        ExpressionAttributeNames: {
          '#waiterId': 'waiterId',
          '#waiterStartedAt': 'waiterStartedAt',
          '#taskId': 'taskId',
          '#resource': 'resource',
          '#holderId': 'holderId',
          '#since': 'since',
          '#waitExpiresAt': 'waitExpiresAt',
          '#ttl': CHECKPOINT_TABLE.ttlAttribute,
        },
        ExpressionAttributeValues: {
          ':waiterId': waiter.id,
          ':startedAt': waiter.startedAt,
          ':taskId': waiter.taskId,
          ':resource': resource,
          ':holderId': heldBy,
          ':now': now,
          ':waitExpiresAt': now + this.leaseMs,
          ':ttl': this.ttl(),
        },
      }),
    );
  }

  /**
   * Removes `waiterId`'s wait-for edge (it got the resource, or gave up).
   *
   * @example
   * ```ts
   * await pool.clearWait(holder.id);
   * ```
   */
  public async clearWait(waiterId: string): Promise<void> {
    await this.options.client.send(new DeleteCommand({ TableName: this.options.tableName, Key: this.key(WAIT_SK_PREFIX, waiterId) }));
  }

  /**
   * The pool's live leases and wait-for edges, in one (paged) Query of its partition. Expired
   * leases and the edges of waiters that stopped polling are left out: they block nobody.
   *
   * @example
   * ```ts
   * const { leases, waits } = await pool.waitForGraph();
   * const cycle = findCycle(waits, leases, holder.id);
   * ```
   */
  public async waitForGraph(): Promise<WaitForGraph> {
    const now = this.now();
    const items = await this.queryPartition();
    const bySortKey = (prefix: string) => items.filter((item) => String(item[CHECKPOINT_TABLE.sortKey]).startsWith(prefix));
    return {
      leases: (bySortKey(LEASE_SK_PREFIX) as unknown as Lease[]).filter((lease) => lease.leaseExpiresAt > now).map(toLease),
      waits: (bySortKey(WAIT_SK_PREFIX) as unknown as WaitEdge[]).filter((wait) => wait.waitExpiresAt > now).map(toWaitEdge),
    };
  }

  private async acquireOnce(resource: string, holder: PoolHolder): Promise<TryAcquireResult> {
    const lease = this.leaseFor(resource, holder);
    try {
      const answer = await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...this.key(LEASE_SK_PREFIX, resource), ...lease, [CHECKPOINT_TABLE.ttlAttribute]: this.ttl() },
          ConditionExpression: 'attribute_not_exists(#pk) OR #holderId = :holderId OR #leaseExpiresAt <= :now',
          ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey, '#holderId': 'holderId', '#leaseExpiresAt': 'leaseExpiresAt' },
          ExpressionAttributeValues: { ':holderId': holder.id, ':now': lease.acquiredAt },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const previous = answer.Attributes as Lease | undefined;
      return previous && previous.holderId !== holder.id ? { acquired: true, lease, forcedFrom: previous.holderId } : { acquired: true, lease };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return { acquired: false, heldBy: await this.lease(resource) };
  }

  private async lease(resource: string): Promise<Lease | undefined> {
    const stored = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: this.key(LEASE_SK_PREFIX, resource), ConsistentRead: true }),
    );
    return stored.Item ? toLease(stored.Item as Lease) : undefined;
  }

  private queryPartition(): Promise<Record<string, unknown>[]> {
    return queryItems(this.options.client, {
      TableName: this.options.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey },
      ExpressionAttributeValues: { ':pk': this.partition() },
      ConsistentRead: true,
    });
  }

  private leaseFor(resource: string, holder: PoolHolder): Lease {
    const now = this.now();
    return { resource, holderId: holder.id, taskId: holder.taskId, holderStartedAt: holder.startedAt, acquiredAt: now, leaseExpiresAt: now + this.leaseMs };
  }

  private ttl(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }

  private partition(): string {
    return poolPartition(this.options.pool);
  }

  private key(prefix: string, id: string): Record<string, string> {
    return { [CHECKPOINT_TABLE.partitionKey]: this.partition(), [CHECKPOINT_TABLE.sortKey]: `${prefix}${id}` };
  }
}

/** Strips the keys and TTL: callers compare leases, not items. */
function toLease(item: Lease): Lease {
  const { resource, holderId, taskId, holderStartedAt, acquiredAt, leaseExpiresAt } = item;
  return { resource, holderId, taskId, holderStartedAt, acquiredAt, leaseExpiresAt };
}

function toWaitEdge(item: WaitEdge): WaitEdge {
  const { waiterId, waiterStartedAt, taskId, resource, holderId, since, waitExpiresAt } = item;
  return { waiterId, waiterStartedAt, taskId, resource, holderId, since, waitExpiresAt };
}

/**
 * The cycle of the wait-for graph through `startFrom`, as holder ids starting with it; undefined
 * when there is none. An edge goes from a waiter to the CURRENT holder of the resource it waits for
 * (not the holder the edge recorded, which may have released since). A waiter waits for one
 * resource at a time, so a holder is on at most one cycle, and every holder on it finds the same one.
 *
 * @example
 * ```ts
 * findCycle(waits, leases, 'A'); // ['A', 'B'] when A waits for B's resource and B for A's
 * ```
 */
export function findCycle(waits: readonly WaitEdge[], leases: readonly Lease[], startFrom: string): string[] | undefined {
  const holderOf = new Map(leases.map((lease) => [lease.resource, lease.holderId]));
  const waitingFor = new Map(waits.map((wait) => [wait.waiterId, wait.resource]));
  const path = [startFrom];
  for (let node = startFrom; ; ) {
    const resource = waitingFor.get(node);
    const next = resource === undefined ? undefined : holderOf.get(resource);
    if (next === undefined) return undefined;
    if (next === startFrom) return path;
    // A cycle that startFrom only leads into is not its to break.
    if (path.includes(next)) return undefined;
    path.push(next);
    node = next;
  }
}

/**
 * The holder that breaks a cycle: the YOUNGEST one (latest `startedAt`; on a tie, the greater id).
 * It releases everything it holds and starts over; the older ones keep waiting, so the work that
 * has run longest is not the one thrown back, and every holder on the cycle picks the same victim.
 * A holder missing from `holders` counts as the oldest.
 *
 * @example
 * ```ts
 * chooseVictim(['A', 'B'], [{ id: 'A', taskId: 't-1', startedAt: 1 }, { id: 'B', taskId: 't-2', startedAt: 2 }]); // 'B'
 * ```
 */
export function chooseVictim(cycle: readonly string[], holders: readonly PoolHolder[]): string {
  const startedAt = new Map(holders.map((holder) => [holder.id, holder.startedAt]));
  const age = (id: string): number => startedAt.get(id) ?? Number.NEGATIVE_INFINITY;
  const [first, ...others] = cycle;
  if (first === undefined) throw new RangeError('chooseVictim: the cycle is empty');
  return others.reduce((youngest, id) => (age(id) > age(youngest) || (age(id) === age(youngest) && id > youngest) ? id : youngest), first);
}

/**
 * The holders a wait-for graph knows (from their leases and wait edges), for chooseVictim.
 *
 * @example
 * ```ts
 * const graph = await pool.waitForGraph();
 * chooseVictim(cycle, holdersIn(graph));
 * ```
 */
export function holdersIn(graph: WaitForGraph): PoolHolder[] {
  return [
    ...graph.leases.map((lease) => ({ id: lease.holderId, taskId: lease.taskId, startedAt: lease.holderStartedAt })),
    ...graph.waits.map((wait) => ({ id: wait.waiterId, taskId: wait.taskId, startedAt: wait.waiterStartedAt })),
  ];
}

/**
 * What acquireAll detected and did; all are deadlocks in the sense of the detections Legion reports
 * (`type: 'deadlock'`), told apart by `action`. `holderId` is the holder that reports it.
 */
export type DeadlockDetection =
  /** A wait-for cycle; `victim` (the reporting holder) released `resources` and started over. */
  | { type: 'deadlock'; action: 'released-youngest'; holderId: string; cycle: string[]; victim: string; resources: string[]; waitingFor: string }
  /** The lease of `resources[0]` had expired; it was taken from `forcedFrom`, which stopped renewing it. */
  | { type: 'deadlock'; action: 'force-released-expired'; holderId: string; forcedFrom: string; resources: string[] }
  /** The wait for `waitingFor` passed `waitTimeoutMs`; the holder released `resources` and gave up. */
  | { type: 'deadlock'; action: 'timed-out'; holderId: string; waitingFor: string; heldBy: string | undefined; waitedMs: number; resources: string[] };

export interface AcquireAllOptions {
  /** Once the holder has waited this long in all (since it was first refused), it gives up. @default 30_000 */
  waitTimeoutMs?: number;
  /** How often a waiter tries again and looks for a cycle. @default 100 */
  pollMs?: number;
  /** @default a setTimeout promise */
  sleep?: (ms: number) => Promise<void>;
  /** Told of each detection as it happens (e.g. to record it); an error it throws ends the call, leases released. */
  onDetection?: (detection: DeadlockDetection) => void | Promise<void>;
}

export interface AcquireAllResult {
  /** The leases taken, in the order asked. */
  leases: Lease[];
  /** Cycles broken by this holder (it was the youngest) and expired leases it took over. */
  detections: DeadlockDetection[];
  /** How long the holder waited, from its first refusal to its last lease (0 if never refused). */
  waitedMs: number;
}

/** The state of one acquireAll call. */
interface Acquisition {
  pool: LeasingPool;
  holder: PoolHolder;
  resources: readonly string[];
  settings: Required<Omit<AcquireAllOptions, 'onDetection'>> & Pick<AcquireAllOptions, 'onDetection'>;
  detections: DeadlockDetection[];
  firstRefusedAt: number | undefined;
  restarts: number;
}

const sleepFor = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Takes the leases of `resources` in the order given, waiting while another holds one. A waiter
 * records its wait-for edge and looks for a cycle through itself; if there is one and it is the
 * victim (chooseVictim: the youngest), it releases all its leases, backs off (3 × pollMs, more
 * after each restart) so that the older holder takes what was released, and starts over from the
 * first resource. An expired lease is taken over and reported (`force-released-expired`). Two
 * holders taking the same resources in opposite orders thus both finish, one after the other.
 *
 * @throws {DeadlockTimeoutError} when the holder has waited `waitTimeoutMs` in all (its leases are released, its wait edge removed)
 * @example
 * ```ts
 * const { leases, detections } = await acquireAll(pool, holder, ['database', 'verification-key'], { waitTimeoutMs: 10_000 });
 * ```
 */
export async function acquireAll(pool: LeasingPool, holder: PoolHolder, resources: readonly string[], options: AcquireAllOptions = {}): Promise<AcquireAllResult> {
  const run: Acquisition = {
    pool,
    holder,
    resources,
    settings: { waitTimeoutMs: options.waitTimeoutMs ?? 30_000, pollMs: options.pollMs ?? 100, sleep: options.sleep ?? sleepFor, onDetection: options.onDetection },
    detections: [],
    firstRefusedAt: undefined,
    restarts: 0,
  };
  try {
    const leases = await takeInOrder(run);
    return { leases, detections: run.detections, waitedMs: run.firstRefusedAt === undefined ? 0 : pool.now() - run.firstRefusedAt };
  } catch (error) {
    // Whatever failed, no lease or edge of this holder may outlive the call (DeadlockTimeoutError did this already).
    if (!(error instanceof DeadlockTimeoutError)) await letGo(run).catch(() => undefined);
    throw error;
  }
}

async function takeInOrder(run: Acquisition): Promise<Lease[]> {
  let leases: Lease[] = [];
  let waited = false;
  while (leases.length < run.resources.length) {
    const resource = run.resources[leases.length] as string;
    const attempt = await run.pool.tryAcquire(resource, run.holder);
    if (attempt.acquired) {
      if (attempt.forcedFrom !== undefined) await report(run, { type: 'deadlock', action: 'force-released-expired', holderId: run.holder.id, forcedFrom: attempt.forcedFrom, resources: [resource] });
      if (waited) await run.pool.clearWait(run.holder.id);
      waited = false;
      leases.push(attempt.lease);
      continue;
    }
    waited = true;
    if ((await waitOnce(run, resource, attempt.heldBy)) === 'restart') {
      leases = [];
      waited = false;
    }
  }
  return leases;
}

/** One poll of a refused holder: give up, break a cycle it is the victim of, or wait a while. */
async function waitOnce(run: Acquisition, resource: string, heldBy: Lease | undefined): Promise<'poll' | 'restart'> {
  const now = run.pool.now();
  run.firstRefusedAt ??= now;
  if (now - run.firstRefusedAt >= run.settings.waitTimeoutMs) return giveUp(run, resource, heldBy?.holderId, now - run.firstRefusedAt);
  if (heldBy !== undefined) {
    await run.pool.recordWait(run.holder, resource, heldBy.holderId);
    const graph = await run.pool.waitForGraph();
    const cycle = findCycle(graph.waits, graph.leases, run.holder.id);
    if (cycle && chooseVictim(cycle, holdersIn(graph)) === run.holder.id) return yieldTo(run, resource, cycle);
  }
  await run.settings.sleep(run.settings.pollMs);
  return 'poll';
}

async function yieldTo(run: Acquisition, waitingFor: string, cycle: string[]): Promise<'restart'> {
  const released = await letGo(run);
  run.restarts += 1;
  await report(run, { type: 'deadlock', action: 'released-youngest', holderId: run.holder.id, cycle, victim: run.holder.id, resources: released, waitingFor });
  await run.settings.sleep(3 * run.settings.pollMs * run.restarts);
  return 'restart';
}

async function giveUp(run: Acquisition, waitingFor: string, heldBy: string | undefined, waitedMs: number): Promise<never> {
  const released = await letGo(run);
  await report(run, { type: 'deadlock', action: 'timed-out', holderId: run.holder.id, waitingFor, heldBy, waitedMs, resources: released });
  throw new DeadlockTimeoutError(run.holder.id, waitingFor, heldBy, waitedMs);
}

/** Releases every lease of the holder among the resources (a retried Lambda may hold later ones too) and its wait edge. */
async function letGo(run: Acquisition): Promise<string[]> {
  const [released] = await Promise.all([run.pool.releaseAll(run.holder.id, run.resources), run.pool.clearWait(run.holder.id)]);
  return released;
}

async function report(run: Acquisition, detection: DeadlockDetection): Promise<void> {
  run.detections.push(detection);
  await run.settings.onDetection?.(detection);
}
