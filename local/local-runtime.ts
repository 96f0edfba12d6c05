/**
 * Over 500 lines on purpose: run, resume, approve, reject and rollback share one execution path
 * (the machine, its nested teams, the agents and control functions bound to it).
 *
 * The local runtime: one machine standing in for the parts of AWS a team uses. The real ASL file
 * runs in aws-local-stepfunctions, each agent's real middy-wrapped handler runs in-process as its
 * "Lambda", checkpoints go to DynamoDB Local, and metrics/logs are collected from the handlers'
 * output. Models are the deterministic scripted model unless told otherwise.
 *
 * @example
 * ```ts
 * const runtime = await LocalRuntime.start({ dataDir: '.legion' });
 * try {
 *   const result = await runtime.run({ team, input: { request: 'my bill is wrong' }, taskId: 't-1' });
 *   console.log(result.status, result.output);
 * } finally {
 *   await runtime.stop();
 * }
 * ```
 */
import { type ApprovalSweep, createApprovalKeeperHandler } from '../functions/control/approval-keeper.ts';
import { NestedTaskInputSchema, createBeginTaskHandler } from '../functions/control/begin-task.ts';
import { createCloseAuctionHandler } from '../functions/patterns/auction/close-auction.ts';
import { createOpenAuctionHandler } from '../functions/patterns/auction/open-auction.ts';
import { type RequestApprovalDependencies, createRequestApprovalHandler } from '../functions/control/request-approval.ts';
import { createRecordDetectionHandler } from '../functions/control/record-detection.ts';
import type { DetectionRecord } from '../functions/core/contracts/detections.ts';
import type { RunTotals } from '../functions/core/contracts/run-totals.ts';
import { DetectionLog } from '../functions/guards/detection-log.ts';
import { createSettleAwardHandler } from '../functions/patterns/auction/settle-award.ts';
import { createRollbackTaskHandler } from '../functions/control/rollback-task.ts';
import type { ControlDependencies } from '../functions/control/control-dependencies.ts';
import { controlTelemetry } from '../functions/control/control-handler.ts';
import type { Context } from 'aws-lambda';
import { CONTROL_FUNCTIONS, type ControlFunctionName, ESCALATION_ERRORS, UNSCOPED_TEAM } from '../functions/core/contract.ts';
import { type AuctionSummary, AuctionStore } from '../functions/patterns/auction/auction-store.ts';
import { type Approval, type DecisionInput, ApprovalStore } from '../functions/approvals/approval-store.ts';
import {
  type Checkpoint,
  CheckpointManager,
  type RollbackOptions,
  type RollbackRecord,
  type RollbackResult,
} from '../functions/recovery/checkpoint-manager.ts';
import { InvalidEventError, TaskNotFoundError, TaskOwnedByAnotherTeamError, TeamDefinitionError, describeIssues } from '../functions/core/errors.ts';
import { executionInputSizeProblem } from '../functions/core/execution-input.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../functions/models/model-provider.ts';
import { ScriptedModel } from '../functions/models/scripted-model.ts';
import { PATTERNS } from '../functions/patterns/index.ts';
import type { LeasingPool } from '../functions/guards/resource-pool.ts';
import { type StoppedTaskStatus, type TaskStatus, TaskStatusStore } from '../functions/observability/task-status-store.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import { DynamoDbLocal, prepareDataFolder } from './dynamodb-local.ts';
import { type AuctionFaults, LocalAuctionHouse } from './local-auction.ts';
import { LocalEventBus, localEventsClient } from './local-event-bus.ts';
import { LocalTaskTokens } from './local-task-tokens.ts';
import { createLocalAgent, localAgentLambda } from './local-agent.ts';
import { ToolCallJournal, type ToolCallRecord } from '../functions/tools/tool-call-journal.ts';
import { LocalLambda } from './local-lambda.ts';
import { ExecutionAbortedError, ExecutionFailedError, LocalStateMachine, type NestedMachineRunner } from './local-state-machine.ts';
import { TelemetrySink } from './telemetry-sink.ts';
import { type CheckpointFaults, CheckpointWriteFaults } from './checkpoint-faults.ts';
import { metricsFileOf } from './metrics-file.ts';
import { useModuleLoader } from '../functions/core/bundled-modules.ts';
import { importModule } from '../functions/core/import-module.ts';

