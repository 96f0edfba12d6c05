/**
 * The state machine of one team: the generic ASL file of the team's pattern, filled with the team
 * through the same `substitutions()` the local runtime applies.
 */
import { readFileSync } from 'node:fs';
import { Aws, Fn, Names, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PATTERNS, placeholdersIn } from '../functions/patterns/index.ts';
import type { ControlFunctionName } from '../functions/core/contract.ts';
import type { TeamDefinition } from '../functions/core/team.ts';

export interface TeamStateMachineProps {
  /** The team; its pattern names the ASL file. */
  readonly team: TeamDefinition;
  /** The deployed function of every agent of the team, by agent id. The state machine may invoke each. */
  readonly functions: Record<string, lambda.IFunction>;
  /**
   * The stack's control functions (begin-task, ...). The state machine may invoke those its
   * pattern's spec names (`PatternSpec.controlFunctions`), and no other.
   */
  readonly controlFunctions: Record<ControlFunctionName, lambda.IFunction>;
  /**
   * The Legion event bus. An auction team's state machine announces its rounds on it (and may put
   * events on it, nowhere else); other patterns do not use it.
   *
   * @default none (synth fails for an auction team)
   */
  readonly eventBus?: events.IEventBus;
  /**
   * How long execution logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Log each state's input and output (`includeExecutionData`): customer text, prompts, answers.
   *
   * @default false
   */
  readonly logExecutionData?: boolean;
}

/**
 * A STANDARD Step Functions state machine for one team, defined by `statemachines/<pattern>.asl.json`
 * (`DefinitionBody.fromFile` with `definitionSubstitutions` from `PATTERNS[pattern].substitutions`),
 * logging ALL events (with execution data only when `logExecutionData` is on) to its own log group, with X-Ray tracing, and allowed to
 * invoke exactly the team's agent functions and its pattern's control functions (their unqualified
 * ARNs); an auction team's machine may also put events on the Legion event bus.
 *
 * Synth fails if the ASL file has a `${Name}` the pattern does not substitute, or the reverse.
 *
 * @example
 * ```ts
 * const machine = new TeamStateMachine(this, 'StateMachine', {
 *   team,
 *   functions: { supervisor: supervisorFn, billing: billingFn },
 * });
 * new CfnOutput(this, 'Arn', { value: machine.stateMachine.stateMachineArn });
 * ```
 */
export class TeamStateMachine extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** Its execution log group. */
  public readonly logGroup: logs.LogGroup;

  public constructor(scope: Construct, id: string, props: TeamStateMachineProps) {
    super(scope, id);
    const { team, functions, eventBus } = props;
    const spec = PATTERNS[team.pattern];
    const controlFunctions = controlFunctionsOf(team, props.controlFunctions);
    const substitutions = spec.substitutions(team, {
      agent: (agentId) => {
        const fn = functions[agentId];
        if (!fn) throw new Error(`Team "${team.name}": no function given for agent "${agentId}"`);
        return fn.functionArn;
      },
      control: (name) => {
        // An ARN the machine could not invoke would fail at run time; fail synth instead.
        const fn = controlFunctions[name];
        if (!fn) throw new Error(`Team "${team.name}": pattern ${team.pattern} uses control function ${name} but its spec does not list it in controlFunctions`);
        return fn.functionArn;
      },
      eventBusName: eventBus?.eventBusName,
    });
    assertSubstitutionsMatch(team.name, spec.aslFile, substitutions);

    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch's log resource policy from growing per machine.
      // The stack's UUID ends the name, so a retained group never blocks re-creating the stack.
      logGroupName: `/aws/vendedlogs/states/${Names.uniqueResourceName(this, { maxLength: 400 })}-${stackUuid}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: `Legion ${team.pattern} team ${team.name}`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(spec.aslFile),
      definitionSubstitutions: substitutions,
      // Every event, but not the states' input and output (customer text, prompts) unless asked for.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: props.logExecutionData ?? false },
      tracingEnabled: true,
    });

    // The ASL invokes the unqualified ARNs, so no grant on versions or aliases (`<arn>:*`) is needed.
    for (const fn of [...Object.values(functions), ...Object.values(controlFunctions)]) fn.grantInvokeLatestVersion(this.stateMachine);
    // The auction's announcement is an events:putEvents Task on this bus (the substitutions above
    // already failed if an auction team has no bus).
    if (team.pattern === 'auction') eventBus?.grantPutEventsTo(this.stateMachine);

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:CreateLogDelivery, ...) and X-Ray actions support no resource-level permissions; CDK adds them for logging and tracing.',
    });
  }
}

/** The control functions the team's pattern invokes, and only those (each must be given). */
function controlFunctionsOf(
  team: TeamDefinition,
  given: Record<ControlFunctionName, lambda.IFunction>,
): Partial<Record<ControlFunctionName, lambda.IFunction>> {
  return Object.fromEntries(
    PATTERNS[team.pattern].controlFunctions.map((name) => {
      // A caller may hand over an incomplete record (through a cast): name what is missing.
      const fn = (given as Partial<Record<ControlFunctionName, lambda.IFunction>>)[name];
      if (!fn) throw new Error(`Team "${team.name}": no control function given for ${name}`);
      return [name, fn];
    }),
  );
}

function assertSubstitutionsMatch(teamName: string, aslFile: string, substitutions: Record<string, string>): void {
  const placeholders = placeholdersIn(readFileSync(aslFile, 'utf8'));
  const provided = Object.keys(substitutions).sort();
  const missing = placeholders.filter((name) => !provided.includes(name));
  const unused = provided.filter((name) => !placeholders.includes(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `Team "${teamName}": ${aslFile} and its pattern's substitutions disagree` +
        (missing.length > 0 ? `; no value for ${missing.map((n) => `\${${n}}`).join(', ')}` : '') +
        (unused.length > 0 ? `; no placeholder for ${unused.join(', ')}` : ''),
    );
  }
}
