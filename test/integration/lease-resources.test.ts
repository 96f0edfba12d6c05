/**
 * The leaseResources middleware on a real middy handler and a real ResourcePool on DynamoDB Local
 * (started once in test/global-setup.ts); each test uses its own pool. Leases are checked while the
 * handler runs (from inside it) and after it ends, succeeded or failed.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { leaseResources, type LeaseResourcesOptions } from '../../functions/guards/lease-resources.ts';
import { DeadlockTimeoutError } from '../../functions/core/errors.ts';
import { type DeadlockDetection, type LeasingPool, type PoolHolder, ResourcePool } from '../../functions/guards/resource-pool.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

interface StepEvent {
  taskId: string;
  agentId: string;
  startedAt: number;
}

const context = {} as Context;
const holderOf = (event: StepEvent): PoolHolder => ({ id: `${event.taskId}/${event.agentId}/step-1`, taskId: event.taskId, startedAt: event.startedAt });
const eventOf = (agentId: string, startedAt = Date.now()): StepEvent => ({ taskId: `task-${randomUUID()}`, agentId, startedAt });
const SCENARIO_TIMEOUT_MS = 20_000;

describe('Function: leaseResources', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  const newPool = (): ResourcePool => new ResourcePool({ client, tableName: LOCAL_TABLE_NAME, pool: `team-${randomUUID()}` });

  /** A handler that runs `work` between the middleware's lease and release. */
  function handlerWith(options: LeaseResourcesOptions<StepEvent>, work: (event: StepEvent) => Promise<string>) {
    return middy<StepEvent, string>(work).use(leaseResources<StepEvent, string>(options));
  }

  /** The pool, but each holder's first lease waits until both holders have one: the deadlock then always forms. */
  function withBarrier(pool: ResourcePool): LeasingPool {
    const firsts = new Set<string>();
    let open: () => void = () => undefined;
    const bothIn = new Promise<void>((resolve) => {
      open = resolve;
    });
    const tryAcquire: LeasingPool['tryAcquire'] = async (resource, holder) => {
      const attempt = await pool.tryAcquire(resource, holder);
      if (attempt.acquired && !firsts.has(holder.id)) {
        firsts.add(holder.id);
        if (firsts.size === 2) open();
        await bothIn;
      }
      return attempt;
    };
    return Object.assign(Object.create(pool) as ResourcePool, { tryAcquire });
  }

  const heldBy = async (pool: ResourcePool): Promise<string[][]> => (await pool.waitForGraph()).leases.map((lease) => [lease.resource, lease.holderId]).sort();

  it('holds the resources, for the event’s holder, while the handler runs, and releases them after', async () => {
    const pool = newPool();
    const event = eventOf('billing');
    let during: string[][] = [];
    const handler = handlerWith({ pool, resources: ['database', 'verification-key'], holderOf }, async () => {
      during = await heldBy(pool);
      return 'done';
    });

    await expect(handler(event, context)).resolves.toBe('done');

    const id = holderOf(event).id;
    expect(during).toEqual([
      ['database', id],
      ['verification-key', id],
    ]);
    expect(await pool.waitForGraph()).toEqual({ leases: [], waits: [] });
  });

  it('releases the resources when the handler fails, and the handler’s error is the one thrown', async () => {
    const pool = newPool();
    const failure = new Error('model unavailable');
    const handler = handlerWith({ pool, resources: ['database'], holderOf }, () => Promise.reject(failure));

    await expect(handler(eventOf('billing'), context)).rejects.toBe(failure);
    expect(await pool.waitForGraph()).toEqual({ leases: [], waits: [] });
  });

  it('does not hide the handler’s error when releasing fails', async () => {
    const pool = newPool();
    const failing: LeasingPool = Object.assign(Object.create(pool) as ResourcePool, { releaseAll: () => Promise.reject(new Error('throttled')) });
    const failure = new Error('model unavailable');
    const handler = handlerWith({ pool: failing, resources: ['database'], holderOf }, () => Promise.reject(failure));

    await expect(handler(eventOf('billing'), context)).rejects.toBe(failure);
  });

  it('does nothing with an empty list of resources: no call to the pool', async () => {
    const calls: string[] = [];
    const untouchable = new Proxy({} as LeasingPool, {
      get: (_target, property) => {
        calls.push(String(property));
        throw new Error(`pool.${String(property)} used`);
      },
    });
    const handler = handlerWith({ pool: untouchable, resources: [], holderOf }, () => Promise.resolve('done'));

    await expect(handler(eventOf('billing'), context)).resolves.toBe('done');
    expect(calls).toEqual([]);
  });

  it(
    'fails the step with DeadlockTimeoutError, without running the handler, when a resource stays held past waitTimeoutMs',
    async () => {
      const pool = newPool();
      const stuck: PoolHolder = { id: 'other-task/agent/step-1', taskId: 'other-task', startedAt: Date.now() - 1000 };
      await pool.tryAcquire('verification-key', stuck);
      const detections: DeadlockDetection[] = [];
      let ran = false;
      const handler = handlerWith(
        { pool, resources: ['database', 'verification-key'], holderOf, waitTimeoutMs: 300, pollMs: 50, onDetection: (detection) => void detections.push(detection) },
        () => {
          ran = true;
          return Promise.resolve('done');
        },
      );

      await expect(handler(eventOf('billing'), context)).rejects.toBeInstanceOf(DeadlockTimeoutError);
      expect(ran).toBe(false);
      expect(detections.map((detection) => detection.action)).toEqual(['timed-out']);
      expect(await heldBy(pool)).toEqual([['verification-key', stuck.id]]);
      expect((await pool.waitForGraph()).waits).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'runs two steps that lease the same resources in opposite orders into a deadlock, concurrently, to the end: the younger yields',
    async () => {
      const pool = newPool();
      const now = Date.now();
      const elder = eventOf('billing', now - 1000);
      const junior = eventOf('verifier', now);
      const detections: DeadlockDetection[] = [];
      const onDetection = (detection: DeadlockDetection) => void detections.push(detection);
      const inside: string[] = [];
      // Each step holds its resources a while, so that the other is sure to ask for them meanwhile.
      const work = (event: StepEvent) => async () => {
        inside.push(`${event.agentId} in`);
        await new Promise((resolve) => setTimeout(resolve, 150));
        inside.push(`${event.agentId} out`);
        return event.agentId;
      };
      const options = { pool: withBarrier(pool), holderOf, pollMs: 20, waitTimeoutMs: 10_000, onDetection };

      const results = await Promise.all([
        handlerWith({ ...options, resources: ['database', 'verification-key'] }, work(elder))(elder, context),
        handlerWith({ ...options, resources: ['verification-key', 'database'] }, work(junior))(junior, context),
      ]);

      expect(results).toEqual(['billing', 'verifier']);
      // The handlers never overlapped: each held both resources.
      expect([inside.slice(0, 2), inside.slice(2)].map((pair) => pair[0]?.split(' ')[0] === pair[1]?.split(' ')[0])).toEqual([true, true]);
      expect(detections.length).toBeGreaterThanOrEqual(1);
      expect(detections.every((detection) => detection.action === 'released-youngest' && detection.victim === holderOf(junior).id)).toBe(true);
      expect(await pool.waitForGraph()).toEqual({ leases: [], waits: [] });
    },
    SCENARIO_TIMEOUT_MS,
  );
});