/**
 * WAITING: escalated, the run waits for a human decision (`approve` / `reject`).
 * ABORTED: stopped through `RunRequest.signal`, as a crash would leave the task (local runtime only).
 */
export type RunStatus = 'SUCCEEDED' | 'FAILED' | 'ESCALATED' | 'WAITING' | 'ABORTED';

export interface TraceEntry {
  sequence: number;
  agent: string;
  state: string;
  durationMs: number;
  tokens: number;
  /** The tools the step called, in order (a call restored from the journal after a crash is listed once). */
  toolCalls?: { name: string; input: Record<string, unknown>; durationMs: number; ok: boolean }[];
}

export interface RunResult {
  status: RunStatus;
  taskId: string;
  pattern: string;
  team: string;
  output: unknown;
  error?: { error: string; cause: string };
  checkpoints: number;
  trace: TraceEntry[];
  /** Valid checkpoints the task had when this execution started (0 for a new task). */
  checkpointsBefore: number;
  /** Model calls this execution made: steps restored from a checkpoint make none. */
  modelCalls: number;
  /** Every rollback the task has had, oldest first: automatic ones (after an inconsistent step result) and manual ones. */
  rollbacks: RollbackRecord[];
  /** auction: every round (bids received, admitted, rejected per reason) and every award. */
  auction?: AuctionSummary;
  /** The task's human approval, once it escalated: REQUESTED (decided, its wait not begun: a crash at Escalate), PENDING (the run is WAITING), APPROVED, REJECTED, or TIMED_OUT (no decision by its deadline). */
  approval?: ApprovalSummary;
  /** Loops, hallucinated consensus and deadlocks detected in the task, oldest first: what, where, and what was done. */
  detections: DetectionRecord[];
  /**
   * The task's totals over all its executions' steps and every sub-team's (tokens, model calls,
   * agent steps, checkpoints, rollbacks, detections, budget refusals): restored steps count once.
   */
  totals: RunTotals;
  durationMs: number;
}

/** A task's approval as runs report it (the callback token is left out). */
export type ApprovalSummary = Omit<Approval, 'taskToken'>;

/** A human's decision on a waiting task; the run is then resumed with it. */
export type ApprovalDecisionRequest = Pick<RunRequest, 'team' | 'taskId' | 'onProgress'> & Omit<DecisionInput, 'decision'>;

export type ProgressEvent =
  | { type: 'step-started'; agent: string; state: string; stepsDone: number }
  | { type: 'step-finished'; agent: string; state: string; stepsDone: number; durationMs: number }
  | { type: 'step-failed'; agent: string; state: string; stepsDone: number; error: string };

export interface RunRequest {
  team: TeamDefinition;
  input: unknown;
  taskId: string;
  onProgress?: (event: ProgressEvent) => void;
  /** Called as each state starts (e.g. to crash the process there on purpose). */
  onStateEntered?: (stateName: string) => void;
  /** Aborting it drops the execution where it is, as a crash in this process would (status ABORTED). */
  signal?: AbortSignal;
  /** auction: late or duplicated bids for this task, on purpose (scripted shortcuts). @default none */
  auctionFaults?: AuctionFaults;
  /**
   * Agents with `resources`: wraps the team's resource pool each of them leases from, e.g. to hold
   * between leases so that a deadlock forms every time (`--inject deadlock`, a scripted shortcut). @default none
   */
  wrapResourcePool?: ((pool: LeasingPool) => LeasingPool) | undefined;
  /** Agents with `resources`: how long a step waits for a resource before DeadlockTimeoutError. @default the agent's (leaseTimingsOf) */
  leaseWaitTimeoutMs?: number | undefined;
}

/** How the agents of an execution lease their resources. */
export type LeasingRunOptions = Pick<RunRequest, 'wrapResourcePool' | 'leaseWaitTimeoutMs'>;

export type ResumeRequest = Omit<RunRequest, 'input'>;

