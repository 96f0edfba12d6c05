/**
 * The `supervisor-worker` pattern for one team: its workers, its supervisor (whose roster lists the
 * workers' function ARNs) and its state machine.
 */
import type { Construct } from 'constructs';
import { AgentTeam, type AgentTeamProps, requirePattern } from './agent-team.ts';

/**
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * new SupervisorWorkerTeam(this, 'Telecom', { team, table: checkpoints.table, controlFunctions: control.functions });
 * ```
 */
export class SupervisorWorkerTeam extends AgentTeam {
  public constructor(scope: Construct, id: string, props: AgentTeamProps) {
    requirePattern(props.team, 'supervisor-worker');
    super(scope, id, props);
  }
}
