/** Lambda entry point of the begin-task control function. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CheckpointManager } from '../shared/checkpoint-manager.ts';
import { readControlConfig } from '../shared/config.ts';
import { METRICS } from '../shared/contract.ts';
import { createBeginTaskHandler } from './begin-task.ts';

const config = readControlConfig();
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });

export const handler = createBeginTaskHandler({
  checkpoints: new CheckpointManager({ client, tableName: config.tableName }),
  logger: new Logger({ serviceName: 'legion-begin-task' }),
  metrics: new Metrics({ namespace: METRICS.namespace, serviceName: 'legion-begin-task' }),
});