export interface LocalRuntimeOptions {
  /**
   * Keep DynamoDB data on disk in this folder (and the metrics `legion alarms` reads). With
   * `endpoint`, the folder holds only the metrics and alarm states. @default in memory
   */
  dataDir?: string | undefined;
  /** Use the DynamoDB (Local) already running at this URL instead of starting one. @default start DynamoDB Local */
  endpoint?: string | undefined;
  /** The checkpoint table, created if missing. @default LOCAL_TABLE_NAME */
  tableName?: string | undefined;
  /** The model every agent uses. @default the scripted model */
  model?: ModelProvider;
  /** Copy the handlers' structured logs to this stream. @default nowhere */
  logStream?: NodeJS.WritableStream | undefined;
  /** How often a long step writes a progress checkpoint. @default a third of each agent's timeout, at most DEFAULT_PROGRESS_CHECKPOINT_SECONDS (progressCheckpointSecondsOf) */
  progressCheckpointSeconds?: number | undefined;
  /** The bus auctions announce on (and `legion emit` puts events on). @default a new LocalEventBus */
  eventBus?: LocalEventBus | undefined;
  /**
   * How long an escalated run waits, in this process, for its approval before it stops WAITING
   * (decide it later with `approve` / `reject`, from any process). @default 0
   */
  approvalWaitMs?: number | undefined;
  /** The clock of approvals: when they are requested and decided, and whether their deadline passed. @default Date.now */
  now?: (() => number) | undefined;
  /** A fraction of the agents' checkpoint saves fail as throttled (`--inject checkpoint-failures:<rate>`, a scripted fault). @default none */
  checkpointFaults?: CheckpointFaults | undefined;
}

/** The function ARN an agent has in the local runtime. */
export function localFunctionArn(team: string, agentId: string): string {
  return `arn:aws:lambda:local:000000000000:function:legion-${team}-${agentId}`;
}

/** The state machine ARN a team has in the local runtime (a hierarchical lead's roster lists it). */
export function localStateMachineArn(team: string): string {
  return `arn:aws:states:local:000000000000:stateMachine:legion-${team}`;
}

/** What nested executions share with the execution that started them: its abort signal and state hook. */
interface ExecutionScope {
  signal?: AbortSignal | undefined;
  /** Nested executions report their states as `<team>/<state>`. */
  onStateEntered?: ((stateName: string) => void) | undefined;
  /** An escalated execution (or nested one) waits for a human: the whole execution stops, WAITING. */
  onTaskTokenPending?: (() => void) | undefined;
  /** Nested teams' agents lease as the parent's do. */
  leasing?: LeasingRunOptions | undefined;
  /** Whether the execution stopped because it waits for a human (not a crash): nested tasks stopped with it keep their status. */
  waiting?: (() => boolean) | undefined;
  /** The agents' toolboxes, closed when the execution ends (MCP servers are stopped with it). */
  toolboxes: { close(): Promise<void> }[];
}

export class LocalRuntime {
  public readonly telemetry: TelemetrySink;
  /** The local Legion event bus: auction announcements and bids travel on it. */
  public readonly eventBus: LocalEventBus;
  private readonly store: CheckpointManager;
  private readonly auctions: AuctionStore;
  private readonly auctionHouse: LocalAuctionHouse;
  private readonly approvals: ApprovalStore;
  private readonly detections: DetectionLog;
  /** The tasks' status items (unscoped, as the control functions' store in AWS: scope it with forTeam). */
  public readonly statuses: TaskStatusStore;
  /** Where escalated executions' callback tokens are answered (Step Functions' SendTask* API: success, failure, heartbeat). */
  public readonly taskTokens = new LocalTaskTokens();
  private readonly approvalWaitMs: number;
  private readonly model: ModelProvider;
  private readonly progressCheckpointSeconds: number | undefined;
  /** One count of checkpoint saves for every agent of the runtime, when some must fail. */
  private readonly checkpointWrites: CheckpointWriteFaults | undefined;

