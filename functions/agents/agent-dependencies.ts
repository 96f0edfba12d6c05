/**
 * Builds the clients an agent needs from its configuration: once per cold start in AWS, once per
 * agent in the local runtime (which passes its own DynamoDB client and model).
 *
 * @example
 * ```ts
 * const deps = createAgentDependencies(config);
 * ```
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { TokenBudgets } from '../guards/budget-store.ts';
import { CheckpointManager } from '../recovery/checkpoint-manager.ts';
import { type AgentConfig, leaseTimingsOf } from '../core/config.ts';
import { METRICS, METRICS_SERVICE } from '../core/contract.ts';
import { DetectionLog } from '../guards/detection-log.ts';
import { BedrockModel } from '../models/bedrock-model.ts';
import type { ModelProvider } from '../models/model-provider.ts';
import { ScriptedModel } from '../models/scripted-model.ts';
import { OpenAiCompatibleModel } from '../models/openai-compatible-model.ts';
import { apiKeyFromSecret } from '../models/api-key-secret.ts';
import { ConfigurationError } from '../core/errors.ts';
import type { PutEventsClient } from '../core/put-event.ts';
import { type LeasingPool, ResourcePool } from '../guards/resource-pool.ts';
import { TaskStatusStore } from '../observability/task-status-store.ts';
import { AgentToolbox } from '../tools/agent-toolbox.ts';
import { ToolCallJournal } from '../tools/tool-call-journal.ts';

/** What an agent's handler uses: its model, stores, telemetry and (with `resources`) its pool. */
export interface AgentDependencies {
  model: ModelProvider;
  /** Token budgets every model call spends from. @default none: calls are not budgeted */
  budgets?: Pick<TokenBudgets, 'reserve' | 'settle'> | undefined;
  checkpoints: CheckpointManager;
  /**
   * The task's status item, updated around each step (state, agent, steps done, tokens, model
   * calls, budget refusals). createAgentDependencies always gives one. @default none: no status is kept
   */
  taskStatus?: Pick<TaskStatusStore, 'stepStarted' | 'stepFinished' | 'stepFailed' | 'budgetRefused'> | undefined;
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
  /** Agents with `tools`: where they come from, loaded on first use. @default none: the model gets no tools */
  tools?: Pick<AgentToolbox, 'tools' | 'isEmpty' | 'close'> | undefined;
  /** Agents with `tools`: where each step's tool calls are recorded, so a step run again does not repeat them. @default none */
  toolCalls?: Pick<ToolCallJournal, 'recall' | 'record'> | undefined;
  /** Agents with `resources`: the team's pool they lease them from. @default none */
  resourcePool?: LeasingPool | undefined;
  /** Agents with `resources` or `tools`: where the deadlocks and tool call loops they meet are recorded. @default none */
  detections?: Pick<DetectionLog, 'record' | 'markAnnounced'> | undefined;
  /** Agents with `resources` or `tools`: the Legion bus their detections are announced on (with `eventBusName` in the config). @default none */
  events?: PutEventsClient | undefined;
}

export interface DependencyOverrides {
  documentClient?: DynamoDBDocumentClient;
  model?: ModelProvider;
  /** Where agents with `resources` or `tools` announce their detections. @default an EventBridgeClient when the config names a bus */
  events?: PutEventsClient | undefined;
}

/**
 * The provider named by the configuration: Bedrock, an OpenAI-compatible server, or the scripted
 * model when asked for. `logger` hears of a model that refuses structured output.
 */
export function createModelProvider(config: AgentConfig, logger?: Pick<Logger, 'warn'>): ModelProvider {
  const { provider, baseUrl, apiKeySecretArn, modelIds } = config.model;
  const onStructuredOutputRefused = (modelId: string, reason: string): void => {
    logger?.warn('model refused structured output: asking for its JSON in text', { modelId, reason });
  };
  if (provider === 'scripted') return new ScriptedModel();
  if (provider === 'openai-compatible') {
    // The settings schema refuses openai-compatible without a base URL; this guards other callers.
    if (!baseUrl) throw new ConfigurationError(['openai-compatible needs the API base URL']);
    return new OpenAiCompatibleModel({ baseUrl, modelIds, apiKey: apiKeySecretArn ? apiKeyFromSecret(apiKeySecretArn) : undefined, onStructuredOutputRefused });
  }
  const client = new BedrockRuntimeClient(config.model.endpoint ? { endpoint: config.model.endpoint } : {});
  return new BedrockModel({ modelIds: config.model.modelIds, client, onStructuredOutputRefused });
}

export function createAgentDependencies(config: AgentConfig, overrides: DependencyOverrides = {}): AgentDependencies {
  const documentClient = overrides.documentClient ?? DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const serviceName = `legion-${config.team}-${config.agent.id}`;
  const logger = new Logger({ serviceName });
  return {
    model: overrides.model ?? createModelProvider(config, logger),
    checkpoints: new CheckpointManager({ client: documentClient, tableName: config.tableName, team: config.team, retentionDays: config.retentionDays }),
    budgets: new TokenBudgets({ client: documentClient, tableName: config.tableName, team: config.team, retentionDays: config.retentionDays }),
    taskStatus: new TaskStatusStore({ client: documentClient, tableName: config.tableName, team: config.team, retentionDays: config.retentionDays }),
    logger,
    // One service for every metric (METRICS_SERVICE); the team and agent are dimensions of their own.
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName: METRICS_SERVICE }),
    tracer: new Tracer({ serviceName }),
    ...detectionDependencies(config, documentClient, overrides.events),
    ...leasingDependencies(config, documentClient),
    ...toolDependencies(config, documentClient),
  };
}

/** Agents that detect failure modes themselves (deadlocks with `resources`, tool call loops with `tools`) record and announce them. */
function detectionDependencies(config: AgentConfig, client: DynamoDBDocumentClient, events: PutEventsClient | undefined): Pick<AgentDependencies, 'detections' | 'events'> {
  if (config.agent.resources.length === 0 && config.agent.tools.length === 0) return {};
  return {
    detections: new DetectionLog({ client, tableName: config.tableName, team: config.team, retentionDays: config.retentionDays }),
    events: events ?? (config.eventBusName ? new EventBridgeClient({}) : undefined),
  };
}

/** An agent with `tools` gets its toolbox and the journal of its calls; others get neither. */
function toolDependencies(config: AgentConfig, client: DynamoDBDocumentClient): Pick<AgentDependencies, 'tools' | 'toolCalls'> {
  if (config.agent.tools.length === 0) return {};
  return {
    tools: new AgentToolbox(config.agent.tools),
    toolCalls: new ToolCallJournal({ client, tableName: config.tableName, team: config.team, retentionDays: config.retentionDays }),
  };
}

/** An agent with `resources` leases them from its team's pool; others have none. */
function leasingDependencies(config: AgentConfig, client: DynamoDBDocumentClient): Pick<AgentDependencies, 'resourcePool'> {
  if (config.agent.resources.length === 0) return {};
  return { resourcePool: new ResourcePool({ client, tableName: config.tableName, pool: config.team, leaseSeconds: leaseTimingsOf(config).leaseSeconds }) };
}
