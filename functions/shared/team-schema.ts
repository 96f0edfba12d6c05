/**
 * The schema of team definitions, apart from the code that reads them from files, so that agent
 * functions can validate their settings without bundling the YAML parser and file loaders.
 *
 * @example
 * ```ts
 * const agent = AgentDefinitionSchema.parse({ id: 'billing', role: 'worker', ... });
 * ```
 */
import { z } from 'zod';
import { DEFAULT_MAX_ROLLBACKS, MODEL_TIERS, PATTERN_NAMES } from './contract.ts';
import { TeamDefinitionError } from './errors.ts';

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
    /** Travels in the function's environment (4 KB in all), hence the cap. */
    systemPrompt: z.string().min(1).max(2000),
    modelTier: z.enum(MODEL_TIERS).default('fast'),
    /** Tokens this agent may spend per task. */
    tokenBudget: z.number().int().positive().default(4000),
    tools: z.array(z.string()).default([]),
    memoryMb: z.number().int().min(128).max(10240).default(512),
    /** Must stay below the 120 s `TimeoutSeconds` of the pattern's Task states. */
    timeoutSeconds: z.number().int().min(1).max(110).default(30),
    /** Reserved concurrency of the agent's Lambda; unset leaves it on the account's pool. */
    reservedConcurrency: z.number().int().min(1).optional(),
    /** Answer template of the deterministic scripted model (offline only); `{request}` is replaced. */
    scriptedReply: z.string().optional(),
  })
  .strict();
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;

/** Limits every pattern has. */
const commonLimits = {
  /** Automatic rollbacks (after a step's output fails its consistency check) before the run is escalated. */
  maxRollbacks: z.number().int().min(0).max(10).default(DEFAULT_MAX_ROLLBACKS),
};

const SupervisorWorkerLimitsSchema = z
  .object({
    ...commonLimits,
    /** Workers that may run at the same time for one request (Map `MaxConcurrency`). */
    maxParallelWorkers: z.number().int().min(1).max(40).default(10),
  })
  .strict();

/** A team definition: which pattern, which agents, and the limits of the pattern. */
export const TeamDefinitionSchema = z
  .object({
    name: identifier,
    pattern: z.enum(PATTERN_NAMES),
    description: z.string().min(1),
    agents: z.array(AgentDefinitionSchema).min(1),
    limits: SupervisorWorkerLimitsSchema.prefault({}),
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
