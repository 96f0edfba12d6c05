/**
 * A team in AWS, whatever its pattern: one Lambda function per agent role and the team's state
 * machine. Each pattern's construct is an AgentTeam that checks its pattern (and may add grants).
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ControlFunctionName } from '../functions/core/contract.ts';
import { agentSettingsFor } from '../functions/core/agent-settings.ts';
import type { PatternName } from '../functions/core/contract.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import { AgentFunction, type AgentFunctionOptions } from './agent-function.ts';
import { TeamStateMachine } from './team-state-machine.ts';

/** Props of a team: the options of its agent functions (log options also apply to its state machine). */
export interface AgentTeamProps extends AgentFunctionOptions {
  /** The team definition to deploy. */
  readonly team: TeamDefinition;
  /**
   * The state machine logs each state's input and output with its events (`includeExecutionData`).
   * They hold customer text, prompts and answers: off by default, for debugging.
   *
   * @default false
   */
  readonly logExecutionData?: boolean;
  /** The checkpoint table the agents write to. */
  readonly table: dynamodb.ITable;
  /** The stack's control functions, which the team's state machine also invokes. */
  readonly controlFunctions: Record<ControlFunctionName, lambda.IFunction>;
  /**
   * hierarchical: the deployed state machine of each team the sub-teams name, by team name. The
   * lead's roster lists their ARNs, and the team's state machine may start exactly these.
   *
   * @default none
   */
  readonly subTeamStateMachines?: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * The Legion event bus. Required by auction teams: their state machine announces each round on
   * it and their bidders bid on it. Other patterns ignore it.
   *
   * @default none
   */
  readonly eventBus?: events.IEventBus;
}

/**
 * One team: an {@link AgentFunction} per agent (agents with a roster, i.e. supervisors, last, since
 * their roster lists the others' function ARNs), then a {@link TeamStateMachine} that may invoke
 * all of them and the control functions of the team's pattern.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * const telecom = new AgentTeam(this, 'Telecom', { team, table: checkpoints.table, controlFunctions: control.functions });
 * telecom.functions.billing; // the billing worker's Lambda
 * ```
 */
export class AgentTeam extends Construct {
  /** The team definition deployed. */
  public readonly team: TeamDefinition;
  /** The agent constructs (function, role, log group), by agent id. */
  public readonly agents: Record<string, AgentFunction>;
  /** The Lambda function of each agent, by agent id. */
  public readonly functions: Record<string, lambda.IFunction>;
  /** The team's state machine. */
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: AgentTeamProps) {
    super(scope, id);
    const { team, controlFunctions, subTeamStateMachines = {}, eventBus, ...common } = props;
    this.team = team;

    const agents: Record<string, AgentFunction> = {};
    const functionArnOf = (agentId: string): string => {
      const agent = agents[agentId];
      if (!agent) throw new Error(`Team "${team.name}": agent "${agentId}" has no function yet`);
      return agent.function.functionArn;
    };
    const stateMachineArnOf = (teamName: string): string => {
      const machine = subTeamStateMachines[teamName];
      if (!machine) throw new Error(`Team "${team.name}": sub-team "${teamName}" has no state machine (deploy it before its parent)`);
      return machine.stateMachineArn;
    };
    const rosterLast = [...team.agents].sort((a, b) => Number(a.role === 'supervisor') - Number(b.role === 'supervisor'));
    for (const agent of rosterLast) {
      agents[agent.id] = new AgentFunction(this, agent.id, { ...common, settings: agentSettingsFor(team, agent.id, functionArnOf, stateMachineArnOf) });
    }

    // Agents that report detections themselves (deadlocks, tool call loops) announce them on the bus.
    if (eventBus) for (const agent of team.agents.filter((candidate) => candidate.resources.length > 0 || candidate.tools.length > 0)) agents[agent.id]?.putsEventsOn(eventBus);
    this.agents = agents;
    this.functions = Object.fromEntries(Object.entries(agents).map(([agentId, agent]) => [agentId, agent.function]));
    this.stateMachine = new TeamStateMachine(this, 'StateMachine', {
      team,
      functions: this.functions,
      controlFunctions,
      eventBus,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      logExecutionData: props.logExecutionData,
    }).stateMachine;
  }
}

/** Fails synth early when a pattern's construct is given another pattern's team. */
export function requirePattern(team: TeamDefinition, pattern: PatternName): void {
  const actual: string = team.pattern;
  if (actual !== pattern) throw new Error(`Team "${team.name}" has pattern "${actual}", not "${pattern}"`);
}
