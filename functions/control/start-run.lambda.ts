/** Lambda entry point of the start-run function (target of the RunRequested rules). */
import { SFNClient } from '@aws-sdk/client-sfn';
import { readStartRunConfig } from '../core/config.ts';
import { controlTelemetry } from './control-handler.ts';
import { createStartRunHandler } from './start-run.ts';

const serviceName = 'legion-start-run';
export const handler = createStartRunHandler({
  sfn: new SFNClient({}),
  machines: readStartRunConfig().machines,
  ...controlTelemetry(serviceName),
});
