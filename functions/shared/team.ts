/**
 * Team definitions: the data a user writes to bring their own agents to a pattern without touching
 * ASL or runtime code. Validated with zod; every problem is reported with its path.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * team.agents.map((agent) => agent.id); // ['supervisor', 'billing', ...]
 * ```
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MODEL_TIERS, PATTERN_NAMES } from './contract.ts';
import { TeamDefinitionError, describeIssues } from './errors.ts';

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes, starting with a letter (max 40)');

/** One agent role of a team. Each role becomes its own Lambda function in AWS. */
export const AgentDefinitionSchema = z
  .object({
    id: identifier,
    /** The part this agent plays in its pattern (e.g. `supervisor` or `worker`). */
    role: z.enum(['supervisor', 'worker']),
    /** What the agent is good at, in prose: shown to the model that routes work. */
    description: z.string().min(1),
    /** Topics the agent handles. The scripted model classifies by these keywords. */
    capabilities: z.array(z.string().min(1)).min(1),
    systemPrompt: z.string().min(1),
    modelTier: z.enum(MODEL_TIERS).default('fast'),
    /** Tokens this agent may spend per task. */
    tokenBudget: z.number().int().positive().default(4000),
    tools: z.array(z.string()).default([]),
    memoryMb: z.number().int().min(128).max(10240).default(512),
    timeoutSeconds: z.number().int().min(1).max(900).default(30),
    /** Reserved concurrency of the agent's Lambda; unset leaves it on the account's pool. */
    reservedConcurrency: z.number().int().min(1).optional(),
    /** Answer template of the deterministic scripted model (offline only); `{request}` is replaced. */
    scriptedReply: z.string().optional(),
  })
  .strict();
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;

const SupervisorWorkerLimitsSchema = z
  .object({
    /** Workers that may run at the same time for one request (Map `MaxConcurrency`). */
    maxParallelWorkers: z.number().int().min(1).max(40).default(10),
    /** Seconds the whole run may take before Step Functions stops it. */
    executionTimeoutSeconds: z.number().int().min(10).max(86_400).default(900),
  })
  .strict();

/** A team definition: which pattern, which agents, and the limits of the pattern. */
export const TeamDefinitionSchema = z
  .object({
    name: identifier,
    pattern: z.enum(PATTERN_NAMES),
    description: z.string().min(1),
    agents: z.array(AgentDefinitionSchema).min(1),
    limits: SupervisorWorkerLimitsSchema.default({ maxParallelWorkers: 10, executionTimeoutSeconds: 900 }),
    /** Answer given when the supervisor cannot match a request to any worker. */
    fallbackAnswer: z.string().min(1),
    /** The input `legion run` uses when none is given. */
    example: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((team, ctx) => {
    const seen = new Set<string>();
    team.agents.forEach((agent, index) => {
      if (seen.has(agent.id)) {
        ctx.addIssue({ code: 'custom', path: ['agents', index, 'id'], message: `duplicate agent id "${agent.id}"` });
      }
      seen.add(agent.id);
    });
    const supervisors = team.agents.filter((agent) => agent.role === 'supervisor').length;
    if (supervisors !== 1) {
      ctx.addIssue({ code: 'custom', path: ['agents'], message: `needs exactly one agent with role "supervisor", found ${supervisors}` });
    }
    if (!team.agents.some((agent) => agent.role === 'worker')) {
      ctx.addIssue({ code: 'custom', path: ['agents'], message: 'needs at least one agent with role "worker"' });
    }
  });
export type TeamDefinition = z.infer<typeof TeamDefinitionSchema>;

/**
 * Validates a parsed team definition.
 *
 * @param value - the parsed YAML/JSON/TypeScript value
 * @param source - where it came from, quoted in errors
 * @throws {TeamDefinitionError} listing every problem with its path
 */
export function parseTeam(value: unknown, source: string): TeamDefinition {
  const parsed = TeamDefinitionSchema.safeParse(value);
  if (!parsed.success) throw new TeamDefinitionError(source, describeIssues(parsed.error.issues));
  return parsed.data;
}

/**
 * Reads and validates a team definition file: `.yaml`/`.yml`, `.json`, or a `.ts`/`.js` module
 * whose default export is the definition.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('teams/telecom-support.yaml');
 * ```
 */
export async function loadTeamFile(path: string): Promise<TeamDefinition> {
  const absolute = resolve(path);
  const extension = extname(absolute).toLowerCase();
  if (extension === '.ts' || extension === '.js' || extension === '.mjs') {
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
    } catch (error) {
      throw new TeamDefinitionError(path, [`cannot load module: ${(error as Error).message}`]);
    }
    return parseTeam(module.default, path);
  }
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new TeamDefinitionError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  return parseTeam(parseTeamText(text, path), path);
}

function parseTeamText(text: string, source: string): unknown {
  try {
    return parseYaml(text) as unknown; // YAML is a superset of JSON
  } catch (error) {
    throw new TeamDefinitionError(source, [`not valid YAML/JSON: ${(error as Error).message}`]);
  }
}

/** The supervisor of a supervisor/worker team. */
export function supervisorOf(team: TeamDefinition): AgentDefinition {
  const supervisor = team.agents.find((agent) => agent.role === 'supervisor');
  if (!supervisor) throw new TeamDefinitionError(team.name, ['no supervisor']);
  return supervisor;
}

/** The workers of a supervisor/worker team, in definition order. */
export function workersOf(team: TeamDefinition): AgentDefinition[] {
  return team.agents.filter((agent) => agent.role === 'worker');
}
