/**
 * The configuration of one agent function. In AWS it is read once from the environment that CDK
 * sets; the local runtime builds the same object straight from the team definition. Nothing else
 * in Legion reads `process.env`.
 *
 * @example
 * ```ts
 * const config = readAgentConfig(); // in a Lambda entry point
 * export const handler = createAgentHandler(config, createAgentDependencies(config));
 * ```
 */
import { z } from 'zod';
import { DEFAULT_MODEL_IDS, DEFAULT_PROGRESS_CHECKPOINT_SECONDS, ENV, MODEL_TIERS, PATTERN_NAMES } from './contract.ts';
import { BUNDLED_SYSTEM_PROMPT_MARKER, bundledSystemPrompt, bundledTools } from './bundled-modules.ts';
import { ConfigurationError, describeIssues } from './errors.ts';
import { AgentDefinitionSchema, type ToolSource } from './team-schema.ts';

/** A worker the supervisor may delegate to: its deployed function and what it is good at. */
export const RosterEntrySchema = z.object({
  id: z.string().min(1),
  description: z.string().min(1),
  capabilities: z.array(z.string()).min(1),
  functionArn: z.string().min(1),
});
export type RosterEntry = z.infer<typeof RosterEntrySchema>;

/** A sub-team a hierarchical lead may delegate to: its deployed state machine and what it is good at. */
export const TeamRosterEntrySchema = z.object({
  id: z.string().min(1),
  team: z.string().min(1),
  description: z.string().min(1),
  capabilities: z.array(z.string()).min(1),
  stateMachineArn: z.string().min(1),
});
export type TeamRosterEntry = z.infer<typeof TeamRosterEntrySchema>;

/** What CDK puts in the `LEGION_AGENT` variable: the agent and, for a supervisor, its workers (for a lead, its sub-teams). */
export const AgentSettingsSchema = z.object({
  team: z.string().min(1),
  /** The team's pattern (what the agent's detections report). */
  pattern: z.enum(PATTERN_NAMES),
  agent: AgentDefinitionSchema,
  roster: z.array(RosterEntrySchema).default([]),
  /** hierarchical lead only: the sub-teams, with the state machine ARNs from deployment, never from a model. */
  teams: z.array(TeamRosterEntrySchema).optional(),
  fallbackAnswer: z.string().default(''),
  /** The team's `limits.taskTokenBudget`: tokens all its agents may spend on one task. */
  taskTokenBudget: z.number().int().positive().optional(),
});
export type AgentSettings = z.infer<typeof AgentSettingsSchema>;

/** The model providers an agent may use. */
export const MODEL_PROVIDERS = ['bedrock', 'openai-compatible', 'scripted'] as const;

export const ModelSettingsSchema = z
  .object({
    provider: z.enum(MODEL_PROVIDERS).default('bedrock'),
    modelIds: z.record(z.enum(MODEL_TIERS), z.string().min(1)).default(DEFAULT_MODEL_IDS),
    /** Endpoint override for the Bedrock runtime client (tests point it at a local server). */
    endpoint: z.url().optional(),
    /** openai-compatible: the API's base URL, up to its version (`/v1`). */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** openai-compatible: the Secrets Manager secret whose SecretString is the API key. @default none: no key is sent */
    apiKeySecretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:/, 'must be a Secrets Manager secret ARN').optional(),
  })
  .refine((settings) => settings.provider !== 'openai-compatible' || settings.baseUrl !== undefined, { path: ['baseUrl'], message: 'openai-compatible needs the API base URL' });
export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

