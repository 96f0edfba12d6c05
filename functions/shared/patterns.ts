/**
 * What CDK and the local runtime both need to know about each pattern: its ASL file, the input it
 * accepts, its example team, and the definition substitutions that fill the generic ASL with a
 * team. Both sides call `substitutions()`, so the deployed and the local machine cannot drift.
 *
 * @example
 * ```ts
 * const spec = PATTERNS['supervisor-worker'];
 * const values = spec.substitutions(team, { agent: (id) => agentArns[id], control: (name) => controlArns[name] });
 * ```
 */
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { SupervisorWorkerInputSchema } from './agent-contract.ts';
import type { ControlFunctionName, PatternName } from './contract.ts';
import { type TeamDefinition, supervisorOf } from './team-schema.ts';

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
}

const repoFile = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

export const PATTERNS: Record<PatternName, PatternSpec> = {
  'supervisor-worker': {
    name: 'supervisor-worker',
    summary: 'A supervisor classifies the request, matching workers answer in parallel, the supervisor synthesises one reply.',
    aslFile: repoFile('statemachines/supervisor-worker.asl.json'),
    exampleTeamFile: repoFile('teams/telecom-support.yaml'),
    inputSchema: SupervisorWorkerInputSchema,
    substitutions: (team, functionArnOf) => ({
      ...commonSubstitutions(team, functionArnOf),
      SupervisorFunctionArn: functionArnOf.agent(supervisorOf(team).id),
      MaxParallelWorkers: String(team.limits.maxParallelWorkers),
    }),
    aslRules: {
      allowedChoiceVariables: ['$.supervisor.plan.route'],
      // The supervisor handler copies the ARN from the deployed roster into each assignment.
      allowedFunctionNamePaths: ['$.assignment.functionArn'],
    },
  },
};

/** What every pattern's ASL uses: the control functions, the team's name and its common limits. */
export function commonSubstitutions(team: TeamDefinition, functionArnOf: FunctionArnLookup): Record<string, string> {
  return {
    BeginTaskFunctionArn: functionArnOf.control('begin-task'),
    RollbackTaskFunctionArn: functionArnOf.control('rollback-task'),
    TeamName: team.name,
    MaxRollbacks: String(team.limits.maxRollbacks),
  };
}

/** Finds every `${Name}` placeholder in an ASL text. */
export function placeholdersIn(aslText: string): string[] {
  return [...new Set([...aslText.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] ?? ''))].sort();
}

/** Replaces every `${Name}` with its value, as CloudFormation's DefinitionSubstitutions does. */
export function applySubstitutions(aslText: string, values: Record<string, string>): string {
  return aslText.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => values[name] ?? placeholder);
}
