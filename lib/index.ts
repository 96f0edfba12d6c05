/**
 * Legion as a library (`agent-legion`): the CDK constructs that deploy teams of agents, and the team
 * definitions they deploy. Tool modules and custom handlers, which are bundled into Lambda
 * functions, import from `agent-legion/tools` and `agent-legion/handlers` instead, so their bundles
 * carry no CDK code; the local runtime is `agent-legion/local`, the model providers `agent-legion/models`.
 *
 * @example
 * ```ts
 * import { App } from 'aws-cdk-lib';
 * import { LegionStack, loadTeamFile } from 'agent-legion';
 *
 * const app = new App();
 * new LegionStack(app, 'Legion', { teams: [await loadTeamFile('teams/helpdesk.yaml')] });
 * app.synth();
 * ```
 */
export { LegionStack, type LegionStackProps, type TeamConstruct } from './legion-stack.ts';
export { AgentTeam, type AgentTeamProps } from './agent-team.ts';
export { teamsFromContext, TEAMS_CONTEXT } from './context-teams.ts';
export { readLegionContext, type LegionContextSettings } from './legion-context.ts';
export { loadTeamFile, parseTeam, teamFilesIn, type TeamDefinition, type AgentDefinition } from '../functions/core/team.ts';