export interface AgentConfig extends AgentSettings {
  tableName: string;
  /** ENV.ttlDays: days the task's items are kept. @default the stores' (CHECKPOINT_TABLE.retentionDays) */
  retentionDays?: number | undefined;
  model: ModelSettings;
  /**
   * How often a long step writes a progress checkpoint.
   * @default a third of the agent's timeout, at most DEFAULT_PROGRESS_CHECKPOINT_SECONDS (see progressCheckpointSecondsOf)
   */
  progressCheckpointSeconds?: number | undefined;
  /** Log each model call's prompt and reply (ENV.logModelIo; debugging only). @default false */
  logModelIo?: boolean | undefined;
  /** The Legion event bus: auction bidders put their bids on it, agents with `resources` their deadlock detections. @default none */
  eventBusName?: string | undefined;
  /**
   * Agents with `resources`: how long a step waits for a resource, in all, before it gives up with
   * DeadlockTimeoutError. @default half the agent's timeout, at most 30 s (see leaseTimingsOf)
   */
  leaseWaitTimeoutMs?: number | undefined;
}

/** The longest wait for a resource by default, whatever the agent's timeout. */
export const MAX_DEFAULT_LEASE_WAIT_MS = 30_000;
/** How much longer than the agent's timeout a lease lasts: a live step never loses its lease. */
export const LEASE_MARGIN_SECONDS = 10;

/**
 * How an agent leases its resources. A lease outlives the longest step the agent's Lambda can run
 * (its timeout plus a margin), so a live holder never loses it and a crashed one blocks for at most
 * that long. A wait gives up well inside the timeout (half of it by default), so that the step
 * fails with DeadlockTimeoutError, a named error the state machine catches, and is not cut off by
 * the Lambda timeout.
 *
 * @example
 * ```ts
 * leaseTimingsOf(config); // timeoutSeconds 30: { leaseSeconds: 40, waitTimeoutMs: 15_000 }
 * ```
 */
export function leaseTimingsOf(config: Pick<AgentConfig, 'agent' | 'leaseWaitTimeoutMs'>): { leaseSeconds: number; waitTimeoutMs: number } {
  const timeoutSeconds = config.agent.timeoutSeconds;
  return {
    leaseSeconds: timeoutSeconds + LEASE_MARGIN_SECONDS,
    waitTimeoutMs: config.leaseWaitTimeoutMs ?? Math.min(MAX_DEFAULT_LEASE_WAIT_MS, timeoutSeconds * 500),
  };
}

/** How many progress checkpoints a step that runs to its timeout writes, at least, by default. */
export const PROGRESS_CHECKPOINTS_PER_TIMEOUT = 3;

/**
 * How often a long step of an agent writes a progress checkpoint: the configured interval, else a
 * third of the agent's timeout, at most DEFAULT_PROGRESS_CHECKPOINT_SECONDS. A fixed 30 s would
 * equal the default timeout (30 s): the Lambda would end before the first one was due.
 *
 * @example
 * ```ts
 * progressCheckpointSecondsOf({ agent: { timeoutSeconds: 30 } }); // 10
 * progressCheckpointSecondsOf({ agent: { timeoutSeconds: 110 } }); // 30
 * progressCheckpointSecondsOf({ agent: { timeoutSeconds: 30 }, progressCheckpointSeconds: 5 }); // 5
 * ```
 */
export function progressCheckpointSecondsOf(config: { agent: Pick<AgentConfig['agent'], 'timeoutSeconds'>; progressCheckpointSeconds?: number | undefined }): number {
  return config.progressCheckpointSeconds ?? Math.min(DEFAULT_PROGRESS_CHECKPOINT_SECONDS, config.agent.timeoutSeconds / PROGRESS_CHECKPOINTS_PER_TIMEOUT);
}

/**
 * Reads and validates the agent configuration from environment variables (once, at cold start).
 *
 * @throws {ConfigurationError} naming each missing or malformed variable
 */
