/**
 * The constants that CDK, the handlers and the local runtime all share: table keys, metric names,
 * error names, pattern names and the retention of checkpoints. Change a value here and every
 * side follows; tests compare the synthesized template against this module.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_TABLE, METRICS } from './contract.ts';
 * const key = { [CHECKPOINT_TABLE.partitionKey]: taskPartition('telecom-support', 't-1') };
 * ```
 */
import { ConfigurationError } from './errors.ts';

/** The patterns Legion deploys; each has `statemachines/<name>.asl.json`. */
export const PATTERN_NAMES = ['supervisor-worker', 'pipeline', 'peer-to-peer', 'hierarchical', 'auction'] as const;
export type PatternName = (typeof PATTERN_NAMES)[number];

/** Roles an agent may play; which ones a team needs depends on its pattern (PATTERN_ROLES). */
export const AGENT_ROLES = ['supervisor', 'worker', 'stage', 'lead', 'peer', 'verifier', 'bidder'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

/** How many agents of each role a team of a pattern has (roles not listed are not allowed). */
export interface RoleCount {
  min: number;
  /** @default unbounded */
  max?: number;
}

/** The roles of each pattern's teams. A new pattern adds its line here. */
export const PATTERN_ROLES: Record<PatternName, Partial<Record<AgentRole, RoleCount>>> = {
  hierarchical: { lead: { min: 1, max: 1 } },
  'supervisor-worker': { supervisor: { min: 1, max: 1 }, worker: { min: 1 } },
  pipeline: { stage: { min: 1 }, verifier: { min: 1, max: 1 } },
  'peer-to-peer': { peer: { min: 3 }, verifier: { min: 1, max: 1 } },
  auction: { bidder: { min: 2 }, verifier: { min: 1, max: 1 } },
};

/**
 * The non-agent functions state machines invoke (one of each per stack): begin-task and
 * rollback-task in every pattern (COMMON_CONTROL_FUNCTIONS), the others in the pattern that names
 * them in its spec's `controlFunctions`.
 */
export const CONTROL_FUNCTIONS = ['begin-task', 'rollback-task', 'request-approval', 'record-detection', 'open-auction', 'close-auction', 'settle-award'] as const;
export type ControlFunctionName = (typeof CONTROL_FUNCTIONS)[number];

/** The control functions every pattern's state machine invokes. */
export const COMMON_CONTROL_FUNCTIONS = ['begin-task', 'rollback-task', 'request-approval'] as const satisfies readonly ControlFunctionName[];

/** The control functions of a pattern whose state machine records detections itself (RecordDetection states). */
export const DETECTING_CONTROL_FUNCTIONS = [...COMMON_CONTROL_FUNCTIONS, 'record-detection'] as const satisfies readonly ControlFunctionName[];

/** Key schema and retention of the checkpoint table. */
export const CHECKPOINT_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  /** How long a checkpoint is kept before DynamoDB's TTL may delete it. */
  retentionDays: 7,
} as const;

/** The longest default interval of a long step's intermediate (progress) checkpoints: a third of the agent's timeout if that is shorter (progressCheckpointSecondsOf). */
export const DEFAULT_PROGRESS_CHECKPOINT_SECONDS = 30;

/** Sort-key prefix of checkpoint items; the sequence number follows, zero-padded so it sorts. */
export const CHECKPOINT_SK_PREFIX = 'CP#';
/** Sort key of the per-task counter that hands out checkpoint sequence numbers. */
export const TASK_HEAD_SK = 'HEAD';
/** Width of the zero-padded sequence in a checkpoint sort key. */
export const SEQUENCE_WIDTH = 10;

/** Sort key of the item that keeps a task's input, so that a resume can run it again. */
export const TASK_INPUT_SK = 'INPUT';