  private constructor(
    public readonly db: DynamoDbLocal,
    options: LocalRuntimeOptions,
  ) {
    // Tool modules and custom handlers come from the user's folders, TypeScript wherever they are.
    useModuleLoader(importModule);
    // With a data folder, metrics add up across runs and processes there (for `legion alarms`).
    this.telemetry = new TelemetrySink({ forwardLogsTo: options.logStream, metricsFile: options.dataDir ? metricsFileOf(options.dataDir) : undefined });
    this.checkpointWrites = options.checkpointFaults ? new CheckpointWriteFaults(options.checkpointFaults) : undefined;
    // Unscoped, as the control functions' stores are in AWS: each use is scoped to a team (forTeam).
    const table = { client: db.documentClient(), tableName: db.tableName, team: UNSCOPED_TEAM };
    this.store = new CheckpointManager(table);
    this.model = options.model ?? new ScriptedModel();
    this.progressCheckpointSeconds = options.progressCheckpointSeconds;
    this.eventBus = options.eventBus ?? new LocalEventBus();
    this.auctions = new AuctionStore(table);
    this.approvals = new ApprovalStore({ ...table, ...(options.now ? { now: options.now } : {}) });
    this.detections = new DetectionLog(table);
    this.statuses = new TaskStatusStore(table);
    this.approvalWaitMs = options.approvalWaitMs ?? 0;
    this.auctionHouse = new LocalAuctionHouse({
      bus: this.eventBus,
      auctions: this.auctions,
      telemetry: this.telemetry,
      documentClient: db.documentClient(),
      tableName: db.tableName,
      model: this.model,
      functionArnOf: localFunctionArn,
    });
  }

  /**
   * Starts DynamoDB Local (in memory, or on disk in `dataDir`), or connects to `endpoint` when
   * given, and returns a ready runtime.
   */
  public static async start(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
    const { endpoint, tableName, dataDir } = options;
    // The metrics of the folder still go there when another process holds the database.
    if (endpoint && dataDir) prepareDataFolder(dataDir);
    const db = endpoint ? await DynamoDbLocal.connect(endpoint, { tableName }) : await DynamoDbLocal.start({ dataDir: options.dataDir, tableName });
    return new LocalRuntime(db, options);
  }

  /** A runtime on a DynamoDB Local that is already running (shared by a test run). */
  public static async connect(endpoint: string, options: Omit<LocalRuntimeOptions, 'dataDir' | 'endpoint'> = {}): Promise<LocalRuntime> {
    return new LocalRuntime(await DynamoDbLocal.connect(endpoint, { tableName: options.tableName }), options);
  }

  /** Runs a team on its pattern's state machine to the end and reports what happened. */
  public async run(request: RunRequest): Promise<RunResult> {
    const spec = PATTERNS[request.team.pattern];
    const parsed = spec.inputSchema.safeParse(request.input);
    if (!parsed.success) throw new InvalidEventError(`${request.team.pattern} input`, describeIssues(parsed.error.issues));
    // Step Functions would refuse it at StartExecution: refused here too, before Begin stores it.
    const tooLarge = executionInputSizeProblem(request.input);
    if (tooLarge) throw new InvalidEventError(`${request.team.pattern} input`, [`the input ${tooLarge}`]);
    // Begin would refuse it too (the run would end FAILED): refused here, before anything runs.
    const owner = await this.store.findOwner(request.taskId);
    if (owner && owner.team !== request.team.name) throw new TaskOwnedByAnotherTeamError(request.taskId, request.team.name, owner.team);
    return this.execute(request, request.input, request.taskId);
  }

  /**
   * Resumes a task in a new execution, as `{ "resume": { "taskId" } }` does in AWS: steps already
   * checkpointed are not run again, the others run, and writers of earlier executions are fenced off.
   */
  public async resume(request: ResumeRequest): Promise<RunResult> {
    const executionName = `${request.taskId.slice(0, 60)}-resume-${Date.now().toString(36)}`;
    return this.execute(request, { resume: { taskId: request.taskId } }, executionName);
  }

