/**
 * Legion's error hierarchy. Each class sets `name` to the string that the state machines'
 * `ErrorEquals` match, and carries the context needed to act on it.
 *
 * @example
 * ```ts
 * throw new AgentOutputError('billing', 'answer is empty');
 * // in ASL: "Catch": [{ "ErrorEquals": ["AgentOutputError"], ... }]
 * ```
 */
export class LegionError extends Error {
  public readonly context: Record<string, unknown>;

  public constructor(message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

/** A team definition failed validation or could not be read. */
export class TeamDefinitionError extends LegionError {
  public constructor(
    public readonly source: string,
    public readonly problems: string[],
  ) {
    super(`Invalid team definition ${source}:\n  - ${problems.join('\n  - ')}`, { source, problems });
  }
}

/** An event given to a handler does not match the contract of that handler. */
export class InvalidEventError extends LegionError {
  public constructor(
    public readonly handler: string,
    public readonly problems: string[],
  ) {
    super(`Invalid event for ${handler}: ${problems.join('; ')}`, { handler, problems });
  }
}

/** A model's answer could not be used (not the JSON asked for, or outside the allowed values). */
export class AgentOutputError extends LegionError {
  public constructor(
    public readonly agent: string,
    reason: string,
  ) {
    super(`Output of agent ${agent} rejected: ${reason}`, { agent, reason });
  }
}

/**
 * A step's output parsed but broke an invariant of its step (e.g. a plan naming a function that is
 * not the roster's). Nothing was checkpointed; the state machine rolls back and runs the step again.
 */
export class ConsistencyViolationError extends LegionError {
  public constructor(
    public readonly agent: string,
    public readonly stateName: string,
    public readonly problems: string[],
  ) {
    super(`Output of agent ${agent} in ${stateName} is inconsistent: ${problems.join('; ')}`, { agent, stateName, problems });
  }
}

/** Configuration read from the environment is missing or malformed. */
export class ConfigurationError extends LegionError {
  public constructor(problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`, { problems });
  }
}

/**
 * An agent's model asked for the same tool call (same tool, same input) again after being told it
 * already had the result: a loop. The step fails as the agent's failure; the state machine retries
 * it (the recorded calls are not made again), then takes the pattern's graceful path.
 */
export class ToolLoopError extends LegionError {
  public constructor(
    public readonly agentId: string,
    public readonly toolName: string,
  ) {
    super(`Agent ${agentId} called tool ${toolName} with the same input three times in one step: a loop`, { agentId, toolName });
  }
}

/** An agent's model kept asking for tools after its step's `maxToolCalls` was reached and it was told so. */
export class ToolCallLimitError extends LegionError {
  public constructor(
    public readonly agentId: string,
    public readonly maxToolCalls: number,
  ) {
    super(`Agent ${agentId} asked for more tools after its limit of ${String(maxToolCalls)} tool calls in one step`, { agentId, maxToolCalls });
  }
}

/** The model provider failed to answer. */
export class ModelInvocationError extends LegionError {
  public constructor(
    public readonly modelId: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Model ${modelId} failed: ${reason}`, { modelId, reason }, options);
  }
}

/**
 * Legion's own infrastructure failed under an agent step (not the model, not the step's logic): an
 * AWS error of one of its stores (permissions, a missing table, an unexpected service error), or a
 * Legion infrastructure error without a name of its own in INFRASTRUCTURE_ERRORS. The agent handler
 * raises it in place of the original (see `classifyInfrastructureError`), whose name it keeps in
 * `originalName`. The state machines never turn it into a partial answer: the run fails.
 */
export class InfrastructureError extends LegionError {
  public constructor(
    public readonly originalName: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Infrastructure failure (${originalName}): ${reason}`, { originalName, reason }, options);
  }
}

/**
 * An infrastructure error that passes by itself: DynamoDB throttling or a lost transaction race.
 * The state machines retry the step with backoff (after the AWS SDK's own retries), then fail.
 */
export class InfrastructureThrottledError extends InfrastructureError {}

/** A checkpoint could not be written or read. */
export class CheckpointError extends LegionError {
  public constructor(
    public readonly taskId: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Checkpoint of task ${taskId} failed: ${reason}`, { taskId, reason }, options);
  }
}