/**
 * Sort key of a task's status item: what the task is doing now (status, current state and agent,
 * steps done, tokens, model calls) and its child tasks. Outside every range or prefix the stores
 * query (`CP#`, `STEP#`, `DETECTION#`, ...): no listing of the partition returns it.
 */
export const TASK_STATUS_SK = 'STATUS';

/** The key of a task's status item (see functions/observability/task-status-store.ts). */
export function taskStatusKey(team: string, taskId: string): Record<string, string> {
  return taskItemKey(team, taskId, TASK_STATUS_SK);
}

/** Sort-key prefix of the markers that make a re-saved step idempotent. */
export const STEP_MARKER_SK_PREFIX = 'STEP#';

/** Sort key of the marker of one step (e.g. `3:Work#billing`). */
export function stepMarkerSortKey(stepKey: string): string {
  return `${STEP_MARKER_SK_PREFIX}${stepKey}`;
}

/** Sort-key prefix of a task's recorded tool calls (see functions/tools/tool-call-journal.ts). */
export const TOOL_CALL_SK_PREFIX = 'TOOL#';

/**
 * The team of a store that serves every team (a control function's, built once per container): it
 * must be scoped with `forTeam(event.team)` before use; any key built with it throws.
 */
export const UNSCOPED_TEAM = '';

/**
 * Prefix of every partition that belongs to one team: its tasks (checkpoints, input, budget,
 * detections, auction rounds) and its resource pool. An agent role's DynamoDB statements carry a
 * `dynamodb:LeadingKeys` condition on `<prefix>*`, so an agent reaches its own team's items only.
 */
export function teamPartitionPrefix(team: string): string {
  // Fail closed: a store a control function forgot to scope (UNSCOPED_TEAM) must not write anywhere.
  // A ConfigurationError, so that it is classified as an infrastructure failure (never a graceful path).
  if (team === UNSCOPED_TEAM) throw new ConfigurationError(['internal: a store was used before being scoped to a team (forTeam)']);
  return `TEAM#${team}#`;
}

/** Partition key of everything stored for one task of one team. */
export function taskPartition(team: string, taskId: string): string {
  return `${teamPartitionPrefix(team)}TASK#${taskId}`;
}

/** The key of one item of a task's partition (checkpoints, input, auction rounds, budget, ...). */
export function taskItemKey(team: string, taskId: string, sortKey: string): Record<string, string> {
  return { [CHECKPOINT_TABLE.partitionKey]: taskPartition(team, taskId), [CHECKPOINT_TABLE.sortKey]: sortKey };
}

/** Partition of a team's resource pool (leases and wait-for edges), inside the team's prefix. */
export function poolPartition(team: string): string {
  return `${teamPartitionPrefix(team)}POOL`;
}

/**
 * Key of a task's approval. Outside the team's prefix on purpose: the item holds the callback
 * token of the waiting execution, which only the control functions may read, never an agent.
 */
export function approvalItemKey(team: string, taskId: string): Record<string, string> {
  teamPartitionPrefix(team); // the same guard
  return { [CHECKPOINT_TABLE.partitionKey]: `APPROVAL#${team}#${taskId}`, [CHECKPOINT_TABLE.sortKey]: 'APPROVAL' };
}

/**
 * Key of the item that says which team owns a task id. Written once, conditionally, when a task
 * starts (a task id belongs to one team: another team's run with it is refused), and read to find
 * a task's team from its id alone (`legion resume`, `checkpoints`, `approve`). Control
 * functions only: outside every team's prefix.
 */
export function taskOwnerKey(taskId: string): Record<string, string> {
  return { [CHECKPOINT_TABLE.partitionKey]: `TASKID#${taskId}`, [CHECKPOINT_TABLE.sortKey]: 'OWNER' };
}

/** Sort key of checkpoint number `sequence`. */
export function checkpointSortKey(sequence: number): string {
  return `${CHECKPOINT_SK_PREFIX}${String(sequence).padStart(SEQUENCE_WIDTH, '0')}`;
}