  private async execute(request: ResumeRequest, input: unknown, executionName: string): Promise<RunResult> {
    const { team, taskId } = request;
    const store = this.store.forTeam(team.name);
    const checkpointsBefore = (await store.list(taskId)).filter((checkpoint) => checkpoint.valid && checkpoint.kind === 'step').length;
    // Every Begin that takes the task raises its epoch: unchanged after the run, this execution never began it.
    const { epoch: epochBefore } = await store.rollbackSummary(taskId);
    if (team.pattern === 'auction') {
      this.auctionHouse.install(team);
      this.auctionHouse.setFaults(taskId, request.auctionFaults ?? { lateBidders: [], duplicateBidders: [] });
    }
    const model = new CallCountingModel(this.model);
    // Stops the execution (and its nested ones) when the caller aborts, or when it waits for a human.
    const stop = new AbortController();
    const abort = (): void => {
      stop.abort();
    };
    request.signal?.addEventListener('abort', abort, { once: true });
    const pending = { waiting: false };
    const onTaskTokenPending = (): void => {
      pending.waiting = true;
      stop.abort();
    };
    const leasing: LeasingRunOptions = { wrapResourcePool: request.wrapResourcePool, leaseWaitTimeoutMs: request.leaseWaitTimeoutMs };
    const scope: ExecutionScope = { signal: stop.signal, onStateEntered: request.onStateEntered, onTaskTokenPending, leasing, waiting: () => pending.waiting, toolboxes: [] };
    const machine = await this.buildMachine(team, model, request.onProgress, scope);
    const started = performance.now();
    let output: unknown = null;
    let error: RunResult['error'];
    let aborted = false;
    try {
      output = await machine.run(input as never, { executionName, onStateEntered: request.onStateEntered, signal: stop.signal });
    } catch (failure) {
      if (failure instanceof ExecutionAbortedError) aborted = true;
      else if (failure instanceof ExecutionFailedError) error = { error: failure.errorName, cause: failure.errorCause };
      else throw failure;
    } finally {
      request.signal?.removeEventListener('abort', abort);
      await Promise.all(scope.toolboxes.map((toolbox) => toolbox.close()));
    }
    const checkpoints = await store.list(taskId);
    // Only a team with tools has tool calls to list: the others spare the query.
    const toolCalls = team.agents.some((agent) => agent.tools.length > 0)
      ? await new ToolCallJournal({ client: this.db.documentClient(), tableName: this.db.tableName, team: team.name }).list(taskId)
      : [];
    const { log: rollbacks, epoch } = await store.rollbackSummary(taskId);
    const approval = await this.approvals.forTeam(team.name).get(taskId);
    const status: RunStatus = pending.waiting ? 'WAITING' : aborted ? 'ABORTED' : statusOf(error);
    // In AWS publish-outcome records how an execution ended; here the runtime is Step Functions.
    // Not for an execution refused at Begin (a task id run again with another input): the task's
    // status is its own execution's. The same status as publish-outcome's, for the event-triggered runs it also sees.
    const statuses = this.statuses.forTeam(team.name);
    if (epoch > epochBefore) await statuses.finish(taskId, status, { executionName });
    return {
      status,
      taskId,
      pattern: team.pattern,
      team: team.name,
      output,
      ...(error ? { error } : {}),
      checkpoints: checkpoints.length,
      checkpointsBefore,
      modelCalls: model.calls,
      rollbacks,
      ...(team.pattern === 'auction' ? { auction: await this.auctions.forTeam(team.name).summary(taskId) } : {}),
      ...(approval ? { approval: withoutToken(approval) } : {}),
      detections: await this.detections.forTeam(team.name).list(taskId),
      totals: await statuses.totals(taskId),
      trace: checkpoints.filter((checkpoint) => checkpoint.kind === 'step').map((checkpoint) => toTraceEntry(checkpoint, toolCalls)),
      durationMs: Math.round(performance.now() - started),
    };
  }

  /**
   * Approves a waiting (escalated) task and resumes it: the run ends SUCCEEDED with the human's
   * `output`, as SendTaskSuccess on its token does in AWS. Works from any process on the data folder.
   *
   * @throws {ApprovalNotPendingError} when the task is not waiting for a decision
   */
  public approve(request: ApprovalDecisionRequest): Promise<RunResult> {
    return this.decide(request, 'APPROVED');
  }

  /**
   * Rejects a waiting (escalated) task and resumes it: the run ends FAILED with HumanRejectedError.
   *
   * @throws {ApprovalNotPendingError} when the task is not waiting for a decision
   */
  public reject(request: ApprovalDecisionRequest): Promise<RunResult> {
    return this.decide(request, 'REJECTED');
  }

  /**
   * The task's approval, once it escalated; undefined otherwise. Nothing runs on a schedule
   * locally: a pending approval found past its deadline is recorded TIMED_OUT here, as the approval
   * keeper would have done by then in AWS.
   */
  public async approval(taskId: string): Promise<ApprovalSummary | undefined> {
    const owner = await this.store.findOwner(taskId);
    if (!owner) return undefined;
    const approvals = this.approvals.forTeam(owner.team);
    let approval = await approvals.get(taskId);
    if (approval?.status === 'PENDING' && approvals.isPastDeadline(approval.requestedAt)) {
      approval = (await approvals.timeOut(taskId)) ?? (await approvals.get(taskId));
    }
    return approval ? withoutToken(approval) : undefined;
  }

