/**
 * Where restore time goes as history grows: the newest-first Query that `restore()` and
 * `rollback()` start with, timed raw against the same tasks, once with the key condition the
 * CheckpointManager uses (`begins_with(sk, 'CP#')`) and once with the equivalent range
 * (`sk BETWEEN 'CP#0000000000' AND 'CP#9999999999'`). Both select the same items in the same
 * order; on DynamoDB Local only the first gets slower with the number of items in the partition.
 *
 * @example
 * ```ts
 * const rows = await diagnoseNewestFirstQuery({ client, tableName, tasks, iterations: 100, random });
 * ```
 */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_SK_PREFIX, CHECKPOINT_TABLE, SEQUENCE_WIDTH, checkpointSortKey, taskPartition } from '../functions/core/contract.ts';
import type { HistoryTask } from './latency.ts';
import { type Random, shuffled } from './random.ts';
import { BENCH_TEAM } from './populate.ts';


/** The page size of the manager's newest-first reads (RESTORE_PAGE_SIZE, not exported). */
const PAGE_SIZE = 4;

export type KeyCondition = 'begins_with' | 'between';

export interface QueryTiming {
  history: number;
  keyCondition: KeyCondition;
  queryMs: number[];
}

export interface DiagnosisOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  tasks: readonly HistoryTask[];
  iterations: number;
  random: Random;
}

export async function diagnoseNewestFirstQuery(options: DiagnosisOptions): Promise<QueryTiming[]> {
  const timings: QueryTiming[] = options.tasks.flatMap((task) =>
    (['begins_with', 'between'] as const).map((keyCondition) => ({ history: task.history, keyCondition, queryMs: [] as number[] })),
  );
  const order = shuffled(
    timings.flatMap((timing) => Array.from({ length: options.iterations }, () => timing)),
    options.random,
  );
  const taskOf = new Map(options.tasks.map((task) => [task.history, task]));
  for (const timing of order) {
    const task = taskOf.get(timing.history);
    if (!task) continue;
    const input = newestFirstQuery(options.tableName, task.taskId, timing.keyCondition);
    const startedAt = performance.now();
    const page = await options.client.send(new QueryCommand(input));
    timing.queryMs.push(performance.now() - startedAt);
    if (page.Items?.length !== Math.min(PAGE_SIZE, task.history)) {
      throw new Error(`query ${timing.keyCondition} on ${task.taskId} returned ${page.Items?.length ?? 0} items`);
    }
  }
  return timings;
}

function newestFirstQuery(tableName: string, taskId: string, keyCondition: KeyCondition): QueryCommandInput {
  const sortKeyCondition =
    keyCondition === 'begins_with'
      ? { expression: 'begins_with(#sk, :prefix)', values: { ':prefix': CHECKPOINT_SK_PREFIX } }
      : { expression: '#sk BETWEEN :first AND :last', values: { ':first': checkpointSortKey(0), ':last': checkpointSortKey(10 ** SEQUENCE_WIDTH - 1) } };
  return {
    TableName: tableName,
    KeyConditionExpression: `#pk = :pk AND ${sortKeyCondition.expression}`,
    ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey, '#sk': CHECKPOINT_TABLE.sortKey },
    ExpressionAttributeValues: { ':pk': taskPartition(BENCH_TEAM, taskId), ...sortKeyCondition.values },
    ScanIndexForward: false,
    Limit: PAGE_SIZE,
    ConsistentRead: true,
  };
}
