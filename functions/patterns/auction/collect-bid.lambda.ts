/** Lambda entry point of the collect-bid control function. */
import { createCollectBidHandler } from './collect-bid.ts';
import { createControlDependencies } from '../../control/control-dependencies.ts';

export const handler = createCollectBidHandler(createControlDependencies('legion-collect-bid'));
