/** Lambda entry point of the record-detection control function (the patterns' RecordDetection states). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ENV } from '../core/contract.ts';
import { ConfigurationError } from '../core/errors.ts';
import { readControlConfig } from '../core/config.ts';
import { createControlDependencies } from './control-dependencies.ts';
import { createRecordDetectionHandler } from './record-detection.ts';

const { eventBusName } = readControlConfig();
if (!eventBusName) throw new ConfigurationError([`${ENV.eventBusName} is not set (record-detection announces detections on the Legion event bus)`]);
const deps = createControlDependencies('legion-record-detection');

export const handler = createRecordDetectionHandler({ ...deps, events: new EventBridgeClient({}), eventBusName });
