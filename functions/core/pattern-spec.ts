/**
 * What a pattern is, for CDK and the local runtime: the `PatternSpec` every
 * `functions/patterns/<name>/spec.ts` exports, and what all patterns' specs share.
 *
 * @example
 * ```ts
 * export const pipelinePattern: PatternSpec = {
 *   name: 'pipeline', summary: '...', aslFile: packageFile('statemachines/pipeline.asl.json'), ...,
 *   substitutions: (team, arns) => ({ ...commonSubstitutions(team, arns), Stages: '...' }),
 * };
 * ```
 */
import type { z } from 'zod';
import type { ControlFunctionName, PatternName } from './contract.ts';
import type { TeamDefinition } from './team-schema.ts';

export interface PatternSpec {
  name: PatternName;
  /** One line for `legion patterns` and the docs. */
  summary: string;
  /** Absolute path of `statemachines/<name>.asl.json`. */
  aslFile: string;
  /** Absolute path of the example team `legion run <pattern>` uses when no team is named. */
  exampleTeamFile: string;
  /** The execution input the pattern accepts. */
  inputSchema: z.ZodType;
  /** Values for every `${Name}` in the ASL file, given the deployed ARN of each agent and control function. */
  substitutions(team: TeamDefinition, functionArnOf: FunctionArnLookup): Record<string, string>;
  /** What the ASL may branch on and invoke; the ASL rule test holds the file to it. */
  aslRules: AslRules;
  /** The control functions its state machine invokes (CDK grants exactly these). */
  controlFunctions: readonly ControlFunctionName[];
}

/**
 * Choice states may read schema-validated enums (or counters the ASL keeps) only, never free model
 * output; a Lambda Task takes its function from a `${Placeholder}` or from one of these paths.
 */
export interface AslRules {
  allowedChoiceVariables: readonly string[];
  allowedFunctionNamePaths: readonly string[];
}

/** Where the deployed (or local) functions of a team are. */
export interface FunctionArnLookup {
  agent(agentId: string): string;
  control(name: ControlFunctionName): string;
  /** The Legion event bus (auction: the state machine announces on it). @default none */
  eventBusName?: string | undefined;
}

/** What every pattern's ASL uses: the control functions (begin, rollback, request-approval), the team's name and its common limits. */
export function commonSubstitutions(team: TeamDefinition, functionArnOf: FunctionArnLookup): Record<string, string> {
  return {
    BeginTaskFunctionArn: functionArnOf.control('begin-task'),
    RollbackTaskFunctionArn: functionArnOf.control('rollback-task'),
    RequestApprovalFunctionArn: functionArnOf.control('request-approval'),
    TeamName: team.name,
    MaxRollbacks: String(team.limits.maxRollbacks),
  };
}


/** What a pattern whose ASL records detections (RecordDetection states) adds to its substitutions. */
export function detectionSubstitutions(functionArnOf: FunctionArnLookup): Record<string, string> {
  return { RecordDetectionFunctionArn: functionArnOf.control('record-detection') };
}
