/**
 * One agent of a team in the local runtime: its configuration (as CDK would put it in the
 * function's environment), its dependencies on DynamoDB Local and the runtime's model, its real
 * middy-wrapped step handler, and the local "Lambda" around a handler. The state machine's agent
 * functions and the auction's bidders are both built here.
 *
 * @example
 * ```ts
 * const agent = createLocalAgent({ team, agentId: 'billing', functionArnOf, documentClient, model, telemetry });
 * const lambda = localAgentLambda(team.name, agent, agent.handler);
 * ```
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AgentHandler, createAgentHandler } from '../functions/agents/agent.ts';
import { agentSettingsFor } from '../functions/core/agent-settings.ts';
import type { AgentConfig } from '../functions/core/config.ts';
import { DEFAULT_MODEL_IDS } from '../functions/core/contract.ts';
import { type AgentDependencies, createAgentDependencies } from '../functions/agents/agent-dependencies.ts';
import type { ModelProvider } from '../functions/models/model-provider.ts';
import type { PutEventsClient } from '../functions/core/put-event.ts';
import type { LeasingPool } from '../functions/guards/resource-pool.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import { type CheckpointWriteFaults, ThrottledCheckpointManager } from './checkpoint-faults.ts';
import { LocalLambda, type LocalHandler } from './local-lambda.ts';
import type { TelemetrySink } from './telemetry-sink.ts';

export interface LocalAgentOptions {
  team: TeamDefinition;
  agentId: string;
  /** The local function ARN of an agent of the team. */
  functionArnOf: (agentId: string) => string;
  /** hierarchical leads: the local state machine ARN of a team. */
  stateMachineArnOf?: (teamName: string) => string;
  documentClient: DynamoDBDocumentClient;
  /** The checkpoint table of the runtime's database. */
  tableName: string;
  model: ModelProvider;
  telemetry: TelemetrySink;
  /** Settings the runtime adds to the team's (progress checkpoints, the event bus of bidders, the wait for a leased resource). */
  extraConfig?: Partial<Pick<AgentConfig, 'progressCheckpointSeconds' | 'eventBusName' | 'leaseWaitTimeoutMs'>>;
  /** The bus an agent's events go to (deadlock detections). @default none: not announced */
  events?: PutEventsClient | undefined;
  /** Agents with `resources`: wraps the team's pool they lease from (e.g. `--inject deadlock` holds between leases). @default none */
  wrapResourcePool?: ((pool: LeasingPool) => LeasingPool) | undefined;
  /** A fraction of its checkpoint saves fail as throttled (`--inject checkpoint-failures:<rate>`, a scripted fault); one counter for the whole runtime. @default none */
  checkpointWrites?: CheckpointWriteFaults | undefined;
}

export interface LocalAgent {
  config: AgentConfig;
  deps: AgentDependencies;
  /** The agent's step handler, with every middleware. */
  handler: AgentHandler;
  functionArn: string;
}

export function createLocalAgent(options: LocalAgentOptions): LocalAgent {
  const { team, agentId, functionArnOf } = options;
  const config: AgentConfig = {
    ...agentSettingsFor(team, agentId, functionArnOf, options.stateMachineArnOf),
    tableName: options.tableName,
    model: { provider: 'scripted', modelIds: DEFAULT_MODEL_IDS },
    ...options.extraConfig,
  };
  const built = createAgentDependencies(config, { documentClient: options.documentClient, model: options.model, events: options.events });
  const { resourcePool } = built;
  const leasing = resourcePool && options.wrapResourcePool ? { ...built, resourcePool: options.wrapResourcePool(resourcePool) } : built;
  const { checkpointWrites } = options;
  const deps = checkpointWrites
    ? { ...leasing, checkpoints: new ThrottledCheckpointManager({ client: options.documentClient, tableName: config.tableName, team: config.team }, checkpointWrites) }
    : leasing;
  options.telemetry.attach(deps.logger, deps.metrics);
  return { config, deps, handler: createAgentHandler(config, deps), functionArn: functionArnOf(agentId) };
}

/** The local Lambda of an agent, running `handler` (its step handler, or one wrapped around it). */
export function localAgentLambda(teamName: string, agent: LocalAgent, handler: LocalHandler): LocalLambda {
  const { id, timeoutSeconds, memoryMb } = agent.config.agent;
  return new LocalLambda({ functionName: `legion-${teamName}-${id}`, functionArn: agent.functionArn, timeoutSeconds, memoryMb, handler });
}
