/**
 * Conformance suite of the resource pool (leases and wait-for edges in the checkpoint table) against
 * DynamoDB Local (the real jar, started once in test/global-setup.ts); no DynamoDB client is mocked.
 * Each test uses its own pool (partition), so tests never see each other's leases.
 *
 * Lease times are tested with a clock moved by hand (the pool's `now`). The deadlock scenarios run
 * on the real clock, concurrently: a barrier makes every holder take its first resource before any
 * asks for its next, so the cycle really forms; each scenario has a vitest timeout, and resolving
 * is what shows it ended.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_TABLE, poolPartition } from '../../functions/core/contract.ts';
import { DeadlockTimeoutError, LegionError } from '../../functions/core/errors.ts';
import {
  acquireAll,
  chooseVictim,
  type DeadlockDetection,
  findCycle,
  type Lease,
  type LeasingPool,
  type PoolHolder,
  ResourcePool,
  type WaitEdge,
} from '../../functions/guards/resource-pool.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

/** A fixed instant in the future: retention times are then never in the past. */
const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const SCENARIO_TIMEOUT_MS = 20_000;

const holderAt = (name: string, startedAt: number): PoolHolder => ({ id: `task-${name}/agent/step-1`, taskId: `task-${name}`, startedAt });
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Every item of a pool's partition, expired or not: what is really left behind. */
async function itemsOf(client: DynamoDBDocumentClient, name: string): Promise<Record<string, unknown>[]> {
  const page = await client.send(
    new QueryCommand({
      TableName: LOCAL_TABLE_NAME,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey },
      ExpressionAttributeValues: { ':pk': poolPartition(name) },
      ConsistentRead: true,
    }),
  );
  return page.Items ?? [];
}

