/** Lambda entry point of the settle-award control function. */
import { createSettleAwardHandler } from './settle-award.ts';
import { createControlDependencies } from '../../control/control-dependencies.ts';

export const handler = createSettleAwardHandler(createControlDependencies('legion-settle-award'));
