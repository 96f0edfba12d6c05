/** Lambda entry point of the publish-outcome function (target of the execution status-change rule). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readPublishOutcomeConfig } from '../core/config.ts';
import { UNSCOPED_TEAM } from '../core/contract.ts';
import { TaskStatusStore } from '../observability/task-status-store.ts';
import { controlTelemetry } from './control-handler.ts';
import { createPublishOutcomeHandler } from './publish-outcome.ts';

const serviceName = 'legion-publish-outcome';
const config = readPublishOutcomeConfig();
export const handler = createPublishOutcomeHandler({
  events: new EventBridgeClient({}),
  sfn: new SFNClient({}),
  eventBusName: config.eventBusName,
  machines: config.machines,
  // Every team's executions end here: scoped per event (forTeam).
  statuses: new TaskStatusStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName: config.tableName, team: UNSCOPED_TEAM, retentionDays: config.retentionDays }),
  ...controlTelemetry(serviceName),
});
