/** The hierarchical pattern: a strategic lead decomposes the goal, sub-teams run as nested executions, the lead reviews and rolls up. */
import { HierarchicalInputSchema, MAX_REPLANS, MAX_TEAM_RETRIES } from './contract.ts';
import { type PatternSpec, commonSubstitutions } from '../../core/pattern-spec.ts';
import { packageFile } from '../../core/package-files.ts';
import { leadOf } from '../../core/team-schema.ts';
import { COMMON_CONTROL_FUNCTIONS } from '../../core/contract.ts';

export const hierarchicalPattern: PatternSpec = {
  name: 'hierarchical',
  summary: 'A strategic lead splits the goal into sub-goals, each run by a sub-team as a nested execution; the lead retries, re-plans or fails, then rolls the results up.',
  aslFile: packageFile('statemachines/hierarchical.asl.json'),
  exampleTeamFile: packageFile('teams/research-hierarchy.yaml'),
  inputSchema: HierarchicalInputSchema,
  substitutions: (team, functionArnOf) => ({
    ...commonSubstitutions(team, functionArnOf),
    LeadFunctionArn: functionArnOf.agent(leadOf(team).id),
    MaxDepth: String(team.limits.maxDepth),
    MaxFanOut: String(team.limits.maxFanOut),
    MaxTeamRetries: String(MAX_TEAM_RETRIES),
    MaxReplans: String(MAX_REPLANS),
  }),
  controlFunctions: COMMON_CONTROL_FUNCTIONS,
  aslRules: {
    allowedChoiceVariables: ['$.lead.plan.route', '$.review.verdict.decision', '$.loop.retries', '$.limits.maxTeamRetries', '$.loop.replans', '$.limits.maxReplans'],
    // The lead's decompose step copies each state machine ARN from its deployed roster into the assignment.
    allowedFunctionNamePaths: ['$.assignment.stateMachineArn'],
  },
};
