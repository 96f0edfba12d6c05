/**
 * Bytes and estimated on-demand cost of a checkpoint: one save per variant through a metered
 * client, the items it wrote read back and sized, the write units counted by the billing rules
 * (and, as a cross-check, as DynamoDB Local reports them); plus the request units of a restore and
 * of a rollback.
 *
 * @example
 * ```ts
 * const costs = await measureCosts({ metered, client, tableName, variants });
 * ```
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CheckpointManager } from '../functions/recovery/checkpoint-manager.ts';
import {
  CHECKPOINT_TABLE,
  TASK_HEAD_SK,
  checkpointSortKey,
  stepMarkerSortKey,
  taskPartition,
} from '../functions/core/contract.ts';
import { itemBytes, requestCostUsd, saveWriteUnits, storageCostUsd } from './cost-model.ts';
import { jsonBytes } from './fixtures.ts';
import type { Consumption, MeteredClient } from './metered-client.ts';
import { type SaveVariant, saveInput } from './write-overhead.ts';
import { BENCH_TEAM } from './populate.ts';


export interface SaveCost {
  variant: string;
  stateJsonBytes: number;
  encoding: 'json' | 'gzip';
  /** `storedBytes` of the saved checkpoint (the manager's own estimate of its item). */
  storedBytes: number;
  /** The checkpoint item as DynamoDB counts it. */
  checkpointItemBytes: number;
  headItemBytes: number;
  markerItemBytes: number | undefined;
  /** storedBytes plus the head and marker items. */
  bytesWritten: number;
  /** Write units by the billing rules, from storedBytes and the head and marker sizes. */
  writeUnits: number;
  /** What DynamoDB Local reported for the same save (read units: the step-marker lookup). */
  measured: Consumption;
  /** Estimated request cost: `writeUnits` plus the measured read units. */
  requestUsd: number;
  /** Keeping `bytesWritten` for the retention period. */
  storageUsd: number;
}

export interface OperationCost {
  operation: string;
  measured: Consumption;
  requestUsd: number;
}

export interface CostResults {
  saves: SaveCost[];
  operations: OperationCost[];
}

export interface CostOptions {
  metered: MeteredClient;
  /** An unmetered client, to read the written items back. */
  client: DynamoDBDocumentClient;
  tableName: string;
  variants: readonly SaveVariant[];
  /** A variant whose task has at least two valid checkpoints, for the restore and rollback costs. */
  operationsOn: SaveVariant;
}

export async function measureCosts(options: CostOptions): Promise<CostResults> {
  const { metered } = options;
  const checkpoints = new CheckpointManager({ team: BENCH_TEAM, client: metered.documentClient, tableName: options.tableName });
  const saves: SaveCost[] = [];
  for (const variant of options.variants) {
    metered.take();
    const input = saveInput(variant, `Cost${saves.length}`);
    const checkpoint = await checkpoints.save(input);
    const measured = metered.take();
    const read = (sortKey: string) => readItemBytes(options, variant.taskId, sortKey);
    const checkpointItemBytes = await read(checkpointSortKey(checkpoint.sequence));
    const headItemBytes = await read(TASK_HEAD_SK);
    const markerItemBytes = input.stepKey === undefined ? undefined : await read(stepMarkerSortKey(input.stepKey));
    const writeUnits = saveWriteUnits({ checkpointBytes: checkpoint.storedBytes, headBytes: headItemBytes, markerBytes: markerItemBytes });
    const bytesWritten = checkpoint.storedBytes + headItemBytes + (markerItemBytes ?? 0);
    saves.push({
      variant: variant.name,
      stateJsonBytes: jsonBytes(variant.state),
      encoding: checkpoint.encoding,
      storedBytes: checkpoint.storedBytes,
      checkpointItemBytes,
      headItemBytes,
      markerItemBytes,
      bytesWritten,
      writeUnits,
      measured,
      requestUsd: requestCostUsd({ writeUnits, readUnits: measured.readUnits }),
      storageUsd: storageCostUsd(bytesWritten, CHECKPOINT_TABLE.retentionDays),
    });
  }

  const operations: OperationCost[] = [];
  const taskId = options.operationsOn.taskId;
  const meter = async (operation: string, run: () => Promise<unknown>): Promise<void> => {
    metered.take();
    await run();
    const measured = metered.take();
    operations.push({ operation, measured, requestUsd: requestCostUsd(measured) });
  };
  await meter('restore', () => checkpoints.restore(taskId));
  await meter('rollback (undo the latest step)', () => checkpoints.rollback(taskId, { reason: 'benchmark' }));
  return { saves, operations };
}

async function readItemBytes(options: CostOptions, taskId: string, sortKey: string): Promise<number> {
  const result = await options.client.send(
    new GetCommand({
      TableName: options.tableName,
      Key: { [CHECKPOINT_TABLE.partitionKey]: taskPartition(BENCH_TEAM, taskId), [CHECKPOINT_TABLE.sortKey]: sortKey },
      ConsistentRead: true,
    }),
  );
  if (!result.Item) throw new Error(`item ${sortKey} of task ${taskId} was not written`);
  return itemBytes(result.Item);
}