describe('Class: ResourcePool (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  const newPoolName = (): string => `team-${randomUUID()}`;

  /** A pool on its own partition, with a clock the test moves by hand (starting at T0). */
  function fixture(options: { leaseSeconds?: number } = {}) {
    const clock = { ms: T0 };
    const name = newPoolName();
    const pool = new ResourcePool({ client, tableName: LOCAL_TABLE_NAME, pool: name, now: () => clock.ms, ...options });
    return { clock, name, pool, a: holderAt('a', T0 - 2000), b: holderAt('b', T0 - 1000) };
  }

  describe('Method: tryAcquire', () => {
    it('takes a free resource: lease item LEASE#<resource> in partition TEAM#<pool>#POOL, lasting leaseSeconds, kept a day', async () => {
      const { name, pool, a } = fixture({ leaseSeconds: 45 });

      const attempt = await pool.tryAcquire('database', a);

      const expected: Lease = { resource: 'database', holderId: a.id, taskId: a.taskId, holderStartedAt: a.startedAt, acquiredAt: T0, leaseExpiresAt: T0 + 45_000 };
      expect(attempt).toEqual({ acquired: true, lease: expected });
      const stored = await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: poolPartition(name), sk: 'LEASE#database' } }));
      expect(stored.Item).toEqual({ pk: poolPartition(name), sk: 'LEASE#database', ...expected, [CHECKPOINT_TABLE.ttlAttribute]: T0 / 1000 + 86_400 });
    });

    it('gives a holder its own lease again, renewed (a retried Lambda), without reporting a forced release', async () => {
      const { clock, pool, a } = fixture();
      await pool.tryAcquire('database', a);
      clock.ms += 30_000;

      const again = await pool.tryAcquire('database', a);

      expect(again).toEqual({ acquired: true, lease: expect.objectContaining({ holderId: a.id, acquiredAt: T0 + 30_000, leaseExpiresAt: T0 + 90_000 }) as Lease });
    });

    it('refuses a resource leased to another and says who holds it; the lease is unchanged', async () => {
      const { pool, a, b } = fixture();
      const taken = await pool.tryAcquire('database', a);

      const refused = await pool.tryAcquire('database', b);

      expect(taken.acquired).toBe(true);
      expect(refused).toEqual({ acquired: false, heldBy: taken.acquired ? taken.lease : undefined });
      expect((await pool.waitForGraph()).leases).toEqual([expect.objectContaining({ holderId: a.id })]);
    });

    it('takes over a lease whose holder stopped renewing it once leaseSeconds have passed, naming it in forcedFrom', async () => {
      const { clock, pool, a, b } = fixture({ leaseSeconds: 10 });
      await pool.tryAcquire('database', a);

      clock.ms = T0 + 9_999;
      const tooEarly = await pool.tryAcquire('database', b);
      clock.ms = T0 + 10_000;
      const takenOver = await pool.tryAcquire('database', b);

      expect(tooEarly.acquired).toBe(false);
      expect(takenOver).toEqual({ acquired: true, forcedFrom: a.id, lease: expect.objectContaining({ holderId: b.id, acquiredAt: T0 + 10_000 }) as Lease });
      // The old holder's release can no longer free what is now b's.
      await expect(pool.release('database', a.id)).resolves.toBe(false);
      expect((await pool.waitForGraph()).leases).toEqual([expect.objectContaining({ holderId: b.id })]);
    });

    it('tries once more when the lease it was refused vanished before it could be read (released meanwhile)', async () => {
      const { name, a, b } = fixture();
      const sent: string[] = [];
      // Releases a's lease just before the read that follows b's refused write.
      const racing = {
        send: async (command: { constructor: { name: string } }) => {
          sent.push(command.constructor.name);
          if (command instanceof GetCommand) await client.send(new DeleteCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: poolPartition(name), sk: 'LEASE#database' } }));
          return client.send(command as never);
        },
      } as unknown as DynamoDBDocumentClient;
      const pool = new ResourcePool({ client: racing, tableName: LOCAL_TABLE_NAME, pool: name, now: () => T0 });
      await pool.tryAcquire('database', a);
      sent.length = 0;

      const attempt = await pool.tryAcquire('database', b);

      expect(sent).toEqual(['PutCommand', 'GetCommand', 'PutCommand']);
      expect(attempt).toEqual({ acquired: true, lease: expect.objectContaining({ holderId: b.id }) as Lease });
    });
  });

  describe('Method: release', () => {
    it('releases only the holder’s own lease, and says whether it released one', async () => {
      const { name, pool, a, b } = fixture();
      await pool.tryAcquire('database', a);

      await expect(pool.release('database', b.id)).resolves.toBe(false);
      expect(await itemsOf(client, name)).toHaveLength(1);
      await expect(pool.release('database', a.id)).resolves.toBe(true);
      expect(await itemsOf(client, name)).toEqual([]);
      await expect(pool.release('database', a.id)).resolves.toBe(false);
    });
  });

  describe('Method: releaseAll', () => {
    it('releases the holder’s leases among the resources and returns them, leaving others’ alone', async () => {
      const { pool, a, b } = fixture();
      await pool.tryAcquire('database', a);
      await pool.tryAcquire('verification-key', a);
      await pool.tryAcquire('queue', b);

      const released = await pool.releaseAll(a.id, ['database', 'queue', 'verification-key', 'never-taken']);

      expect(released).toEqual(['database', 'verification-key']);
      expect((await pool.waitForGraph()).leases).toEqual([expect.objectContaining({ resource: 'queue', holderId: b.id })]);
    });
  });

  describe('Method: recordWait', () => {
    it('stores the edge WAIT#<waiterId>, keeping when the wait began while it is refreshed, until clearWait', async () => {
      const { clock, name, pool, a, b } = fixture({ leaseSeconds: 10 });
      await pool.recordWait(b, 'database', a.id);
      clock.ms += 500;
      await pool.recordWait(b, 'database', a.id);

      const edge: WaitEdge = { waiterId: b.id, waiterStartedAt: b.startedAt, taskId: b.taskId, resource: 'database', holderId: a.id, since: T0, waitExpiresAt: T0 + 10_500 };
      expect((await pool.waitForGraph()).waits).toEqual([edge]);
      expect(await itemsOf(client, name)).toEqual([expect.objectContaining({ sk: `WAIT#${b.id}`, [CHECKPOINT_TABLE.ttlAttribute]: Math.floor((T0 + 500) / 1000) + 86_400 })]);

      await pool.clearWait(b.id);
      expect(await itemsOf(client, name)).toEqual([]);
    });
  });

  describe('Method: waitForGraph', () => {
    it('returns the live leases and wait edges of the pool, leaving out expired leases and edges no longer refreshed', async () => {
      const { clock, pool, a, b } = fixture({ leaseSeconds: 10 });
      const c = holderAt('c', T0);
      await pool.tryAcquire('stale', c);
      await pool.recordWait(c, 'database', a.id);
      clock.ms += 10_000;
      await pool.tryAcquire('database', a);
      await pool.tryAcquire('verification-key', b);
      await pool.recordWait(a, 'verification-key', b.id);

      const graph = await pool.waitForGraph();

      expect(graph.leases.map((lease) => [lease.resource, lease.holderId]).sort()).toEqual([
        ['database', a.id],
        ['verification-key', b.id],
      ]);
      expect(graph.waits).toEqual([expect.objectContaining({ waiterId: a.id, resource: 'verification-key', holderId: b.id })]);
    });

    it('keeps pools (teams) apart: a resource of the same name is leased separately in each', async () => {
      const first = fixture();
      const second = new ResourcePool({ client, tableName: LOCAL_TABLE_NAME, pool: newPoolName(), now: () => T0 });
      await first.pool.tryAcquire('database', first.a);
      await first.pool.recordWait(first.b, 'database', first.a.id);

      const other = await second.tryAcquire('database', first.b);

      expect(other.acquired).toBe(true);
      expect(await second.waitForGraph()).toEqual({ leases: [expect.objectContaining({ holderId: first.b.id })], waits: [] });
      expect((await first.pool.waitForGraph()).leases).toEqual([expect.objectContaining({ holderId: first.a.id })]);
    });
  });
});

