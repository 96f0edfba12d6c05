/**
 * The Legion stack: a stack that holds one {@link Legion} and the teams it is given (this
 * repository's CDK app deploys the teams the `legion:teams` context names into one).
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import type { TeamDefinition } from '../functions/core/team.ts';
import type { ApprovalKeeper } from './approval-keeper.ts';
import type { ApprovalNotifications } from './approval-notifications.ts';
import type { CheckpointTable } from './checkpoint-table.ts';
import type { ControlFunctions } from './control-functions.ts';
import type { EventTriggers } from './event-triggers.ts';
import { Legion, type LegionProps, type TeamConstruct } from './legion.ts';
import type { LegionAlarms } from './legion-alarms.ts';
import type { LegionDashboard } from './legion-dashboard.ts';

export type { TeamConstruct } from './legion.ts';

export interface LegionStackProps extends StackProps, Omit<LegionProps, 'teams'> {
  /** The teams to deploy: one state machine per team, one Lambda function per agent role (more with {@link LegionTeam}). */
  readonly teams: TeamDefinition[];
}

/**
 * A stack holding one {@link Legion} with the teams given; {@link LegionTeam} adds more. Its
 * resources and outputs are those of the Legion (whose construct id, `Default`, logical ids leave
 * out: they are the same as when the stack built them itself).
 *
 * @example
 * ```ts
 * const app = new App();
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * new LegionStack(app, 'Legion', { teams: [team], modelProvider: 'scripted' });
 * ```
 */
export class LegionStack extends Stack {
  /** The Legion of this stack. */
  public readonly legion: Legion;

  public constructor(scope: Construct, id: string, props: LegionStackProps) {
    super(scope, id, props);
    // The stack's own props (env, description...) mean nothing to the Legion, which reads its own keys only.
    this.legion = new Legion(this, 'Default', props);
  }

  /** The checkpoint table. */
  public get checkpoints(): CheckpointTable {
    return this.legion.checkpoints;
  }

  /** The functions every team's state machine calls besides its agents (begin-task, ...). */
  public get control(): ControlFunctions {
    return this.legion.control;
  }

  /** The Legion event bus. */
  public get bus(): events.EventBus {
    return this.legion.bus;
  }

  /** The construct of each team, by team name (sub-teams and teams added by {@link LegionTeam} included). */
  public get teams(): Record<string, TeamConstruct> {
    return this.legion.teams;
  }

  /** The RunRequested rules and the outcome publisher. */
  public get events(): EventTriggers {
    return this.legion.events;
  }

  /** The topic told of every run that waits for a human. */
  public get approvals(): ApprovalNotifications {
    return this.legion.approvals;
  }

  /** The scheduled function that keeps waiting runs alive and enforces their deadline. */
  public get approvalKeeper(): ApprovalKeeper {
    return this.legion.approvalKeeper;
  }

  /** The CloudWatch alarms and the topic they notify. */
  public get alarms(): LegionAlarms {
    return this.legion.alarms;
  }

  /** The CloudWatch dashboard. */
  public get dashboard(): LegionDashboard {
    return this.legion.dashboard;
  }
}