/**
 * The `service` dimension of every Legion metric (Powertools Metrics adds `service` to every
 * dimension set). One value for all handlers, so that every metric also exists with the dimension
 * set `[service]` alone, summed over all functions, teams and agents: that is the series the alarms
 * (functions/observability/alarms.ts) watch. CloudWatch alarms cannot SEARCH, and metric math in an alarm
 * takes at most 10 metrics, so one alarm could not add up per-agent series. Agent metrics are also
 * emitted with `[service, team, agent]` for per-agent graphs.
 */
export const METRICS_SERVICE = 'legion';

/** CloudWatch metric namespace and names (EMF), shared by handlers, alarms and the local evaluator. */
export const METRICS = {
  namespace: 'Legion',
  agentSteps: 'AgentSteps',
  agentStepErrors: 'AgentStepErrors',
  tokensUsed: 'TokensUsed',
  checkpointsWritten: 'CheckpointsWritten',
  checkpointFailures: 'CheckpointFailures',
  tasksStarted: 'TasksStarted',
  tasksResumed: 'TasksResumed',
  /** Automatic rollbacks after a step's output failed its consistency check. */
  rollbacks: 'Rollbacks',
  /** Runs handed to a human because automatic recovery gave up. */
  escalations: 'Escalations',
  /** Model calls refused because they would exceed an agent's or a task's token budget. */
  budgetsExceeded: 'BudgetsExceeded',
  /** Escalated runs that started waiting for a human decision (a resumed wait counts again). */
  approvalsRequested: 'ApprovalsRequested',
  /** Waiting runs a human approved (the run ends with the human's output). */
  approvalsGranted: 'ApprovalsGranted',
  /** Waiting runs a human rejected (the run fails with HumanRejectedError). */
  approvalsRejected: 'ApprovalsRejected',
  /**
   * Escalated tasks whose approval reached its deadline (APPROVAL_TIMEOUT_SECONDS after it was first
   * requested) without a decision: recorded TIMED_OUT once per task, by the approval keeper or by
   * request-approval on a resume; the run fails with EscalationTimedOutError.
   */
  approvalsTimedOut: 'ApprovalsTimedOut',
  /** approval keeper: SendTaskHeartbeat calls that kept a waiting execution's Escalate alive. */
  approvalHeartbeatsSent: 'ApprovalHeartbeatsSent',
  /**
   * approval keeper: SendTaskHeartbeat calls that failed, mostly because the execution is gone
   * (TaskTimedOut, TaskDoesNotExist, InvalidToken: stopped, timed out, or answered outside Legion).
   */
  approvalHeartbeatsFailed: 'ApprovalHeartbeatsFailed',
  /** Model calls that re-asked after a reply the step could not use (no JSON, malformed, off its schema). */
  modelReasks: 'ModelReasks',
  /** Tool calls agents made (a call restored from the tool-call journal is not made again, nor counted). */
  toolCalls: 'ToolCalls',
  /** Tool calls that ended in an error or a timeout (reported to the model as a tool error). */
  toolCallErrors: 'ToolCallErrors',
  /** Loops detected early (repeated or oscillating outputs, A-B-A-B hand-backs, the same tool call again) or at their iteration limit. */
  loopsDetected: 'LoopsDetected',
  /** Results whose agents' agreement was confident while verification against the source of truth failed. */
  hallucinationsDetected: 'HallucinationsDetected',
  /** Wait-for cycles broken, expired leases taken over, and resource waits that timed out. */
  deadlocksDetected: 'DeadlocksDetected',
  /** Runs started by a RunRequested event. */
  runsRequested: 'RunsRequested',
  /** RunRequested events whose idempotency key already had a run: no second run was started. */
  duplicateRunRequests: 'DuplicateRunRequests',
  /** Outcome events (RunSucceeded, RunFailed, RunEscalated) put on the bus. */
  runOutcomesPublished: 'RunOutcomesPublished',
  /** auction: rounds announced (the first and every re-announcement). */
  auctionRoundsOpened: 'AuctionRoundsOpened',
  /** auction: rounds closed (awarded, re-announced, or escalated for want of a valid bid). */
  auctionRoundsClosed: 'AuctionRoundsClosed',
  /** auction: bids a bidder put on the bus. */
  bidsSubmitted: 'BidsSubmitted',
  /** auction: announcements a bidder did not bid on (no capability, or no capacity left; the reason is logged). */
  bidsDeclined: 'BidsDeclined',
  /** auction: bid deliveries that reached the collector, stored or refused. */
  bidsReceived: 'BidsReceived',
  /** auction: bids not admitted (late, duplicate, unknown bidder, expired, wrong auction; the reason is logged). */
  bidsRejected: 'BidsRejected',
  /** auction: awards made (winners and runners-up). */
  awardsMade: 'AwardsMade',
  /** auction: awarded bidders that failed, or whose result failed verification. */
  awardsFailed: 'AwardsFailed',
  /** auction: awards whose result was verified and returned. */
  awardsCompleted: 'AwardsCompleted',
  /** Runs that succeeded with a part missing (a worker or peer failed after its retries): their `degraded` list is not empty. */
  degradedRuns: 'DegradedRuns',
  /** Tasks that had at least one model call refused by a token budget: counted once per task, at its first refusal. */
  tasksOverBudget: 'TasksOverBudget',
  /** How long an agent step took, in milliseconds (with [service, team, agent]: latency per agent). */
  agentStepDuration: 'AgentStepDuration',
  /** Runs that ended, by [service, team, status] (status: SUCCEEDED, FAILED, ESCALATED, TIMED_OUT, ABORTED). */
  runsCompleted: 'RunsCompleted',
  /** approval keeper: the age in seconds of the oldest approval still waiting for a human (0 when none waits). */
  oldestPendingApprovalSeconds: 'OldestPendingApprovalSeconds',
} as const;