  /**
   * Runs the approval keeper once (in AWS an EventBridge schedule runs it): a heartbeat for every
   * pending approval whose execution waits in this process, and TIMED_OUT (with
   * EscalationTimedOutError to a waiting execution) for those past their deadline. A task whose run
   * stopped WAITING has no live execution locally: its heartbeat is refused and counted as failed.
   *
   * @throws {ApprovalKeeperError} when an approval could not be looked after for another reason
   */
  public async sweepApprovals(): Promise<ApprovalSweep> {
    const { logger, metrics } = controlTelemetry('legion-approval-keeper');
    this.telemetry.attach(logger, metrics);
    const keeper = new LocalLambda({
      functionName: 'legion-control-approval-keeper',
      functionArn: localFunctionArn('control', 'approval-keeper'),
      timeoutSeconds: 60,
      memoryMb: 256,
      handler: createApprovalKeeperHandler({ approvals: this.approvals, callbacks: this.taskTokens, logger, metrics }),
    });
    const { Payload } = await keeper.invoke({ source: 'legion.local', 'detail-type': 'Scheduled Event' });
    return Payload as ApprovalSweep;
  }

  private async decide(request: ApprovalDecisionRequest, decision: 'APPROVED' | 'REJECTED'): Promise<RunResult> {
    const { team, taskId, onProgress, ...input } = request;
    await this.approvals.forTeam(team.name).decide(taskId, { ...input, decision });
    return this.resume({ team, taskId, ...(onProgress ? { onProgress } : {}) });
  }

  /** The team, pattern and input a task was started with (found by its id alone); undefined for an unknown task. */
  public async describeTask(taskId: string): ReturnType<CheckpointManager['describeTask']> {
    const owner = await this.store.findOwner(taskId);
    return owner ? this.store.forTeam(owner.team).describeTask(taskId) : undefined;
  }

  /**
   * auction: the rounds and awards of a task's auction (empty for other tasks).
   *
   * @throws {TaskNotFoundError} for an unknown task
   */
  public async auctionSummary(taskId: string): Promise<AuctionSummary> {
    return this.auctions.forTeam(await this.teamOf(taskId)).summary(taskId);
  }

  /** auction: awarded tasks a bidder of a team holds now. */
  public bidderLoad(team: string, bidder: string): Promise<number> {
    return this.auctions.forTeam(team).bidderLoad(team, bidder);
  }

  /** The stored, unexpired checkpoints of a task, oldest first (none for an unknown task). */
  public async checkpoints(taskId: string): Promise<Checkpoint[]> {
    const owner = await this.store.findOwner(taskId);
    return owner ? this.store.forTeam(owner.team).list(taskId) : [];
  }

  /**
   * Rolls a task back (see CheckpointManager.rollback); a later resume re-runs the undone steps.
   *
   * @throws {TaskNotFoundError} for an unknown task
   */
  public async rollback(taskId: string, options: RollbackOptions): Promise<RollbackResult> {
    return this.store.forTeam(await this.teamOf(taskId)).rollback(taskId, options);
  }

  /**
   * The status item of a task (found by its id alone), its totals (sub-teams included) and the
   * statuses of its child tasks; undefined for an unknown task or one without a status item.
   */
  public async taskStatus(taskId: string): Promise<{ status: TaskStatus; totals: RunTotals; children: TaskStatus[] } | undefined> {
    const owner = await this.store.findOwner(taskId);
    if (!owner) return undefined;
    const statuses = this.statuses.forTeam(owner.team);
    const status = await statuses.get(taskId);
    if (!status) return undefined;
    const children = await Promise.all(status.children.map((child) => this.statuses.forTeam(child.team).get(child.taskId)));
    return { status, totals: await statuses.totals(taskId), children: children.filter((child): child is TaskStatus => child !== undefined) };
  }

  /** Every task's status, the most recently updated first (a Scan of the local table: see TaskStatusStore.list). */
  public taskStatuses(): Promise<TaskStatus[]> {
    return this.statuses.list();
  }