describe('Function: findCycle', () => {
  const lease = (resource: string, holderId: string): Lease => ({ resource, holderId, taskId: 't', holderStartedAt: 0, acquiredAt: 0, leaseExpiresAt: 1 });
  const wait = (waiterId: string, resource: string, holderId = '?'): WaitEdge => ({ waiterId, waiterStartedAt: 0, taskId: 't', resource, holderId, since: 0, waitExpiresAt: 1 });
  // A holds r1, B r2, C r3, D r4.
  const leases = [lease('r1', 'A'), lease('r2', 'B'), lease('r3', 'C'), lease('r4', 'D')];

  it('finds none when nobody waits, or the waits form a chain', () => {
    expect(findCycle([], leases, 'A')).toBeUndefined();
    expect(findCycle([wait('A', 'r2'), wait('B', 'r3')], leases, 'A')).toBeUndefined();
  });

  it('finds none when the resource waited for is free', () => {
    expect(findCycle([wait('A', 'free'), wait('B', 'r1')], leases, 'B')).toBeUndefined();
  });

  it('finds a 2-cycle, from either holder, starting with it', () => {
    const waits = [wait('A', 'r2'), wait('B', 'r1')];
    expect(findCycle(waits, leases, 'A')).toEqual(['A', 'B']);
    expect(findCycle(waits, leases, 'B')).toEqual(['B', 'A']);
  });

  it('finds a 3-cycle from each of its holders', () => {
    const waits = [wait('A', 'r2'), wait('B', 'r3'), wait('C', 'r1')];
    expect(findCycle(waits, leases, 'A')).toEqual(['A', 'B', 'C']);
    expect(findCycle(waits, leases, 'B')).toEqual(['B', 'C', 'A']);
    expect(findCycle(waits, leases, 'C')).toEqual(['C', 'A', 'B']);
  });

  it('finds none for a holder that only leads into a cycle it is not on', () => {
    const waits = [wait('A', 'r2'), wait('B', 'r1'), wait('D', 'r1')];
    expect(findCycle(waits, leases, 'D')).toBeUndefined();
    expect(findCycle(waits, leases, 'A')).toEqual(['A', 'B']);
  });

  it('follows the current holder of a resource, not the holder an edge recorded', () => {
    // B recorded waiting for A, but r1 was since taken by C, which waits for nothing.
    const moved = [lease('r1', 'C'), lease('r2', 'B')];
    expect(findCycle([wait('A', 'r2', 'B'), wait('B', 'r1', 'A')], moved, 'A')).toBeUndefined();
  });
});

describe('Function: chooseVictim', () => {
  const holders: PoolHolder[] = [
    { id: 'A', taskId: 't1', startedAt: 100 },
    { id: 'B', taskId: 't2', startedAt: 300 },
    { id: 'C', taskId: 't3', startedAt: 200 },
    { id: 'D', taskId: 't4', startedAt: 300 },
  ];

  it('chooses the youngest holder (latest startedAt), whatever the cycle’s rotation', () => {
    expect(chooseVictim(['A', 'C'], holders)).toBe('C');
    expect(chooseVictim(['A', 'B', 'C'], holders)).toBe('B');
    expect(chooseVictim(['C', 'A', 'B'], holders)).toBe('B');
  });

  it('breaks a tie with the greater id', () => {
    expect(chooseVictim(['B', 'D'], holders)).toBe('D');
    expect(chooseVictim(['D', 'A', 'B'], holders)).toBe('D');
  });

  it('counts a holder it knows nothing of as the oldest', () => {
    expect(chooseVictim(['ghost', 'A'], holders)).toBe('A');
  });

  it('refuses an empty cycle', () => {
    expect(() => chooseVictim([], holders)).toThrow(RangeError);
  });
});