export function readAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const problems: string[] = [];
  const tableName = env[ENV.tableName];
  if (!tableName) problems.push(`${ENV.tableName} is not set`);
  const settings = parseJsonVariable(env, ENV.agent, AgentSettingsSchema, problems, undefined);
  const modelIds = parseJsonVariable(env, ENV.modelIds, z.unknown(), problems, DEFAULT_MODEL_IDS);
  const model = ModelSettingsSchema.safeParse({
    provider: env[ENV.modelProvider] ?? 'bedrock',
    modelIds,
    ...(env[ENV.modelBaseUrl] ? { baseUrl: env[ENV.modelBaseUrl] } : {}),
    ...(env[ENV.modelApiKeySecret] ? { apiKeySecretArn: env[ENV.modelApiKeySecret] } : {}),
  });
  if (!model.success) problems.push(...describeModelIssues(model.error.issues));
  const progress = env[ENV.progressCheckpointSeconds];
  const configured = progress === undefined ? undefined : Number(progress);
  if (configured !== undefined && !(configured > 0)) problems.push(`${ENV.progressCheckpointSeconds} must be a number of seconds above 0`);
  const eventBusName = env[ENV.eventBusName];
  if (settings?.agent.role === 'bidder' && !eventBusName) problems.push(`${ENV.eventBusName} is not set (a bidder puts its bids on the Legion event bus)`);
  const bundled = settings?.agent.systemPrompt === BUNDLED_SYSTEM_PROMPT_MARKER;
  const systemPrompt = bundled ? bundledSystemPrompt() : settings?.agent.systemPrompt;
  if (settings && systemPrompt === undefined) problems.push(`${ENV.agent}: the system prompt is bundled with the function code, but the bundle registers none (deploy the function again)`);
  const tools = bundled ? bundledToolsOf(problems) : undefined;
  const retentionDays = ttlDaysOf(env, problems);
  if (problems.length > 0 || !settings || !tableName || !model.success || systemPrompt === undefined) throw new ConfigurationError(problems);
  const progressCheckpointSeconds = progressCheckpointSecondsOf({ agent: settings.agent, progressCheckpointSeconds: configured });
  const agent = { ...settings.agent, systemPrompt, ...(tools ? { tools } : {}) };
  const logModelIo = env[ENV.logModelIo] === 'true';
  return { ...settings, agent, tableName, retentionDays, model: model.data, progressCheckpointSeconds, ...(eventBusName ? { eventBusName } : {}), ...(logModelIo ? { logModelIo } : {}) };
}

/** ENV.ttlDays as a number of days, undefined when unset; a value that is not one is a problem. */
function ttlDaysOf(env: NodeJS.ProcessEnv, problems: string[]): number | undefined {
  const text = env[ENV.ttlDays];
  if (text === undefined) return undefined;
  const days = Number(text);
  if (Number.isInteger(days) && days >= 1) return days;
  problems.push(`${ENV.ttlDays} must be a whole number of days, 1 or more (got "${text}")`);
  return undefined;
}

/** The agent's tools from its bundle, checked like a team file's; undefined when they travel in the environment. */
function bundledToolsOf(problems: string[]): ToolSource[] | undefined {
  const tools = bundledTools();
  if (tools === undefined) return undefined;
  const parsed = AgentDefinitionSchema.shape.tools.safeParse(tools);
  if (parsed.success) return parsed.data;
  problems.push(`the tools bundled with the function code are not valid: ${describeIssues(parsed.error.issues).join('; ')} (deploy the function again)`);
  return undefined;
}

/** The variable each model setting comes from, so a problem names what the operator must fix. */
const MODEL_SETTING_VARIABLES: Record<string, string> = { provider: ENV.modelProvider, modelIds: ENV.modelIds, baseUrl: ENV.modelBaseUrl, apiKeySecretArn: ENV.modelApiKeySecret };

function describeModelIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const [setting, ...rest] = issue.path;
    const variable = MODEL_SETTING_VARIABLES[String(setting)];
    const [line] = variable ? describeIssues([{ path: rest, message: issue.message }]) : describeIssues([issue]);
    return `${variable ?? 'model'}: ${line ?? issue.message}`;
  });
}

function parseJsonVariable<T>(
  env: NodeJS.ProcessEnv,
  name: string,
  schema: z.ZodType<T>,
  problems: string[],
  fallback: T | undefined,
): T | undefined {
  const raw = env[name];
  if (raw === undefined) {
    if (fallback === undefined) problems.push(`${name} is not set`);
    return fallback;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    problems.push(`${name} is not valid JSON`);
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    problems.push(...describeIssues(parsed.error.issues).map((p) => `${name}: ${p}`));
    return undefined;
  }
  return parsed.data;
}