  /** @throws {TaskNotFoundError} when no team owns the task id */
  private async teamOf(taskId: string): Promise<string> {
    const owner = await this.store.findOwner(taskId);
    if (!owner) throw new TaskNotFoundError(taskId);
    return owner.team;
  }

  public async stop(): Promise<void> {
    await this.db.stop();
  }

  private async buildMachine(team: TeamDefinition, model: ModelProvider, onProgress: RunRequest['onProgress'], scope: ExecutionScope): Promise<LocalStateMachine> {
    const spec = PATTERNS[team.pattern];
    const arnOf = (agentId: string): string => localFunctionArn(team.name, agentId);
    const controlArnOf = (name: ControlFunctionName): string => localFunctionArn('control', name);
    const counter = { stepsDone: 0 };
    const lambdas = team.agents.map((definition) => {
      const agent = createLocalAgent({
        team,
        agentId: definition.id,
        functionArnOf: arnOf,
        stateMachineArnOf: localStateMachineArn,
        documentClient: this.db.documentClient(),
        tableName: this.db.tableName,
        model,
        telemetry: this.telemetry,
        extraConfig: { progressCheckpointSeconds: this.progressCheckpointSeconds, leaseWaitTimeoutMs: scope.leasing?.leaseWaitTimeoutMs, eventBusName: this.eventBus.name },
        events: localEventsClient(this.eventBus),
        wrapResourcePool: scope.leasing?.wrapResourcePool,
        checkpointWrites: this.checkpointWrites,
      });
      if (agent.deps.tools) scope.toolboxes.push(agent.deps.tools);
      return localAgentLambda(team.name, agent, withProgress(definition.id, agent.handler, counter, onProgress));
    });
    const substitutions = spec.substitutions(team, { agent: arnOf, control: controlArnOf, eventBusName: this.eventBus.name });
    const control = CONTROL_FUNCTIONS.map((name) => this.controlLambda(name, controlArnOf(name)));
    return LocalStateMachine.fromFile(spec.aslFile, substitutions, [...lambdas, ...control], {
      nestedMachines: await this.nestedMachines(team, model, onProgress, scope),
      eventBus: this.eventBus,
      taskTokens: this.taskTokens,
      taskTokenWaitMs: this.approvalWaitMs,
      onTaskTokenPending: scope.onTaskTokenPending,
    });
  }

  /**
   * The sub-teams of a hierarchical team, each as a nested execution run in-process: its own state
   * machine and handlers, the same DynamoDB Local and model. Aborting the parent aborts them too,
   * as stopping a parent stops its `.sync` children in AWS.
   */
  private async nestedMachines(team: TeamDefinition, model: ModelProvider, onProgress: RunRequest['onProgress'], scope: ExecutionScope): Promise<Map<string, NestedMachineRunner>> {
    const runners = new Map<string, NestedMachineRunner>();
    for (const subTeam of team.subTeams ?? []) {
      const child = team.subTeamDefinitions?.[subTeam.team];
      if (!child) throw new TeamDefinitionError(team.name, [`sub-team ${subTeam.id}: definition of team ${subTeam.team} not loaded (load the team with loadTeamFile)`]);
      if (runners.has(localStateMachineArn(child.name))) continue;
      const parentHook = scope.onStateEntered;
      const childScope: ExecutionScope = { signal: scope.signal, onTaskTokenPending: scope.onTaskTokenPending, leasing: scope.leasing, waiting: scope.waiting, toolboxes: scope.toolboxes, onStateEntered: parentHook && ((state) => {
          parentHook(`${child.name}/${state}`);
        }) };
      const machine = await this.buildMachine(child, model, onProgress, childScope);
      runners.set(localStateMachineArn(child.name), async (input, executionName) => {
        // As publish-outcome records a nested execution's end in AWS (its parent publishes the run's outcome).
        const nested = NestedTaskInputSchema.safeParse(input);
        const finish = async (status: StoppedTaskStatus): Promise<void> => {
          if (nested.success) await this.statuses.forTeam(child.name).finish(nested.data.nestedTask.taskId, status, { executionName });
        };
        try {
          const output = await machine.run(input, { executionName, ...childScope });
          await finish('SUCCEEDED');
          return output;
        } catch (failure) {
          if (failure instanceof ExecutionFailedError) await finish(statusOf({ error: failure.errorName, cause: failure.errorCause }));
          // Stopped to wait for a human: the task that escalated says WAITING (request-approval), the others keep theirs.
          else if (failure instanceof ExecutionAbortedError && scope.waiting?.() !== true) await finish('ABORTED');
          throw failure;
        }
      });
    }
    return runners;
  }