describe('Function: acquireAll (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  /** A pool on its own partition; `left()` lists every item still in it, expired or not. */
  function newPool(options: { now?: () => number; leaseSeconds?: number } = {}) {
    const name = `team-${randomUUID()}`;
    const pool = new ResourcePool({ client, tableName: LOCAL_TABLE_NAME, pool: name, ...options });
    return Object.assign(pool, { left: () => itemsOf(client, name) });
  }

  /**
   * The pool as each holder sees it: after a holder's first lease, it waits until every holder has
   * taken its first, so that the deadlock forms whatever the scheduling.
   */
  function withBarrier(pool: ResourcePool, holders: number): LeasingPool {
    let arrived = 0;
    let open: () => void = () => undefined;
    const allArrived = new Promise<void>((resolve) => {
      open = resolve;
    });
    const firstTaken = new Set<string>();
    return {
      now: pool.now,
      tryAcquire: async (resource, holder) => {
        const attempt = await pool.tryAcquire(resource, holder);
        if (attempt.acquired && !firstTaken.has(holder.id)) {
          firstTaken.add(holder.id);
          arrived += 1;
          if (arrived === holders) open();
          await allArrived;
        }
        return attempt;
      },
      release: (resource, holderId) => pool.release(resource, holderId),
      releaseAll: (holderId, resources) => pool.releaseAll(holderId, resources),
      recordWait: (waiter, resource, heldBy) => pool.recordWait(waiter, resource, heldBy),
      clearWait: (waiterId) => pool.clearWait(waiterId),
      waitForGraph: () => pool.waitForGraph(),
    };
  }

  /** A holder's step: leases the resources, works a little, releases them; logs when it held them. */
  async function step(pool: LeasingPool, holder: PoolHolder, resources: string[], log: string[]) {
    const result = await acquireAll(pool, holder, resources, { pollMs: 20, waitTimeoutMs: 10_000 });
    log.push(`${holder.id} acquired`);
    await sleep(30);
    log.push(`${holder.id} releasing`);
    await pool.releaseAll(holder.id, resources);
    return result;
  }

  it('takes free resources in order, without waiting, detecting nothing and leaving no wait edge', async () => {
    const pool = newPool();
    const holder = holderAt('a', Date.now());

    const result = await acquireAll(pool, holder, ['database', 'verification-key']);

    expect(result).toEqual({ leases: [expect.objectContaining({ resource: 'database' }), expect.objectContaining({ resource: 'verification-key' })], detections: [], waitedMs: 0 });
    expect((await pool.left()).map((item) => item.sk)).toEqual(['LEASE#database', 'LEASE#verification-key']);
  });

  it.each([
    { older: 'A', younger: 'B' },
    { older: 'B', younger: 'A' },
  ])(
    'resolves A (database, then verification-key) against B (the opposite order), run concurrently: the younger ($younger) releases, both finish',
    async ({ older }) => {
      const pool = newPool();
      const now = Date.now();
      const a = holderAt('A', older === 'A' ? now - 1000 : now);
      const b = holderAt('B', older === 'B' ? now - 1000 : now);
      const [elder, junior] = older === 'A' ? [a, b] : [b, a];
      const shared = withBarrier(pool, 2);
      const log: string[] = [];

      const [resultA, resultB] = await Promise.all([step(shared, a, ['database', 'verification-key'], log), step(shared, b, ['verification-key', 'database'], log)]);

      const [elderResult, juniorResult] = elder === a ? [resultA, resultB] : [resultB, resultA];
      expect(elderResult.detections).toEqual([]);
      expect(juniorResult.detections.length).toBeGreaterThanOrEqual(1);
      for (const detection of juniorResult.detections) {
        expect(detection).toMatchObject({ type: 'deadlock', action: 'released-youngest', victim: junior.id, holderId: junior.id });
        expect(detection.action === 'released-youngest' ? [...detection.cycle].sort() : []).toEqual([a.id, b.id].sort());
      }
      // The first cycle broken freed the resource the junior held; the elder finished first, then the junior: never both at once.
      expect(juniorResult.detections[0]).toMatchObject({ resources: [junior === a ? 'database' : 'verification-key'] });
      expect(log).toEqual([`${elder.id} acquired`, `${elder.id} releasing`, `${junior.id} acquired`, `${junior.id} releasing`]);
      expect(resultA.leases.map((lease) => lease.resource)).toEqual(['database', 'verification-key']);
      expect(resultB.leases.map((lease) => lease.resource)).toEqual(['verification-key', 'database']);
      expect(await pool.left()).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'resolves a 3-cycle (each holder takes its resource, then the next one’s): only the youngest releases, all finish',
    async () => {
      const pool = newPool();
      const now = Date.now();
      const holders = [holderAt('A', now - 2000), holderAt('B', now), holderAt('C', now - 1000)];
      const orders = [
        ['r1', 'r2'],
        ['r2', 'r3'],
        ['r3', 'r1'],
      ];
      const shared = withBarrier(pool, 3);
      const log: string[] = [];

      const results = await Promise.all(holders.map((holder, index) => step(shared, holder, orders[index] ?? [], log)));

      const reporters = results.flatMap((result) => result.detections).map((detection: DeadlockDetection) => [detection.holderId, detection.action]);
      expect(reporters.length).toBeGreaterThanOrEqual(1);
      expect(new Set(reporters.map((entry) => entry.join(' ')))).toEqual(new Set([`${holders[1]?.id ?? ''} released-youngest`]));
      expect(log.filter((entry) => entry.endsWith('acquired'))).toHaveLength(3);
      expect(await pool.left()).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'gives up after waitTimeoutMs on a holder that never releases: DeadlockTimeoutError, its own leases released, no wait edge left',
    async () => {
      const pool = newPool();
      const stuck = holderAt('stuck', Date.now() - 1000);
      const waiter = holderAt('waiter', Date.now());
      await pool.tryAcquire('database', stuck);
      const detections: DeadlockDetection[] = [];

      const outcome = acquireAll(pool, waiter, ['queue', 'database'], { waitTimeoutMs: 300, pollMs: 50, onDetection: (detection) => void detections.push(detection) });

      const error = await outcome.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DeadlockTimeoutError);
      expect(error).toBeInstanceOf(LegionError);
      expect(error).toMatchObject({ name: 'DeadlockTimeoutError', context: { holder: waiter.id, resource: 'database', heldBy: stuck.id } });
      expect((error as DeadlockTimeoutError).waitedMs).toBeGreaterThanOrEqual(300);
      expect(detections).toEqual([
        { type: 'deadlock', action: 'timed-out', holderId: waiter.id, waitingFor: 'database', heldBy: stuck.id, waitedMs: (error as DeadlockTimeoutError).waitedMs, resources: ['queue'] },
      ]);
      expect(await pool.left()).toEqual([expect.objectContaining({ resource: 'database', holderId: stuck.id })]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it('takes over the lease of a holder that crashed once it expires, reporting force-released-expired', async () => {
    const clock = { ms: T0 };
    const pool = newPool({ now: () => clock.ms, leaseSeconds: 1 });
    const crashed = holderAt('crashed', T0 - 5000);
    const waiter = holderAt('waiter', T0);
    await pool.tryAcquire('database', crashed);
    // Waiting moves the clock: the test is exact and instant.
    const sleepOnClock = (ms: number): Promise<void> => {
      clock.ms += ms;
      return Promise.resolve();
    };

    const result = await acquireAll(pool, waiter, ['database'], { pollMs: 100, waitTimeoutMs: 5000, sleep: sleepOnClock });

    expect(result.detections).toEqual([{ type: 'deadlock', action: 'force-released-expired', holderId: waiter.id, forcedFrom: crashed.id, resources: ['database'] }]);
    expect(result.waitedMs).toBe(1000);
    expect(result.leases).toEqual([expect.objectContaining({ holderId: waiter.id, acquiredAt: T0 + 1000 })]);
    expect(await pool.left()).toEqual([expect.objectContaining({ sk: 'LEASE#database', holderId: waiter.id })]);
  });

  it('releases what it took when reporting a detection fails, and passes the error on', async () => {
    const clock = { ms: T0 };
    const pool = newPool({ now: () => clock.ms, leaseSeconds: 1 });
    await pool.tryAcquire('verification-key', holderAt('crashed', T0));
    clock.ms += 1000;
    const holder = holderAt('a', T0);
    const failure = new Error('detection log unavailable');

    const outcome = acquireAll(pool, holder, ['database', 'verification-key'], { onDetection: () => Promise.reject(failure) });

    await expect(outcome).rejects.toBe(failure);
    expect(await pool.left()).toEqual([]);
  });
});