/**
 * A task's status item could not be written or read. Infrastructure, like a failed checkpoint: an
 * agent step whose status write fails fails closed (classified as InfrastructureError, or
 * InfrastructureThrottledError when DynamoDB throttled it), so the counters never drift silently.
 */
export class TaskStatusError extends LegionError {
  public constructor(
    public readonly taskId: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Status of task ${taskId} could not be recorded: ${reason}`, { taskId, reason }, options);
  }
}

/** A checkpoint's state does not fit in one DynamoDB item, even compressed. Nothing was written. */
export class CheckpointTooLargeError extends CheckpointError {
  public constructor(taskId: string, jsonBytes: number, compressedBytes: number, limitBytes: number) {
    super(taskId, `state is ${jsonBytes} bytes (${compressedBytes} gzipped), over the ${limitBytes}-byte item limit; keep large state elsewhere and checkpoint its key`);
    Object.assign(this.context, { jsonBytes, compressedBytes, limitBytes });
  }
}

/** A writer whose epoch is older than the task's tried to save: another writer has taken over. */
export class StaleWriterError extends CheckpointError {
  public constructor(
    taskId: string,
    public readonly epoch: number,
  ) {
    super(taskId, `writer with epoch ${epoch} is stale: the task was taken over by a newer writer`);
    Object.assign(this.context, { epoch });
  }
}

/** A task id is already used by a task with another input. */
export class TaskConflictError extends CheckpointError {
  public constructor(taskId: string) {
    super(taskId, 'the task already exists with another input; resume it, or choose another task id');
  }
}

/** A task to resume has no stored input (never started here, or expired). */
export class TaskNotFoundError extends CheckpointError {
  public constructor(taskId: string) {
    super(taskId, 'no such task to resume (never started, or its records expired)');
  }
}

/** A task id belongs to another team: a run of this team may not start or resume it. */
export class TaskOwnedByAnotherTeamError extends CheckpointError {
  public constructor(
    taskId: string,
    public readonly team: string,
    public readonly owner: string,
  ) {
    super(taskId, `the task id belongs to team ${owner}, not ${team}; choose another task id`);
    Object.assign(this.context, { team, owner });
  }
}

/**
 * A task id broke the task-id rule where it entered (CLI, RunRequested, begin-task, a nested
 * execution), or a nested task id is not the one its parent task derives.
 */
export class InvalidTaskIdError extends LegionError {
  public constructor(
    public readonly taskId: string,
    reason: string,
  ) {
    super(`Invalid task id "${taskId}": ${reason}`, { taskId, reason });
  }
}

/** There is no valid checkpoint to restore or roll back to. */
export class NoValidCheckpointError extends CheckpointError {}

/** A task used up its automatic rollbacks: it needs a human, not another retry. */
export class RollbackLimitExceededError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly rollbacks: number,
    public readonly limit: number,
  ) {
    super(`Task ${taskId} escalated: ${rollbacks} automatic rollbacks reached the limit of ${limit}`, { taskId, rollbacks, limit });
  }
}

/** auction: every round of an auction closed without a valid bid; a human must find someone for the task. */
export class NoValidBidsError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly rounds: number,
    public readonly rejected: Readonly<Record<string, number>>,
  ) {
    const counted = Object.entries(rejected).filter(([, count]) => count > 0).map(([reason, count]) => `${count} ${reason}`);
    super(`Task ${taskId} escalated: ${rounds} auction round(s) closed without a valid bid${counted.length > 0 ? ` (rejected: ${counted.join(', ')})` : ''}`, { taskId, rounds, rejected });
  }
}

/** auction: the awarded bidders failed one after the other and no runner-up is left (or allowed). */
export class AwardsExhaustedError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly failedBidders: readonly string[],
  ) {
    super(`Task ${taskId} escalated: every awarded bidder failed (${failedBidders.join(', ')}) and no runner-up is left`, { taskId, failedBidders });
  }
}

/**
 * The scripted model failed a call on purpose (`legion run --inject fail:<StateName>`), as a model
 * outage or a crashing agent would; no state machine retries it.
 */
export class ScriptedFailureError extends LegionError {
  public constructor(public readonly stateName: string) {
    super(`The model call in ${stateName} failed (injected scripted fault)`, { stateName });
  }
}

/**
 * A model call was refused before it was made: it would take the agent's token budget for the task
 * (`scope: 'agent'`) or the task's (`scope: 'task'`) past its limit. The state machine escalates.
 */
export class BudgetExceededError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly agentId: string,
    public readonly scope: 'agent' | 'task',
    public readonly spent: number,
    public readonly requested: number,
    public readonly budget: number,
  ) {
    const whose = scope === 'agent' ? `agent ${agentId}'s` : `task ${taskId}'s`;
    super(`Model call of ${agentId} refused: ${String(spent)} + ${String(requested)} tokens would exceed ${whose} budget of ${String(budget)}`, {
      taskId,
      agentId,
      scope,
      spent,
      requested,
      budget,
    });
  }
}

/** A human rejected an escalated task (`legion reject`, or SendTaskFailure on its token): the run fails. */
export class HumanRejectedError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly reason: string,
  ) {
    super(`Task ${taskId} rejected by a human: ${reason}`, { taskId, reason });
  }
}

/** A decision was given for a task that has no pending approval (never escalated, or decided already). */
export class ApprovalNotPendingError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly status: string | undefined,
  ) {
    super(status === undefined ? `Task ${taskId} has no approval to decide: it never escalated` : `Task ${taskId} was ${status.toLowerCase()} already`, { taskId, status });
  }
}

/**
 * An escalated task had no human decision by its deadline (`requestedAt` + APPROVAL_TIMEOUT_SECONDS,
 * for the task, not per execution). The approval keeper (or request-approval, when a resumed
 * execution asks again) fails the waiting execution with it through SendTaskFailure; `Escalate`
 * catches it into `ApprovalTimedOut`, as it does its own States.Timeout: the run is ESCALATED.
 */
export class EscalationTimedOutError extends LegionError {
  public constructor(
    public readonly taskId: string,
    public readonly requestedAt: string,
    public readonly deadline: string,
  ) {
    super(`Task ${taskId} waited for a human decision since ${requestedAt} and had none by its deadline ${deadline}`, { taskId, requestedAt, deadline });
  }
}

/**
 * A decision was given for a task whose approval reached its deadline (recorded TIMED_OUT, by this
 * attempt or before): the deadline came first, and the first decision stands.
 */
export class ApprovalDeadlinePassedError extends ApprovalNotPendingError {
  public constructor(
    taskId: string,
    public readonly requestedAt: string,
    public readonly deadline: string,
  ) {
    super(taskId, 'TIMED_OUT');
    this.message = `Task ${taskId} timed out waiting for a decision: it waited since ${requestedAt}, and its deadline was ${deadline}`;
    Object.assign(this.context, { requestedAt, deadline });
  }
}

/** The approval keeper could not look after some pending approvals (other than those whose execution is gone). */
export class ApprovalKeeperError extends LegionError {
  public constructor(public readonly problems: string[]) {
    super(`The approval keeper failed on ${String(problems.length)} approval(s): ${problems.join('; ')}`, { problems });
  }
}

/** Something the user asked for on the command line or in an input file is not valid. */
export class UsageError extends LegionError {}

/** A Task state of a state machine has no local handler; running it would call real AWS. */
export class UnboundTaskError extends LegionError {
  public constructor(
    public readonly stateName: string,
    reason: string,
  ) {
    super(`Task state ${stateName} has no local binding: ${reason}`, { stateName, reason });
  }
}

/** EventBridge refused an event Legion put on its bus (PutEvents answered a failed entry). */
export class EventPublishError extends LegionError {
  public constructor(
    public readonly eventBusName: string,
    public readonly detailType: string,
    reason: string,
  ) {
    super(`Event ${detailType} was not put on bus ${eventBusName}: ${reason}`, { eventBusName, detailType, reason });
  }
}

/** A wait for a resource passed its limit: the waiter released its leases and gave up. */
export class DeadlockTimeoutError extends LegionError {
  public constructor(
    public readonly holder: string,
    public readonly resource: string,
    public readonly heldBy: string | undefined,
    public readonly waitedMs: number,
  ) {
    super(`${holder} gave up waiting for ${resource} (held by ${heldBy ?? 'someone'}) after ${waitedMs} ms and released its leases`, { holder, resource, heldBy, waitedMs });
  }
}

/** Turns zod issues into one readable line each: `path: message`. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