/** What a control function (begin, rollback, ...) is configured with. */
export interface ControlConfig {
  tableName: string;
  /** ENV.ttlDays: days the task's items are kept. @default the stores' (CHECKPOINT_TABLE.retentionDays) */
  retentionDays?: number | undefined;
  /** request-approval: the Legion event bus its ApprovalRequested events go to. */
  eventBusName?: string | undefined;
}

/**
 * Reads the configuration of a control function from the environment.
 *
 * @throws {ConfigurationError} naming each missing variable
 */
export function readControlConfig(env: NodeJS.ProcessEnv = process.env): ControlConfig {
  const problems: string[] = [];
  const tableName = env[ENV.tableName];
  if (!tableName) problems.push(`${ENV.tableName} is not set`);
  const retentionDays = ttlDaysOf(env, problems);
  if (problems.length > 0 || !tableName) throw new ConfigurationError(problems);
  const eventBusName = env[ENV.eventBusName];
  return { tableName, retentionDays, ...(eventBusName ? { eventBusName } : {}) };
}

/** A deployed state machine that events may start or report on: its team, pattern and ARN. */
export const DeployedMachineSchema = z.object({
  team: z.string().min(1),
  pattern: z.string().min(1),
  stateMachineArn: z.string().min(1),
  /** The team a RunRequested event of this pattern runs when it names none. */
  isDefault: z.boolean().default(false),
});
export type DeployedMachine = z.infer<typeof DeployedMachineSchema>;

/** What the start-run function is configured with. */
export interface StartRunConfig {
  machines: DeployedMachine[];
}

/**
 * Reads the configuration of the start-run function (the state machines it may start).
 *
 * @throws {ConfigurationError} naming each missing or malformed variable
 * @example
 * ```ts
 * const config = readStartRunConfig(); // LEGION_STATE_MACHINES='[{"team":"telecom-support","pattern":"supervisor-worker","stateMachineArn":"arn:...","isDefault":true}]'
 * ```
 */
export function readStartRunConfig(env: NodeJS.ProcessEnv = process.env): StartRunConfig {
  const problems: string[] = [];
  const machines = parseJsonVariable(env, ENV.stateMachines, z.array(DeployedMachineSchema), problems, undefined);
  if (problems.length > 0 || !machines) throw new ConfigurationError(problems);
  return { machines };
}

/** What the publish-outcome function is configured with. */
export interface PublishOutcomeConfig extends StartRunConfig {
  eventBusName: string;
  /** The checkpoint table: the tasks' status items (their totals, how they ended). */
  tableName: string;
  /** ENV.ttlDays: days the task's items are kept. @default the stores' (CHECKPOINT_TABLE.retentionDays) */
  retentionDays?: number | undefined;
}

/**
 * Reads the configuration of the publish-outcome function (the bus, the machines it reports on, and
 * the table of the tasks' status items).
 *
 * @throws {ConfigurationError} naming each missing or malformed variable
 * @example
 * ```ts
 * const { eventBusName, machines, tableName } = readPublishOutcomeConfig(); // LEGION_EVENT_BUS_NAME, LEGION_STATE_MACHINES, LEGION_TABLE_NAME
 * ```
 */
export function readPublishOutcomeConfig(env: NodeJS.ProcessEnv = process.env): PublishOutcomeConfig {
  const problems: string[] = [];
  const eventBusName = env[ENV.eventBusName];
  if (!eventBusName) problems.push(`${ENV.eventBusName} is not set`);
  const machines = parseJsonVariable(env, ENV.stateMachines, z.array(DeployedMachineSchema), problems, undefined);
  const tableName = env[ENV.tableName];
  if (!tableName) problems.push(`${ENV.tableName} is not set`);
  const retentionDays = ttlDaysOf(env, problems);
  if (problems.length > 0 || !machines || !eventBusName || !tableName) throw new ConfigurationError(problems);
  return { machines, eventBusName, tableName, retentionDays };
}