/** Error names the state machines match in `Retry`/`Catch`. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Errors that mean Legion's infrastructure failed under a step, not the agent: its checkpoint store
 * (`CheckpointError`, `StaleWriterError`: another execution owns the task), its configuration,
 * AWS throttling or permission errors and other AWS service errors of its stores (raised as
 * `InfrastructureError` / `InfrastructureThrottledError` by the agent handler, the original name
 * kept in the cause; see functions/core/infrastructure-errors.ts), and the Lambda service after
 * its retries. A Catch that turns an agent's failure into a graceful partial answer (`States.ALL`
 * to a state that does not fail the run) is preceded by a Catch of exactly these to a Fail state
 * (test/statemachines/asl-rules.ts enforces it): a run never succeeds with a part silently missing
 * because the infrastructure failed.
 */
export const INFRASTRUCTURE_ERRORS = [
  'InfrastructureError',
  'InfrastructureThrottledError',
  'CheckpointError',
  'StaleWriterError',
  'ConfigurationError',
  ...LAMBDA_SERVICE_ERRORS,
] as const;

/**
 * Infrastructure errors a step with a graceful path retries in place, with backoff, before the run
 * fails: throttling and lost transaction races pass by themselves. Permissions, configuration, a
 * stale writer or a checkpoint that cannot be written do not, so they are never retried.
 */
export const RETRYABLE_INFRASTRUCTURE_ERRORS = ['InfrastructureThrottledError'] as const;

/** AWS error names (DynamoDB and the SDK) that mean throttling or a lost transaction race: transient. */
export const AWS_THROTTLING_ERRORS = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TooManyRequestsException',
] as const;

/** AWS error names that mean the caller may not do this: IAM, credentials, a signature. */
export const AWS_PERMISSION_ERRORS = [
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'MissingAuthenticationTokenException',
] as const;

