/** Lambda entry point of the open-auction control function. */
import { createOpenAuctionHandler } from './open-auction.ts';
import { createControlDependencies } from '../../control/control-dependencies.ts';

export const handler = createOpenAuctionHandler(createControlDependencies('legion-open-auction'));
