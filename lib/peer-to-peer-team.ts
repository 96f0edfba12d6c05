/**
 * The `peer-to-peer` pattern for one team: a function per peer and one for the verifier, and the
 * state machine that runs their rounds (it may invoke exactly these functions and the control ones).
 */
import type { Construct } from 'constructs';
import { AgentTeam, type AgentTeamProps, requirePattern } from './agent-team.ts';

/**
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/peer-review.yaml');
 * new PeerToPeerTeam(this, 'PeerReview', { team, table: checkpoints.table, controlFunctions: control.functions });
 * ```
 */
export class PeerToPeerTeam extends AgentTeam {
  public constructor(scope: Construct, id: string, props: AgentTeamProps) {
    requirePattern(props.team, 'peer-to-peer');
    super(scope, id, props);
  }
}