  private controlLambda(name: ControlFunctionName, functionArn: string): LocalLambda {
    const { logger, metrics } = controlTelemetry(`legion-${name}`);
    this.telemetry.attach(logger, metrics);
    const deps: LocalControlDependencies = {
      checkpoints: this.store,
      auctions: this.auctions,
      approvals: this.approvals,
      detections: this.detections,
      statuses: this.statuses,
      callbacks: this.taskTokens,
      events: localEventsClient(this.eventBus),
      eventBusName: this.eventBus.name,
      logger,
      metrics,
    };
    return new LocalLambda({
      functionName: `legion-control-${name}`,
      functionArn,
      timeoutSeconds: 30,
      memoryMb: 256,
      handler: CONTROL_HANDLERS[name](deps),
    });
  }
}

/** Counts the calls an execution makes to its model: the side effects of its agent steps. */
class CallCountingModel implements ModelProvider {
  public calls = 0;

  public constructor(private readonly inner: ModelProvider) {}

  public converse(request: ModelRequest): Promise<ModelReply> {
    this.calls += 1;
    return this.inner.converse(request);
  }
}

function withProgress<C>(
  agent: string,
  handler: (event: unknown, context: C) => Promise<unknown>,
  counter: { stepsDone: number },
  onProgress: RunRequest['onProgress'],
): (event: unknown, context: C) => Promise<unknown> {
  if (!onProgress) return handler;
  return async (event, context) => {
    const stateName = (event as { stateName?: unknown } | null)?.stateName;
    const state = typeof stateName === 'string' ? stateName : 'unknown';
    onProgress({ type: 'step-started', agent, state, stepsDone: counter.stepsDone });
    const started = performance.now();
    try {
      const result = await handler(event, context);
      counter.stepsDone += 1;
      onProgress({ type: 'step-finished', agent, state, stepsDone: counter.stepsDone, durationMs: Math.round(performance.now() - started) });
      return result;
    } catch (error) {
      onProgress({ type: 'step-failed', agent, state, stepsDone: counter.stepsDone, error: (error as Error).message });
      throw error;
    }
  };
}

/** What the control functions' handlers are given locally: each takes the part it uses. */
type LocalControlDependencies = ControlDependencies & Omit<RequestApprovalDependencies, 'approvals'>;

/** The handler factory of each control function, as its Lambda entry point uses it. */
const CONTROL_HANDLERS: Record<ControlFunctionName, (deps: LocalControlDependencies) => (event: unknown, context: Context) => Promise<unknown>> = {
  'begin-task': createBeginTaskHandler,
  'rollback-task': createRollbackTaskHandler,
  'request-approval': createRequestApprovalHandler,
  'record-detection': createRecordDetectionHandler,
  'open-auction': createOpenAuctionHandler,
  'close-auction': createCloseAuctionHandler,
  'settle-award': createSettleAwardHandler,
};

/** A failed run whose error is an escalation is waiting for a human, not broken. */
function statusOf(error: RunResult['error']): RunStatus {
  if (!error) return 'SUCCEEDED';
  return (ESCALATION_ERRORS as readonly string[]).includes(error.error) ? 'ESCALATED' : 'FAILED';
}

function withoutToken(approval: Approval): ApprovalSummary {
  const { taskToken: _token, ...summary } = approval;
  return summary;
}

function toTraceEntry(checkpoint: Checkpoint, toolCalls: readonly ToolCallRecord[]): TraceEntry {
  const calls = toolCalls.filter((call) => call.stepKey === checkpoint.stepKey);
  return {
    sequence: checkpoint.sequence,
    agent: checkpoint.agent,
    state: checkpoint.stateName,
    durationMs: checkpoint.durationMs,
    tokens: checkpoint.tokens,
    ...(calls.length > 0 ? { toolCalls: calls.map(({ name, input, durationMs, isError }) => ({ name, input, durationMs, ok: !isError })) } : {}),
  };
}
