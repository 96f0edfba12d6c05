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
import { AGENT_ROLES, type AgentRole, DEFAULT_MAX_ROLLBACKS, DEFAULT_TASK_TOKEN_BUDGET, MODEL_TIERS, PATTERN_NAMES, PATTERN_ROLES, type PatternName } from './contract.ts';
import { TeamDefinitionError } from './errors.ts';

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes, starting with a letter (max 40)');

/** The longest system prompt: far more than a prompt needs, far less than a bundle or a model's context could take. */
export const MAX_SYSTEM_PROMPT_CHARS = 50_000;

/** Tool names as the model APIs accept them (Bedrock and OpenAI: letters, digits, `_` and `-`, up to 64). */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const toolName = z.string().regex(TOOL_NAME_PATTERN, 'must be 1-64 letters, digits, _ or -');

/** A Lambda function's ARN, unqualified or with a version or alias. */
const LAMBDA_FUNCTION_ARN_PATTERN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/;

/**
 * Where an agent's tools come from: a module of the user's (its path relative to the team file;
 * the export, default `default`, is one `defineTool(...)` or a list of them), an MCP server
 * (a stdio command, or a streamable HTTP URL), whose listed tools the agent may use: all, or
 * those `include` names, or a Lambda function, described here as the model sees it (the function
 * only answers calls).
 */
export const ToolSourceSchema = z.union([
  z
    .object({
      module: z.string().min(1).max(500),
      export: z.string().regex(/^[A-Za-z_$][\w$]*$/, 'must be a JavaScript export name').optional(),
    })
    .strict(),
  z
    .object({
      mcp: z.union([
        z
          .object({
            command: z.string().min(1),
            args: z.array(z.string()).default([]),
            env: z.record(z.string(), z.string()).optional(),
            cwd: z.string().min(1).optional(),
          })
          .strict(),
        z.object({ url: z.url({ protocol: /^https?$/ }) }).strict(),
      ]),
      include: z.array(toolName).min(1).optional(),
    })
    .strict(),
  z
    .object({
      lambda: z.string().regex(LAMBDA_FUNCTION_ARN_PATTERN, 'must be a Lambda function ARN: arn:aws:lambda:<region>:<account>:function:<name>[:<alias or version>]'),
      name: toolName,
      description: z.string().min(1).max(10_000),
      inputSchema: z.record(z.string(), z.unknown()).refine((schema) => schema.type === 'object', 'must be a JSON Schema of an object ({ type: object, properties: ... })'),
    })
    .strict(),
], { error: 'a tool is { module: ./path.ts, export?: name }, { mcp: { command, args?, env?, cwd? } | { url: http(s)://... }, include?: [names] } or { lambda: <function ARN>, name, description, inputSchema }' });
export type ToolSource = z.infer<typeof ToolSourceSchema>;

