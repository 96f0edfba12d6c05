/** Lambda entry point of the begin-task control function. */
import { createBeginTaskHandler } from './begin-task.ts';
import { createControlDependencies } from './control-dependencies.ts';

export const handler = createBeginTaskHandler(createControlDependencies('legion-begin-task'));
