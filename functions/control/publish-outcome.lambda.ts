/** Lambda entry point of the publish-outcome function (target of the execution status-change rule). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { readPublishOutcomeConfig } from '../shared/config.ts';
import { controlTelemetry } from './control-handler.ts';
import { createPublishOutcomeHandler } from './publish-outcome.ts';

const serviceName = 'legion-publish-outcome';
const config = readPublishOutcomeConfig();
export const handler = createPublishOutcomeHandler({
  events: new EventBridgeClient({}),
  sfn: new SFNClient({}),
  eventBusName: config.eventBusName,
  machines: config.machines,
  ...controlTelemetry(serviceName),
});
