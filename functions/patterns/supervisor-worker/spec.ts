/** The supervisor-worker pattern: a supervisor classifies, matching workers answer in parallel, the supervisor synthesises. */
import { SupervisorWorkerInputSchema } from '../../core/agent-contract.ts';
import { type PatternSpec, commonSubstitutions } from '../../core/pattern-spec.ts';
import { packageFile } from '../../core/package-files.ts';
import { supervisorOf } from '../../core/team-schema.ts';
import { COMMON_CONTROL_FUNCTIONS } from '../../core/contract.ts';

export const supervisorWorkerPattern: PatternSpec = {
  name: 'supervisor-worker',
  summary: 'A supervisor classifies the request, matching workers answer in parallel, the supervisor synthesises one reply.',
  aslFile: packageFile('statemachines/supervisor-worker.asl.json'),
  exampleTeamFile: packageFile('teams/telecom-support.yaml'),
  inputSchema: SupervisorWorkerInputSchema,
  substitutions: (team, functionArnOf) => ({
    ...commonSubstitutions(team, functionArnOf),
    SupervisorFunctionArn: functionArnOf.agent(supervisorOf(team).id),
    MaxParallelWorkers: String(team.limits.maxParallelWorkers),
  }),
  controlFunctions: COMMON_CONTROL_FUNCTIONS,
  aslRules: {
    allowedChoiceVariables: ['$.supervisor.plan.route', '$.workCheck.inconsistent'],
    // The supervisor handler copies the ARN from the deployed roster into each assignment.
    allowedFunctionNamePaths: ['$.assignment.functionArn'],
  },
};
