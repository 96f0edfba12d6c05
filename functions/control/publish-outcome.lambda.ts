/** Lambda entry point of the publish-outcome function (target of the execution status-change rule). */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { readPublishOutcomeConfig } from '../shared/config.ts';
import { METRICS } from '../shared/contract.ts';
import { createPublishOutcomeHandler } from './publish-outcome.ts';

const serviceName = 'legion-publish-outcome';
const config = readPublishOutcomeConfig();
export const handler = createPublishOutcomeHandler({
  events: new EventBridgeClient({}),
  sfn: new SFNClient({}),
  eventBusName: config.eventBusName,
  machines: config.machines,
  logger: new Logger({ serviceName }),
  metrics: new Metrics({ namespace: METRICS.namespace, serviceName }),
});
