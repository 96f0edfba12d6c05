/**
 * The `pipeline` pattern for one team: a function per stage and one for the verifier that runs
 * the validation gate, and the team's state machine, which takes the stages' function ARNs (in
 * definition order) from its definition substitutions.
 */
import type { Construct } from 'constructs';
import { AgentTeam, type AgentTeamProps, requirePattern } from './agent-team.ts';

/**
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/content-pipeline.yaml');
 * new PipelineTeam(this, 'Content', { team, table: checkpoints.table, controlFunctions: control.functions });
 * ```
 */
export class PipelineTeam extends AgentTeam {
  public constructor(scope: Construct, id: string, props: AgentTeamProps) {
    requirePattern(props.team, 'pipeline');
    super(scope, id, props);
  }
}
