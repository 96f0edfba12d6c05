/**
 * One team, deployed into a Legion: into a {@link LegionStack}, or into a stack of your own (which
 * gets a {@link Legion} of its own with the first team).
 */
import { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { loadTeamFile, parseTeam, type TeamDefinition, type TeamDefinitionInput } from '../functions/core/team.ts';
import { Legion, type TeamConstruct } from './legion.ts';

export interface LegionTeamProps {
  /**
   * The team: a definition loaded from a file (`loadTeamFile`, or {@link LegionTeam.fromFile}), or
   * written in TypeScript (the fields with defaults may be left out). It is validated here: a bad
   * definition fails synth, naming each problem and its path.
   */
  readonly team: TeamDefinitionInput;
  /**
   * The Legion to deploy into; it must be in the same stack.
   *
   * @default the Legion of this construct's stack (a LegionStack's), else a new one in that stack, with id `Legion` and the `legion:*` context's settings
   */
  readonly legion?: Legion;
}

/**
 * Deploys one team (and the sub-teams of a hierarchical team) into a Legion: its agents' functions,
 * its state machine, its RunRequested rule, and its place in the approval keeper, the alarms and the
 * dashboard. The constructs of the team go under this one.
 *
 * @example
 * ```ts
 * // In a stack of your own: the first team brings a Legion (table, bus, alarms...) into the stack.
 * const helpdesk = await LegionTeam.fromFile(this, 'Helpdesk', 'teams/helpdesk.yaml');
 * helpdesk.stateMachine.grantStartExecution(myApiFunction);
 *
 * // A team written in TypeScript, into an existing LegionStack.
 * new LegionTeam(legionStack, 'Triage', { team: { name: 'triage', pattern: 'pipeline', description: '...', agents: [...] } });
 * ```
 */
export class LegionTeam extends Construct {
  /**
   * A team from its definition file (`.yaml`, `.json`, or a `.ts`/`.js` module; a hierarchical
   * team's sub-teams are loaded with it).
   *
   * @throws {TeamDefinitionError} naming the file and each problem
   */
  public static async fromFile(scope: Construct, id: string, file: string, props: Omit<LegionTeamProps, 'team'> = {}): Promise<LegionTeam> {
    return new LegionTeam(scope, id, { ...props, team: await loadTeamFile(file) });
  }

  /** The Legion the team is deployed into. */
  public readonly legion: Legion;
  /** The validated definition deployed. */
  public readonly definition: TeamDefinition;
  /** The construct of the team's pattern: its agents, their functions, its state machine. */
  public readonly team: TeamConstruct;
  /** The team's state machine: start it (`grantStartExecution`) or put RunRequested events on `legion.bus`. */
  public readonly stateMachine: sfn.StateMachine;
  /** The Lambda function of each agent, by agent id. */
  public readonly functions: Record<string, lambda.IFunction>;

  public constructor(scope: Construct, id: string, props: LegionTeamProps) {
    super(scope, id);
    this.definition = validated(props.team, this.node.path);
    this.legion = props.legion ?? Legion.of(this) ?? newLegion(Stack.of(this));
    this.team = this.legion.addTeam(this.definition, this);
    this.stateMachine = this.team.stateMachine;
    this.functions = this.team.functions;
  }
}

/** The definition checked against the schema (defaults filled in), and each sub-team's likewise. */
function validated(team: TeamDefinitionInput, path: string): TeamDefinition {
  const { subTeamDefinitions, ...fields } = team;
  const parsed = parseTeam(fields, `the team of LegionTeam ${path}`);
  if (subTeamDefinitions === undefined) return parsed;
  const subTeams = Object.fromEntries(Object.entries(subTeamDefinitions).map(([name, definition]) => [name, validated(definition, `${path} (sub-team ${name})`)]));
  return { ...parsed, subTeamDefinitions: subTeams };
}

/** The Legion the first team of a stack brings, with the id the docs promise. */
function newLegion(stack: Stack): Legion {
  if (stack.node.tryFindChild(LEGION_ID)) {
    throw new Error(`Stack ${stack.node.path} has a construct "${LEGION_ID}" already, which is not a Legion: create one with another id (new Legion(stack, 'Agents')) and give it to LegionTeam as legion`);
  }
  return new Legion(stack, LEGION_ID);
}

const LEGION_ID = 'Legion';