/**
 * Errors that mean a step's output broke its contract (schema or invariant). Every agent Task
 * catches them into its pattern's rollback state instead of failing or retrying in place.
 */
export const CONSISTENCY_ERRORS = ['AgentOutputError', 'ConsistencyViolationError'] as const;

/** Errors with which automatic recovery hands a run to a human; a run ending with one is ESCALATED, not FAILED. */
export const ESCALATION_ERRORS = ['RollbackLimitExceededError', 'NoValidBidsError', 'AwardsExhaustedError', 'EscalationTimedOutError', 'LoopDetectedError', 'UnverifiedConsensusError'] as const;

/**
 * The errors a run ends with when its **agents** failed (not Legion's infrastructure): the model
 * after its retries (or a scripted fault standing for it), a step's output or logic, a Lambda that
 * timed out, a resource wait that gave up, a budget, an escalation a human rejected or let time out,
 * and the Fail states of the patterns that sum such failures up (`TeamsFailed`, `QuorumUnreachable`,
 * `StageFailed`, `StageRejected`, `ReviewLimitExceeded`). A hierarchical lead may work around a
 * sub-team that failed with one of these (retry, re-plan, roll up without it); a sub-team that
 * failed with **any other** error (an infrastructure error of any name, a raw AWS error of a control
 * function, `States.Runtime`, a `StepFunctions.*` error of the nested execution, a Choice that saw
 * an unknown value) fails the parent run closed. An allowlist, so that an unknown name fails
 * closed; test/statemachines checks that every Fail state's fixed `Error` is sorted.
 */
export const AGENT_FAILURE_ERRORS = [
  'ModelInvocationError',
  'ScriptedFailureError',
  ...CONSISTENCY_ERRORS,
  'BudgetExceededError',
  'DeadlockTimeoutError',
  'States.Timeout',
  'Sandbox.Timedout',
  'HumanRejectedError',
  ...ESCALATION_ERRORS,
  'TeamsFailed',
  'ReviewLimitExceeded',
  'QuorumUnreachable',
  'StageFailed',
  'StageRejected',
] as const;

/** Tokens all agents may spend on one task, unless the team sets `limits.taskTokenBudget`. */
export const DEFAULT_TASK_TOKEN_BUDGET = 100_000;

/**
 * How long an escalated task waits for a human decision, counted from its first request (the
 * approval's `requestedAt`): a deadline of the task, not of one execution, so resuming a waiting
 * task does not start a fresh wait. Past it, the approval keeper (or request-approval, on a resume)
 * records the approval TIMED_OUT and fails the waiting execution with EscalationTimedOutError. Also
 * `Escalate`'s TimeoutSeconds, the backstop of one execution (States.Timeout, same end).
 */
export const APPROVAL_TIMEOUT_SECONDS = 86_400;

/**
 * `Escalate`'s HeartbeatSeconds: a waiting execution that gets no SendTaskHeartbeat for this long
 * fails with States.HeartbeatTimeout (ending as APPROVAL_HEARTBEAT_TIMEOUT_ERROR), so a broken
 * approval path is found within the hour instead of after a day. The approval keeper sends the
 * heartbeats, every APPROVAL_KEEPER_INTERVAL_MINUTES.
 */
export const APPROVAL_HEARTBEAT_SECONDS = 3600;

/** How often the approval keeper runs (an EventBridge schedule): well inside APPROVAL_HEARTBEAT_SECONDS, so a missed run or two is harmless. */
export const APPROVAL_KEEPER_INTERVAL_MINUTES = 15;

/**
 * The error a run ends with when its `Escalate` got no heartbeat for APPROVAL_HEARTBEAT_SECONDS
 * (the `ApprovalHeartbeatLost` Fail state): the approval keeper is not running, or a newer execution
 * of the task took its approval over. Not an escalation: the run is FAILED, for an operator.
 */
export const APPROVAL_HEARTBEAT_TIMEOUT_ERROR = 'ApprovalHeartbeatTimeoutError';

