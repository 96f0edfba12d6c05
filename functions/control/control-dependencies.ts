/**
 * What every control function's Lambda entry point builds once per container: the stores on the
 * configured table (checkpoints, auctions, approvals, detections, task statuses), a logger and metrics.
 *
 * @example
 * ```ts
 * export const handler = createBeginTaskHandler(createControlDependencies('legion-begin-task'));
 * ```
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApprovalStore } from '../approvals/approval-store.ts';
import { AuctionStore } from '../patterns/auction/auction-store.ts';
import { CheckpointManager } from '../recovery/checkpoint-manager.ts';
import { DetectionLog } from '../guards/detection-log.ts';
import { readControlConfig } from '../core/config.ts';
import { UNSCOPED_TEAM } from '../core/contract.ts';
import { TaskStatusStore } from '../observability/task-status-store.ts';
import { controlTelemetry } from './control-handler.ts';

export interface ControlDependencies {
  checkpoints: CheckpointManager;
  /** auction: rounds, bids and awards, on the same table. */
  auctions: AuctionStore;
  /** Approvals of escalated tasks, on the same table. */
  approvals: ApprovalStore;
  /** Detected loops, hallucinated consensus and deadlocks, on the same table. */
  detections: DetectionLog;
  /** The tasks' status items, on the same table. */
  statuses: TaskStatusStore;
  logger: Logger;
  metrics: Metrics;
}

export function createControlDependencies(serviceName: string): ControlDependencies {
  const config = readControlConfig();
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const table = { client, tableName: config.tableName, retentionDays: config.retentionDays };
  return {
    // One function serves every team of the stack: each handler scopes these per call (forTeam).
    checkpoints: new CheckpointManager({ ...table, team: UNSCOPED_TEAM }),
    auctions: new AuctionStore({ ...table, team: UNSCOPED_TEAM }),
    approvals: new ApprovalStore({ ...table, team: UNSCOPED_TEAM }),
    detections: new DetectionLog({ ...table, team: UNSCOPED_TEAM }),
    statuses: new TaskStatusStore({ ...table, team: UNSCOPED_TEAM }),
    ...controlTelemetry(serviceName),
  };
}
