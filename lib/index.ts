/**
 * Legion as a library (`agent-legion`): the CDK constructs that deploy teams of agents, and the team
 * definitions they deploy. Tool modules and custom handlers, which are bundled into Lambda
 * functions, import from `agent-legion/tools` and `agent-legion/handlers` instead, so their bundles
 * carry no CDK code; the local runtime is `agent-legion/local`, the model providers `agent-legion/models`.
 *
 * @example
 * ```ts
 * import { App, Stack } from 'aws-cdk-lib';
 * import { LegionTeam } from 'agent-legion';
 *
 * const app = new App();
 * const stack = new Stack(app, 'Helpdesk');
 * await LegionTeam.fromFile(stack, 'Helpdesk', 'teams/helpdesk.yaml');
 * app.synth();
 * ```
 */
export { Legion, type LegionProps, type TeamConstruct } from './legion.ts';
export { LegionStack, type LegionStackProps } from './legion-stack.ts';
export { LegionTeam, type LegionTeamProps } from './legion-team.ts';
export { AgentTeam, type AgentTeamProps } from './agent-team.ts';
export { teamsFromContext, TEAMS_CONTEXT } from './context-teams.ts';
export { readLegionContext, type LegionContextSettings } from './legion-context.ts';
export { loadTeamFile, parseTeam, teamFilesIn, type TeamDefinition, type TeamDefinitionInput, type AgentDefinition } from '../functions/core/team.ts';
