/** Lambda entry point of the rollback-task control function. */
import { createControlDependencies } from './control-dependencies.ts';
import { createRollbackTaskHandler } from './rollback-task.ts';

export const handler = createRollbackTaskHandler(createControlDependencies('legion-rollback-task'));
