/**
 * The `hierarchical` pattern for one team: its strategic lead (whose roster lists the sub-teams'
 * state machine ARNs) and its state machine, which may start exactly the sub-teams' state machines
 * as nested executions (`states:startExecution.sync:2`) and nothing else.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { AgentTeam, type AgentTeamProps, requirePattern } from './agent-team.ts';

/** The EventBridge rule Step Functions manages to learn that a `.sync` child execution ended. */
export const SYNC_EXECUTION_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

/**
 * @example
 * ```ts
 * const market = new SupervisorWorkerTeam(this, 'Market', { team: marketTeam, ...common });
 * new HierarchicalTeam(this, 'Research', { team: hierarchy, ...common, subTeamStateMachines: { 'market-research': market.stateMachine } });
 * ```
 */
export class HierarchicalTeam extends AgentTeam {
  public constructor(scope: Construct, id: string, props: AgentTeamProps) {
    requirePattern(props.team, 'hierarchical');
    super(scope, id, props);
    const children = (props.team.subTeams ?? []).map((subTeam) => {
      const machine = props.subTeamStateMachines?.[subTeam.team];
      if (!machine) throw new Error(`Team "${props.team.name}": no state machine given for sub-team ${subTeam.id} (team ${subTeam.team})`);
      return machine;
    });
    for (const child of new Set(children)) {
      // StartExecution on the child machine only; .sync:2 also polls and, when the parent stops, stops the child execution.
      child.grantStartExecution(this.stateMachine);
      child.grantExecution(this.stateMachine, 'states:DescribeExecution', 'states:StopExecution');
      this.acknowledgeChildExecutions(child);
    }
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [Stack.of(this).formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EXECUTION_RULE })],
      }),
    );
  }

  /** Execution names are chosen per start, so the grant on a child's executions must end in `*`. */
  private acknowledgeChildExecutions(child: sfn.IStateMachine): void {
    const cfn = child.node.defaultChild;
    if (!(cfn instanceof sfn.CfnStateMachine)) return;
    const logicalId = Stack.of(child).getLogicalId(cfn);
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}:*]`,
      reason: 'DescribeExecution and StopExecution on the executions of one sub-team state machine: execution names are unique per start, so they end in a wildcard.',
    });
  }
}