/**
 * The sparse global secondary index of the checkpoint table that lists the approvals waiting for
 * a decision, so that the approval keeper finds them with a Query, never a Scan. Only a PENDING
 * approval item has the two key attributes (`partitionKey` = `partitionValue`, `sortKey` = its
 * `requestedAt`, so the oldest come first); a decision (or the deadline) removes them, and the
 * item leaves the index. The keeper reads only the projected attributes.
 */
export const PENDING_APPROVALS_INDEX = {
  indexName: 'pending-approvals',
  partitionKey: 'approvalPending',
  sortKey: 'pendingSince',
  /** The one value of `partitionKey`: every pending approval is in this partition of the index. */
  partitionValue: 'PENDING',
  /** Non-key attributes the index keeps (besides the table's and the index's keys). */
  projectedAttributes: ['team', 'taskId', 'taskToken'],
} as const;

/** Automatic rollbacks a task may have before it is escalated, unless its team sets `limits.maxRollbacks`. */
export const DEFAULT_MAX_ROLLBACKS = 2;

/** Step Functions resource of the optimised Lambda integration used by every agent Task state. */
export const LAMBDA_INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';

/** Model tiers a team may ask for; each maps to a Bedrock model id in config. */
export const MODEL_TIERS = ['fast', 'balanced', 'deep'] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];

/**
 * Default Bedrock model per tier (the `legion:modelIds` context overrides them), chosen on 2026-12-03
 * from Anthropic's table of Claude models on Bedrock: Claude Haiku 4.5, Sonnet 4.6 and Opus 4.6.
 * Current Claude models are invoked through an inference profile only; these are the `global.`
 * ones, the only kind every commercial Region offers (the stack is environment-agnostic). A global
 * profile may process a request in any commercial Region: for data residency, set `us.`, `eu.`,
 * `jp.` or `apac.` profiles in `legion:modelIds`.
 */
export const DEFAULT_MODEL_IDS: Record<ModelTier, string> = {
  fast: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
  balanced: 'global.anthropic.claude-sonnet-4-6',
  deep: 'global.anthropic.claude-opus-4-6-v1',
};

/** Environment variable names the agent Lambdas are configured with (read only by config.ts). */
export const ENV = {
  tableName: 'LEGION_TABLE_NAME',
  agent: 'LEGION_AGENT',
  modelProvider: 'LEGION_MODEL_PROVIDER',
  modelIds: 'LEGION_MODEL_IDS',
  /** openai-compatible: the API's base URL (`https://.../v1`). */
  modelBaseUrl: 'LEGION_MODEL_BASE_URL',
  /** openai-compatible: the Secrets Manager secret (ARN) whose SecretString is the API key. */
  modelApiKeySecret: 'LEGION_MODEL_API_KEY_SECRET',
  progressCheckpointSeconds: 'LEGION_PROGRESS_CHECKPOINT_SECONDS',
  /** start-run and publish-outcome: the deployed state machines (JSON list of team, pattern, ARN, default). */
  stateMachines: 'LEGION_STATE_MACHINES',
  /** publish-outcome: the Legion event bus the outcome events go to. */
  eventBusName: 'LEGION_EVENT_BUS_NAME',
  /** Agents: `true` logs each model call's prompt and reply (debugging only; off by default: they hold customer text). */
  logModelIo: 'LEGION_LOG_MODEL_IO',
  /** Days DynamoDB keeps a task's items (checkpoints, statuses, approvals, detections, journals) before its TTL may delete them. @default CHECKPOINT_TABLE.retentionDays */
  ttlDays: 'LEGION_TTL_DAYS',
} as const;

/** The largest execution input Step Functions accepts: 256 KiB of UTF-8 JSON; a run whose input is larger is refused before anything is stored. */
export const MAX_EXECUTION_INPUT_BYTES = 262_144;
