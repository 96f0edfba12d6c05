/**
 * Holds shared resources for the whole of a step: leases them (acquireAll, in the order listed)
 * before the handler runs, and releases them after it, whether it succeeded or failed. A wait-for
 * cycle with another step is broken by the youngest holder; a wait past `waitTimeoutMs` fails the
 * step with DeadlockTimeoutError before the handler runs.
 *
 * @example
 * ```ts
 * middy(runStep).use(
 *   leaseResources({
 *     pool: new ResourcePool({ client, tableName, pool: team.name }),
 *     resources: ['database', 'verification-key'],
 *     holderOf: (event) => ({ id: `${event.taskId}/billing/${event.stateName}`, taskId: event.taskId, startedAt: Date.now() }),
 *     onDetection: (detection) => detections.record(detection),
 *   }),
 * );
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import { type AcquireAllOptions, acquireAll, type LeasingPool, type PoolHolder } from './resource-pool.ts';

export interface LeaseResourcesOptions<E> extends Pick<AcquireAllOptions, 'waitTimeoutMs' | 'pollMs' | 'onDetection'> {
  pool: LeasingPool;
  /** Leased in this order; empty: the middleware does nothing. */
  resources: readonly string[];
  /** The holder of the step's leases; its id must be unique per agent step. */
  holderOf: (event: E) => PoolHolder;
}

export function leaseResources<E, R>(options: LeaseResourcesOptions<E>): MiddlewareObj<E, R> {
  const holders = new WeakMap<object, PoolHolder>();
  // A failed release must neither hide the handler's error nor fail a step that is done: the leases expire anyway.
  const release = async (request: object): Promise<void> => {
    const holder = holders.get(request);
    if (holder) await options.pool.releaseAll(holder.id, options.resources).catch(() => undefined);
  };
  return {
    before: async (request) => {
      if (options.resources.length === 0) return;
      const holder = options.holderOf(request.event);
      holders.set(request, holder);
      await acquireAll(options.pool, holder, options.resources, options);
    },
    after: release,
    onError: release,
  };
}
