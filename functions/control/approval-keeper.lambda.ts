/** Lambda entry point of the approval keeper (run by an EventBridge schedule, not by a state machine). */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createApprovalKeeperHandler } from './approval-keeper.ts';
import { createControlDependencies } from './control-dependencies.ts';

const deps = createControlDependencies('legion-approval-keeper');

export const handler = createApprovalKeeperHandler({ ...deps, callbacks: new SFNClient({}) });
