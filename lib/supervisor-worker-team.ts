/**
 * A supervisor/worker team in AWS: one Lambda function per agent role and the team's state machine.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ControlFunctionName } from '../functions/shared/contract.ts';
import { agentSettingsFor } from '../functions/shared/agent-settings.ts';
import { type TeamDefinition, supervisorOf, workersOf } from '../functions/shared/team.ts';
import { AgentFunction, type AgentFunctionOptions } from './agent-function.ts';
import { TeamStateMachine } from './team-state-machine.ts';

/** Props of a team: the options of its agent functions (log options also apply to its state machine). */
export interface SupervisorWorkerTeamProps extends AgentFunctionOptions {
  /** A team whose pattern is `supervisor-worker`. */
  readonly team: TeamDefinition;
  /** The checkpoint table the agents write to. */
  readonly table: dynamodb.ITable;
  /** The stack's control functions, which the team's state machine also invokes. */
  readonly controlFunctions: Record<ControlFunctionName, lambda.IFunction>;
}

/**
 * The `supervisor-worker` pattern for one team: an {@link AgentFunction} per worker, then one for
 * the supervisor whose roster lists the workers (id, description, capabilities, function ARN), then
 * a {@link TeamStateMachine} that may invoke all of them.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * const checkpoints = new CheckpointTable(this, 'Checkpoints');
 * const telecom = new SupervisorWorkerTeam(this, 'Telecom', { team, table: checkpoints.table });
 * telecom.functions.billing; // the billing worker's Lambda
 * ```
 */
export class SupervisorWorkerTeam extends Construct {
  /** The team definition deployed. */
  public readonly team: TeamDefinition;
  /** The agent constructs (function, role, log group), by agent id. */
  public readonly agents: Record<string, AgentFunction>;
  /** The Lambda function of each agent, by agent id. */
  public readonly functions: Record<string, lambda.IFunction>;
  /** The team's state machine. */
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: SupervisorWorkerTeamProps) {
    super(scope, id);
    const { team } = props;
    const pattern: string = team.pattern;
    if (pattern !== 'supervisor-worker') {
      throw new Error(`Team "${team.name}" has pattern "${pattern}", not "supervisor-worker"`);
    }
    this.team = team;
    const { team: _deployed, controlFunctions, ...common } = props;

    // Workers first: the supervisor's roster needs their function ARNs.
    const agents: Record<string, AgentFunction> = {};
    const functionArnOf = (agentId: string): string => {
      const agent = agents[agentId];
      if (!agent) throw new Error(`Team "${team.name}": agent "${agentId}" has no function yet`);
      return agent.function.functionArn;
    };
    for (const agent of [...workersOf(team), supervisorOf(team)]) {
      agents[agent.id] = new AgentFunction(this, agent.id, { ...common, settings: agentSettingsFor(team, agent.id, functionArnOf) });
    }

    this.agents = agents;
    this.functions = Object.fromEntries(Object.entries(agents).map(([agentId, agent]) => [agentId, agent.function]));
    this.stateMachine = new TeamStateMachine(this, 'StateMachine', {
      team,
      functions: this.functions,
      controlFunctions,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    }).stateMachine;
  }
}