/** One agent role of a team. Each role becomes its own Lambda function in AWS. */
export const AgentDefinitionSchema = z
  .object({
    id: identifier,
    /** The part this agent plays in its pattern (PATTERN_ROLES says which roles a pattern has). */
    role: z.enum(AGENT_ROLES),
    /** What the agent is good at, in prose: shown to the model that routes work. */
    description: z.string().min(1),
    /** Topics the agent handles. The scripted model classifies by these keywords. */
    capabilities: z.array(z.string().min(1)).min(1),
    /**
     * Up to 2,000 characters travel in the function's environment (4 KB in all); a longer prompt is
     * bundled with the function's code (lib/agent-function.ts).
     */
    systemPrompt: z.string().min(1).max(MAX_SYSTEM_PROMPT_CHARS),
    modelTier: z.enum(MODEL_TIERS).default('fast'),
    /**
     * This agent's own model instead of its tier's: a Bedrock model or inference profile id (or ARN),
     * or the model name on an OpenAI-compatible server. The scripted model ignores it.
     */
    model: z.string().min(1).max(256).regex(/^\S+$/, 'must be one model id, without spaces').optional(),
    /** Tokens this agent may spend per task. */
    tokenBudget: z.number().int().positive().default(4000),
    /**
     * A module of one's own (relative to the team file) whose default export,
     * `defineAgentHandler({ <step>: ... })`, runs those steps instead of the generic model-driven ones.
     */
    handler: z.string().min(1).max(500).optional(),
    /** Tools the agent's model may call (see ToolSourceSchema). */
    tools: z.array(ToolSourceSchema).max(20).default([]),
    /**
     * peer-to-peer verifier: one of its tools whose answer is the source of truth for the claims it
     * verifies, instead of the input's `facts`. It is called with `{ facts: [the fact names the
     * answer cites] }` and returns a JSON object of the facts it knows (`{ "readsPerSecond": 1200 }`).
     */
    factsTool: toolName.optional(),
    /** Tool calls one step may make; the model is then told to answer without more. */
    maxToolCalls: z.number().int().min(1).max(50).default(8),
    /** Seconds one tool call may take before it is abandoned and reported to the model as a tool error. */
    toolTimeoutSeconds: z.number().int().min(1).max(100).default(10),
    memoryMb: z.number().int().min(128).max(10240).default(512),
    /** Must stay below the 120 s `TimeoutSeconds` of the pattern's Task states. */
    timeoutSeconds: z.number().int().min(1).max(110).default(30),
    /** auction bidder: awarded tasks it will hold at once; with that many in hand it does not bid. Default 1 (DEFAULT_BIDDER_CAPACITY). */
    capacity: z.number().int().min(1).max(100).optional(),
    /** Rank for the conflict rule that ends a loop between two agents (higher wins). Default by role: supervisor and lead 3, verifier 2, others 1. */
    rank: z.number().int().min(1).max(10).optional(),
    /** Reserved concurrency of the agent's Lambda; unset leaves it on the account's pool. */
    reservedConcurrency: z.number().int().min(1).optional(),
    /** Answer template of the deterministic scripted model (offline only); `{request}` is replaced. */
    scriptedReply: z.string().optional(),
    /**
     * Shared resources the agent takes a lease on, in this order, for each of its steps (e.g. a
     * database lock or a verification key), released when the step ends. The tasks of a team share
     * them (one pool per team), so two steps that list the same resources in opposite orders can
     * deadlock: the youngest step then releases its leases and retries (docs/failure-modes.md).
     */
    resources: z
      .array(identifier)
      .max(10)
      .refine((names) => new Set(names).size === names.length, 'must not name a resource twice')
      .default([]),
  })
  .strict();
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;

/** Limits every pattern has. */
const commonLimits = {
  /** Automatic rollbacks (after a step's output fails its consistency check) before the run is escalated. */
  maxRollbacks: z.number().int().min(0).max(10).default(DEFAULT_MAX_ROLLBACKS),
};

/**
 * The limits of every pattern, in one object: each pattern reads its own and ignores the rest,
 * so one schema serves every team and every limit has one documented default.
 */
const LimitsSchema = z
  .object({
    ...commonLimits,
    /** supervisor-worker: workers that may run at the same time for one request (Map `MaxConcurrency`). */
    maxParallelWorkers: z.number().int().min(1).max(40).default(10),
    /** pipeline: hand-backs (a stage returning its input to the stage before) per run; reaching it escalates to a human. */
    maxHandBacks: z.number().int().min(1).max(10).default(4),
    /** pipeline: attempts of one stage before the validation gate fails the run. */
    maxStageAttempts: z.number().int().min(1).max(5).default(2),
    /** hierarchical: levels of nested team executions below the strategic lead. */
    maxDepth: z.number().int().min(1).max(4).default(2),
    /** hierarchical: sub-goals one lead may hand out. */
    maxFanOut: z.number().int().min(1).max(10).default(4),
    /** peer-to-peer: propose/critique rounds before negotiation ends without agreement. */
    maxRounds: z.number().int().min(1).max(10).default(3),
    /** peer-to-peer: share of the peers that must support a proposal for agreement. */
    quorum: z.number().min(0.5).max(1).default(2 / 3),
    /** Tokens all agents together may spend on one task (each agent also has its own `tokenBudget`). */
    taskTokenBudget: z.number().int().min(100).max(10_000_000).default(DEFAULT_TASK_TOKEN_BUDGET),
    /** auction: seconds bidders have to answer the first announcement (each re-announcement doubles it). */
    bidWindowSeconds: z.number().int().min(1).max(300).default(30),
    /** auction: announcements (the first and the re-announcements) before a task without valid bids is escalated. */
    maxAuctionRounds: z.number().int().min(1).max(5).default(3),
    /** auction: awards per task (the winner, then runners-up as each fails) before it is escalated. */
    maxAwards: z.number().int().min(1).max(5).default(2),
  })
  .strict();
