/**
 * Lambda entry point of every agent role: configuration comes from the environment CDK sets.
 */
import { createAgentHandler } from './agent.ts';
import { readAgentConfig } from '../shared/config.ts';
import { createAgentDependencies } from '../shared/dependencies.ts';

const config = readAgentConfig();

export const handler = createAgentHandler(config, createAgentDependencies(config));
