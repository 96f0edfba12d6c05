/** Lambda entry point of the start-run function (target of the RunRequested rules). */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SFNClient } from '@aws-sdk/client-sfn';
import { readStartRunConfig } from '../shared/config.ts';
import { METRICS } from '../shared/contract.ts';
import { createStartRunHandler } from './start-run.ts';

const serviceName = 'legion-start-run';
export const handler = createStartRunHandler({
  sfn: new SFNClient({}),
  machines: readStartRunConfig().machines,
  logger: new Logger({ serviceName }),
  metrics: new Metrics({ namespace: METRICS.namespace, serviceName }),
});