export type TeamLimits = z.infer<typeof LimitsSchema>;

/**
 * hierarchical: a team the strategic lead may hand a sub-goal to. `team` names another team
 * definition (any pattern); the loader finds it as `<team>.yaml` next to this file, and CDK deploys
 * it once as its own state machine.
 */
export const SubTeamSchema = z
  .object({
    id: identifier,
    team: identifier,
    /** What the sub-team is good at, in prose: shown to the lead's model when it plans. */
    description: z.string().min(1),
    capabilities: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type SubTeam = z.infer<typeof SubTeamSchema>;

/** A team definition: which pattern, which agents, and the limits of the pattern. */
export const TeamDefinitionSchema = z
  .object({
    name: identifier,
    pattern: z.enum(PATTERN_NAMES),
    description: z.string().min(1),
    agents: z.array(AgentDefinitionSchema).min(1),
    limits: LimitsSchema.prefault({}),
    /** supervisor-worker: the answer given when the supervisor cannot match a request to any worker. */
    fallbackAnswer: z.string().min(1).optional(),
    /** hierarchical: the teams the lead delegates sub-goals to, each run as a nested execution. */
    subTeams: z.array(SubTeamSchema).min(1).optional(),
    /** The input `legion run` uses when none is given (`--input`, `--input-file`, an event). @default none */
    example: z.record(z.string(), z.unknown()).optional(),
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
    for (const message of roleProblems(team.pattern, team.agents)) ctx.addIssue({ code: 'custom', path: ['agents'], message });
    if (team.agents.some((agent) => agent.role === 'supervisor') && !team.fallbackAnswer) {
      ctx.addIssue({ code: 'custom', path: ['fallbackAnswer'], message: 'a team with a supervisor needs a fallbackAnswer' });
    }
    for (const message of subTeamProblems(team)) ctx.addIssue({ code: 'custom', path: ['subTeams'], message });
  });

/**
 * A validated team definition. `subTeamDefinitions` is not written in the file: the loader fills it
 * with the definitions the `subTeams` name (by team name), so CDK and the local runtime can deploy
 * and run the nested teams.
 */
export type TeamDefinition = z.infer<typeof TeamDefinitionSchema> & {
  subTeamDefinitions?: Readonly<Record<string, TeamDefinition>>;
};

/** Sub-teams belong to hierarchical teams only, each id once, and a team never names itself. */
function subTeamProblems(team: { name: string; pattern: PatternName; subTeams?: SubTeam[] | undefined }): string[] {
  const subTeams = team.subTeams ?? [];
  if (team.pattern !== 'hierarchical') return subTeams.length > 0 ? [`a ${team.pattern} team has no subTeams`] : [];
  const problems = subTeams.length === 0 ? ['a hierarchical team needs at least one sub-team'] : [];
  const ids = subTeams.map((subTeam) => subTeam.id);
  problems.push(...ids.filter((id, index) => ids.indexOf(id) !== index).map((id) => `duplicate sub-team id "${id}"`));
  if (subTeams.some((subTeam) => subTeam.team === team.name)) problems.push(`team ${team.name} names itself as a sub-team`);
  return problems;
}

const agentCount = (n: number): string => `${n} agent${n === 1 ? '' : 's'}`;

/** What is wrong with the roles of a team's agents for its pattern (PATTERN_ROLES). */
function roleProblems(pattern: PatternName, agents: readonly AgentDefinition[]): string[] {
  const counts = PATTERN_ROLES[pattern];
  const problems = agents
    .filter((agent) => !(agent.role in counts))
    .map((agent) => `agent ${agent.id}: a ${pattern} team has no role "${agent.role}" (roles: ${Object.keys(counts).join(', ')})`);
  for (const [role, count] of Object.entries(counts)) {
    const found = agents.filter((agent) => agent.role === role).length;
    const expected =
      count.max === count.min ? `exactly ${agentCount(count.min)}` : count.max === undefined ? `at least ${agentCount(count.min)}` : `${count.min} to ${agentCount(count.max)}`;
    if (found < count.min || (count.max !== undefined && found > count.max)) problems.push(`needs ${expected} with role "${role}", found ${found}`);
  }
  return problems;
}

/** The agents of a team with one role, in definition order. */
export function agentsWithRole(team: TeamDefinition, role: AgentRole): AgentDefinition[] {
  return team.agents.filter((agent) => agent.role === role);
}

/** The supervisor of a supervisor/worker team. */
export function supervisorOf(team: TeamDefinition): AgentDefinition {
  const supervisor = team.agents.find((agent) => agent.role === 'supervisor');
  if (!supervisor) throw new TeamDefinitionError(team.name, ['no supervisor']);
  return supervisor;
}

/**
 * The verifier of a team (pipeline: runs the gate; peer-to-peer: tallies and verifies; auction:
 * checks the winner's result).
 *
 * @example
 * ```ts
 * verifierOf(team).id; // 'quality-gate'
 * ```
 */
export function verifierOf(team: TeamDefinition): AgentDefinition {
  const [verifier] = agentsWithRole(team, 'verifier');
  if (!verifier) throw new TeamDefinitionError(team.name, ['no verifier']);
  return verifier;
}

/** The strategic lead of a hierarchical team. */
export function leadOf(team: TeamDefinition): AgentDefinition {
  const lead = team.agents.find((agent) => agent.role === 'lead');
  if (!lead) throw new TeamDefinitionError(team.name, ['no lead']);
  return lead;
}

/**
 * Every team to deploy: the given ones and, recursively, the sub-teams they name, each once and
 * after the sub-teams it names (a parent's grant needs its children's state machines).
 *
 * @throws {TeamDefinitionError} when two different definitions share a name, or teams name each other in a cycle
 * @example
 * ```ts
 * teamsInDeployOrder([hierarchy]).map((team) => team.name); // ['market-research', 'technical-research', 'research-hierarchy']
 * ```
 */
export function teamsInDeployOrder(teams: readonly TeamDefinition[]): TeamDefinition[] {
  const ordered = new Map<string, TeamDefinition>();
  const visit = (team: TeamDefinition, path: readonly string[]): void => {
    if (path.includes(team.name)) throw new TeamDefinitionError(team.name, [`sub-teams form a cycle: ${[...path, team.name].join(' -> ')}`]);
    const known = ordered.get(team.name);
    if (known) {
      if (!sameTeamDefinition(known, team)) {
        throw new TeamDefinitionError(team.name, ['two different team definitions have this name']);
      }
      return;
    }
    for (const subTeam of team.subTeams ?? []) {
      const definition = team.subTeamDefinitions?.[subTeam.team];
      if (!definition) throw new TeamDefinitionError(team.name, [`sub-team ${subTeam.id}: definition of team ${subTeam.team} not loaded`]);
      visit(definition, [...path, team.name]);
    }
    ordered.set(team.name, team);
  };
  for (const team of teams) visit(team, []);
  return [...ordered.values()];
}

/** Whether two definitions of a team are the same (as written: the sub-teams a loader resolved aside). */
export function sameTeamDefinition(a: TeamDefinition, b: TeamDefinition): boolean {
  return JSON.stringify(withoutResolved(a)) === JSON.stringify(withoutResolved(b));
}

function withoutResolved(team: TeamDefinition): Omit<TeamDefinition, 'subTeamDefinitions'> {
  const { subTeamDefinitions: _resolved, ...definition } = team;
  return definition;
}

/** The workers of a supervisor/worker team, in definition order. */
export function workersOf(team: TeamDefinition): AgentDefinition[] {
  return team.agents.filter((agent) => agent.role === 'worker');
}

/**
 * A team definition as written (in TypeScript, or parsed from a file, before validation): the
 * fields with defaults may be left out. `parseTeam` turns it into a {@link TeamDefinition}.
 */
export type TeamDefinitionInput = z.input<typeof TeamDefinitionSchema> & {
  subTeamDefinitions?: Readonly<Record<string, TeamDefinition>>;
};
