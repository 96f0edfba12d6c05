/** Lambda entry point of the request-approval control function (every pattern's Escalate state). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ENV } from '../core/contract.ts';
import { ConfigurationError } from '../core/errors.ts';
import { readControlConfig } from '../core/config.ts';
import { createControlDependencies } from './control-dependencies.ts';
import { createRequestApprovalHandler } from './request-approval.ts';

const { eventBusName } = readControlConfig();
if (!eventBusName) throw new ConfigurationError([`${ENV.eventBusName} is not set (request-approval notifies on the Legion event bus)`]);
const deps = createControlDependencies('legion-request-approval');

export const handler = createRequestApprovalHandler({ ...deps, callbacks: new SFNClient({}), events: new EventBridgeClient({}), eventBusName });
