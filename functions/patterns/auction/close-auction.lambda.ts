/** Lambda entry point of the close-auction control function. */
import { createCloseAuctionHandler } from './close-auction.ts';
import { createControlDependencies } from '../../control/control-dependencies.ts';

export const handler = createCloseAuctionHandler(createControlDependencies('legion-close-auction'));
