/**
 * Over 500 lines on purpose: one benchmark's scenarios and their measurements, side by side.
 *
 * Recovery success after randomised faults (issue 3): each trial starts a task of the telecom team
 * on the local runtime (real ASL, real handlers, one DynamoDB Local), injects one fault at a random
 * point, recovers the way the fault calls for (resume, rollback, or nothing when the state machine
 * recovers by itself), and checks the result against an uninterrupted run of the same input.
 *
 * Fault kinds, in equal numbers and in a seeded random order:
 * - `crash`: the process state is dropped as the k-th state starts (the execution is aborted,
 *   every later model call of that process fails and none of its writes leave it, so steps in
 *   flight leave no result); resume.
 * - `late-writer`: the same crash, but the steps in flight are only held: their replies arrive once
 *   the resumed execution has taken the task over, and their writes must be refused (fencing).
 * - `step-failure`: one step's model fails 1, 2 or 3 times in a row (`ModelInvocationError`). The
 *   state machine retries twice: 1-2 failures recover inside the run; 3 fail a supervisor step (the
 *   run FAILS; resume) or a worker (the run answers without it, as designed; the operator rolls the
 *   synthesis back and resumes).
 * - `inconsistent-output`: a step's model answers off contract once or twice; the state machine
 *   rolls back and runs the step again inside the run.
 * - `corrupt-checkpoint`: a crash (or a finished run), then one stored step checkpoint is altered
 *   in DynamoDB (a value changed, the state truncated, or the checksum overwritten); resume must
 *   detect it and run that step again.
 * - `manual-rollback`: a finished task is rolled back to a random earlier checkpoint; resume.
 *
 * A trial succeeds when the final status is SUCCEEDED, the output is deep-equal to the reference,
 * each step of the reference has exactly one valid checkpoint (checksum verified) and no other,
 * and the recovery called the model exactly for the steps that had no valid result (no step acted
 * twice). The trial plan is a function of the seed; what a trial measures is its recovery time:
 * the resume (plus rollback or re-run where needed), or the run for faults recovered inside it.
 *
 * @example
 * ```ts
 * const recovery = await runRecoveryBench(db, { trials: 1000, seed: 42 });
 * const failed = recovery.trials.filter((trial) => !trial.success);
 * ```
 */
import { isDeepStrictEqual } from 'node:util';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Checkpoint, CheckpointManager, verifyCheckpoint } from '../functions/recovery/checkpoint-manager.ts';
import { CHECKPOINT_TABLE, checkpointSortKey, taskPartition } from '../functions/core/contract.ts';
import { ModelInvocationError } from '../functions/core/errors.ts';
import type { ModelProvider, ModelReply, ModelRequest } from '../functions/models/model-provider.ts';
import { ScriptedModel } from '../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../functions/core/team.ts';
import { type DynamoDbLocal, LOCAL_TABLE_NAME } from '../local/dynamodb-local.ts';
import { LocalRuntime, type ProgressEvent, type RunResult } from '../local/local-runtime.ts';
import { Progress } from './progress.ts';
import { type Random, seededRandom, shuffled } from './random.ts';


export interface RecoveryConfig {
  trials: number;
  seed: number;
}

export const RECOVERY_TRIALS = { full: 1000, quick: 40 } as const;

export const FAULT_KINDS = ['crash', 'late-writer', 'step-failure', 'inconsistent-output', 'corrupt-checkpoint', 'manual-rollback'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface TrialOutcome {
  index: number;
  kind: FaultKind;
  /** Which request (e.g. `2 workers`). */
  input: string;
  /** Where and what the fault was, e.g. `crash as state 5 (Work) starts`. */
  point: string;
  /** How the task was recovered, e.g. `resume`. */
  path: string;
  success: boolean;
  /** Why the trial failed; undefined when it succeeded. */
  reason?: string | undefined;
  recoveryMs: number;
}

export interface RecoveryResults {
  config: RecoveryConfig;
  team: string;
  inputs: string[];
  trials: TrialOutcome[];
  seconds: number;
}

const TEAM_FILE = 'teams/telecom-support.yaml';

/** Requests the telecom team routes to 1, 2 and 3 workers, and one that no worker matches. */
const REQUESTS = [
  { label: '1 worker', request: 'I want to cancel my contract' },
  { label: '2 workers', request: 'My bill is wrong and my wifi keeps dropping' },
  { label: '3 workers', request: 'I was charged twice, my internet is slow, and I want to upgrade my plan' },
  { label: 'fallback', request: 'Hello there, anybody around?' },
] as const;

/** Model failures in a row that the ASL's Retry on ModelInvocationError absorbs (MaxAttempts 2). */
const RETRIED_FAILURES = 2;
/** The team's default limit of automatic rollbacks: off-contract faults up to it still succeed. */
const ROLLBACK_LIMIT = 2;
const CORRUPTIONS = ['changed-value', 'truncated', 'checksum'] as const;
type Corruption = (typeof CORRUPTIONS)[number];
/** Longest wait for the steps of a crashed execution to settle before going on. */
const SETTLE_TIMEOUT_MS = 5000;

interface Step {
  agent: string;
  state: string;
}

interface Reference {
  label: string;
  input: { request: string };
  output: unknown;
  /** States in the order the run entered them (Map iterations included). */
  states: string[];
  steps: Step[];
}

type FaultPlan =
  | { kind: 'crash'; crashAt: number }
  /** releaseAt: the held steps answer as the resumed execution enters this state (from 2, after Begin), or after it ends. */
  | { kind: 'late-writer'; crashAt: number; releaseAt: number }
  | { kind: 'step-failure'; step: Step; failures: number }
  | { kind: 'inconsistent-output'; stateName: string; times: number }
  /** crashAt undefined: the run finishes before the corruption. pick in [0, 1) chooses the checkpoint. */
  | { kind: 'corrupt-checkpoint'; crashAt: number | undefined; pick: number; corruption: Corruption }
  /** pick in [0, 1) chooses the rollback target among the earlier valid checkpoints. */
  | { kind: 'manual-rollback'; pick: number };

interface Trial {
  index: number;
  taskId: string;
  reference: Reference;
  fault: FaultPlan;
  /** Agent steps that failed outside the crashed execution, as `agent:state: message`: shown with a failed trial. */
  stepErrors: string[];
}

interface Context {
  db: DynamoDbLocal;
  team: TeamDefinition;
  store: CheckpointManager;
}

/** What a recovery ended with, before it is judged. */
interface Recovery {
  path: string;
  recoveryMs: number;
  final: RunResult;
  /** Model calls the recovery should have made: one per step without a valid result, plus the faulty ones. */
  expectedModelCalls: number;
  /** A check of the fault itself that failed (e.g. it did not take effect). */
  problem?: string | undefined;
  /** What the fault hit, known only once it ran (e.g. which checkpoint was corrupted). */
  detail?: string | undefined;
}

export async function runRecoveryBench(db: DynamoDbLocal, config: RecoveryConfig): Promise<RecoveryResults> {
  const started = performance.now();
  const team = await loadTeamFile(TEAM_FILE);
  const context: Context = { db, team, store: new CheckpointManager({ team: team.name, client: db.documentClient(), tableName: LOCAL_TABLE_NAME }) };
  const references = await referenceRuns(context, `recovery-${config.seed}`);
  const trials = planTrials(config, references, seededRandom(config.seed));
  process.stderr.write(`recovery after faults: ${trials.length} trials (${FAULT_KINDS.join(', ')}), in random order\n`);
  const progress = new Progress('recovery trials', trials.length);
  const outcomes: TrialOutcome[] = [];
  for (const trial of trials) {
    outcomes.push(await runTrial(context, trial));
    progress.add(1);
  }
  progress.done();
  return { config, team: team.name, inputs: references.map((reference) => reference.label), trials: outcomes, seconds: (performance.now() - started) / 1000 };
}

/** One uninterrupted run per request: the output, states and steps every trial is compared with. */
async function referenceRuns(context: Context, prefix: string): Promise<Reference[]> {
  const references: Reference[] = [];
  for (const [index, { label, request }] of REQUESTS.entries()) {
    const states: string[] = [];
    const result = await withRuntime(context, new ScriptedModel(), (runtime) =>
      runtime.run({ team: context.team, input: { request }, taskId: `${prefix}-reference-${index}`, onStateEntered: (state) => states.push(state) }),
    );
    const steps = result.trace.map(({ agent, state }) => ({ agent, state }));
    // The expected model calls below assume one call per step; a team or ASL change that breaks this must stop the benchmark.
    if (result.status !== 'SUCCEEDED' || result.modelCalls !== steps.length) {
      throw new Error(`reference run "${label}" ended ${result.status} with ${result.modelCalls} model calls for ${steps.length} steps`);
    }
    references.push({ label, input: { request }, output: result.output, states, steps });
  }
  return references;
}

function planTrials(config: RecoveryConfig, references: readonly Reference[], random: Random): Trial[] {
  // Equal numbers of each kind, in random order, so that every kind gets a rate and machine noise
  // falls on all of them alike.
  const kinds = shuffled(Array.from({ length: config.trials }, (_, index) => FAULT_KINDS[index % FAULT_KINDS.length] ?? 'crash'), random);
  return kinds.map((kind, index) => {
    // Rolling back needs a checkpoint before the latest: the fallback route has only one.
    const reference = pick(kind === 'manual-rollback' ? references.filter((candidate) => candidate.steps.length >= 2) : references, random);
    return { index, taskId: `recovery-${config.seed}-${index}`, reference, fault: planFault(kind, reference, random), stepErrors: [] };
  });
}

function planFault(kind: FaultKind, reference: Reference, random: Random): FaultPlan {
  const states = reference.states.length;
  switch (kind) {
    case 'crash':
      return { kind, crashAt: integer(1, crashableStates(reference), random) };
    case 'late-writer':
      // Only a state with a model step can have a step in flight to hold. State 2 of the resumed
      // execution starts after its Begin raised the epoch; states + 1 means after it ended.
      return { kind, crashAt: pick(modelStateIndexes(reference), random), releaseAt: integer(2, states + 1, random) };
    case 'step-failure':
      return { kind, step: pick(reference.steps, random), failures: integer(1, RETRIED_FAILURES + 1, random) };
    case 'inconsistent-output':
      return { kind, stateName: pick(reference.steps, random).state, times: integer(1, ROLLBACK_LIMIT, random) };
    case 'corrupt-checkpoint': {
      // From the third state on (Route) the first step's checkpoint exists; past the crashable states means after the run.
      const crashable = crashableStates(reference);
      const point = integer(3, crashable + 1, random);
      return { kind, crashAt: point > crashable ? undefined : point, pick: random(), corruption: pick(CORRUPTIONS, random) };
    }
    case 'manual-rollback':
      return { kind, pick: random() };
  }
}

async function runTrial(context: Context, trial: Trial): Promise<TrialOutcome> {
  const base = { index: trial.index, kind: trial.fault.kind, input: trial.reference.label, point: describeFault(trial) };
  try {
    const recovery = await recover(context, trial);
    const reason = withStepErrors(await judge(context, trial, recovery), trial.stepErrors);
    const point = recovery.detail ? `${base.point}: ${recovery.detail}` : base.point;
    return { ...base, point, path: recovery.path, success: reason === undefined, reason, recoveryMs: recovery.recoveryMs };
  } catch (error) {
    // A trial that throws is a failed recovery, not a failed benchmark: record it and go on.
    return { ...base, path: 'threw', success: false, reason: `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, recoveryMs: Number.NaN };
  }
}

function recover(context: Context, trial: Trial): Promise<Recovery> {
  const fault = trial.fault;
  switch (fault.kind) {
    case 'crash':
      return crashThenResume(context, trial, fault.crashAt);
    case 'late-writer':
      return lateWriter(context, trial, fault.crashAt, fault.releaseAt);
    case 'step-failure':
      return stepFailure(context, trial, fault.step, fault.failures);
    case 'inconsistent-output':
      return inconsistentOutput(context, trial, fault.stateName, fault.times);
    case 'corrupt-checkpoint':
      return corruptThenResume(context, trial, fault);
    case 'manual-rollback':
      return rollbackThenResume(context, trial, fault.pick);
  }
}

async function crashThenResume(context: Context, trial: Trial, crashAt: number): Promise<Recovery> {
  const crashed = await crashRun(context, trial, crashAt, 'dead');
  await crashed.settle();
  const resumed = await resumeOrRerun(context, trial);
  return { ...resumed, problem: crashProblem(crashed.result) };
}

async function lateWriter(context: Context, trial: Trial, crashAt: number, releaseAt: number): Promise<Recovery> {
  const crashed = await crashRun(context, trial, crashAt, 'held');
  let entered = 0;
  try {
    // From the resumed execution's second state on, its Begin has raised the epoch: the held steps are stale writers.
    const resumed = await resumeOrRerun(context, trial, () => {
      entered += 1;
      if (entered === releaseAt) crashed.model.release();
    });
    const problem = crashProblem(crashed.result) ?? (crashed.model.heldCalls > 0 ? undefined : 'no step was in flight at the crash');
    return { ...resumed, problem };
  } finally {
    // Judged only after the late writes have landed or been refused.
    await crashed.settle();
  }
}

async function stepFailure(context: Context, trial: Trial, step: Step, failures: number): Promise<Recovery> {
  const model = new FaultyModel({ failing: { step, count: failures } });
  const run = await withRuntime(context, model, (runtime) => timed(() => runtime.run(runRequest(context, trial))));
  const steps = trial.reference.steps.length;
  if (run.result.status === 'FAILED') {
    const resumed = await resumeOrRerun(context, trial);
    return { ...resumed, path: 'run FAILED, resume' };
  }
  const output = run.result.output as Answer | null;
  const partial = run.result.status === 'SUCCEEDED' && handledBy(trial.reference.output).includes(step.agent) && !handledBy(output).includes(step.agent);
  if (!partial) {
    return { path: 'retried within the run', recoveryMs: run.ms, final: run.result, expectedModelCalls: steps + failures };
  }
  // A worker out of retries does not sink the request (the reply says that team will follow up):
  // the follow-up is to undo the synthesis and resume, which runs that worker and the synthesis again.
  const named = typeof output?.answer === 'string' && output.answer.includes(step.agent);
  const recovered = await rollbackAndResume(context, trial, undefined);
  return {
    ...recovered,
    path: 'worker left out, rollback synthesis + resume',
    problem: named ? undefined : `the partial answer does not name ${step.agent}`,
  };
}

/** The part of a supervisor-worker output the partial-answer check reads. */
interface Answer {
  answer?: unknown;
  handledBy?: unknown;
}

function handledBy(output: unknown): unknown[] {
  const agents = (output as Answer | null)?.handledBy;
  return Array.isArray(agents) ? agents : [];
}

async function inconsistentOutput(context: Context, trial: Trial, stateName: string, times: number): Promise<Recovery> {
  const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName, times }] });
  const run = await withRuntime(context, model, (runtime) => timed(() => runtime.run(runRequest(context, trial))));
  const automatic = run.result.rollbacks.filter((rollback) => rollback.automatic).length;
  // Parallel workers can take both faulty replies in one round (one rollback); a lone step takes one per round.
  const fewest = trial.reference.steps.filter((step) => step.state === stateName).length > 1 ? 1 : times;
  return {
    path: 'automatic rollback within the run',
    recoveryMs: run.ms,
    final: run.result,
    expectedModelCalls: trial.reference.steps.length + times,
    problem: automatic >= fewest && automatic <= times ? undefined : `${automatic} automatic rollbacks for ${times} off-contract replies`,
  };
}

async function corruptThenResume(context: Context, trial: Trial, fault: Extract<FaultPlan, { kind: 'corrupt-checkpoint' }>): Promise<Recovery> {
  const before = await (fault.crashAt === undefined ? finishedRun(context, trial) : crashedAndSettled(context, trial, fault.crashAt));
  const candidates = validSteps(await context.store.list(trial.taskId));
  const target = candidates[Math.floor(fault.pick * candidates.length)];
  if (!target) return { ...failedBeforeRecovery(before), problem: 'no step checkpoint to corrupt' };
  await corrupt(context, target, fault.corruption);
  const resumed = await resumeOrRerun(context, trial);
  const after = (await context.store.list(trial.taskId)).find((checkpoint) => checkpoint.sequence === target.sequence);
  // The corrupt checkpoint still counted as valid when the resume started: its step runs once more.
  return {
    ...resumed,
    detail: `checkpoint ${target.sequence} (${stepName(target)})`,
    expectedModelCalls: resumed.expectedModelCalls + 1,
    problem: after?.valid === false ? undefined : `corrupt checkpoint ${target.sequence} (${target.agent}:${target.stateName}) is still marked valid`,
  };
}

async function rollbackThenResume(context: Context, trial: Trial, pickTarget: number): Promise<Recovery> {
  const before = await finishedRun(context, trial);
  if (before.status !== 'SUCCEEDED') return { ...failedBeforeRecovery(before), problem: `the run to roll back ended ${before.status}` };
  const earlier = validSteps(await context.store.list(trial.taskId)).slice(0, -1);
  const target = earlier[Math.floor(pickTarget * earlier.length)];
  if (!target) return { ...failedBeforeRecovery(before), problem: 'no earlier checkpoint to roll back to' };
  const detail = `to checkpoint ${target.sequence} (${stepName(target)}) of ${earlier.length + 1}`;
  return { ...(await rollbackAndResume(context, trial, target.sequence)), path: 'rollback + resume', detail };
}

async function rollbackAndResume(context: Context, trial: Trial, to: number | undefined): Promise<Recovery> {
  const rollback = await timed(() => context.store.rollback(trial.taskId, { to, reason: 'recovery benchmark' }));
  const resumed = await resumeOrRerun(context, trial);
  return { ...resumed, recoveryMs: rollback.ms + resumed.recoveryMs };
}

/** A Recovery for a trial whose fault could not be set up: judged on the run as it stands. */
function failedBeforeRecovery(result: RunResult): Recovery {
  return { path: 'none', recoveryMs: Number.NaN, final: result, expectedModelCalls: result.modelCalls };
}

/**
 * Resumes the task on a fresh runtime (a new process would do the same). A crash before Begin
 * stored the task leaves nothing to resume: running it again is then the documented recovery.
 */
async function resumeOrRerun(context: Context, trial: Trial, onStateEntered?: (state: string) => void): Promise<Recovery> {
  return withRuntime(context, new ScriptedModel(), async (runtime) => {
    const started = performance.now();
    const resumed = await runtime.resume({ team: context.team, taskId: trial.taskId, onStateEntered, onProgress: recordStepErrors(trial) });
    const neverStored = resumed.status === 'FAILED' && resumed.error?.error === 'TaskNotFoundError';
    const final = neverStored ? await runtime.run({ ...runRequest(context, trial), onStateEntered }) : resumed;
    return {
      path: neverStored ? 'resume found no task, run again' : 'resume',
      recoveryMs: performance.now() - started,
      final,
      expectedModelCalls: trial.reference.steps.length - final.checkpointsBefore,
    };
  });
}

interface CrashedRun {
  result: RunResult;
  model: FaultyModel;
  /** Releases held model calls, waits for the steps still in flight to end, and closes the runtime. */
  settle(): Promise<void>;
}

/**
 * Runs the task and drops it as the `crashAt`-th state starts: the execution is aborted and the
 * model stops answering (`dead`: calls fail, as in a killed process; `held`: calls wait for `release()`).
 */
async function crashRun(context: Context, trial: Trial, crashAt: number, mode: CrashMode): Promise<CrashedRun> {
  const model = new FaultyModel();
  const inFlight = new InFlightSteps();
  const controller = new AbortController();
  const runtime = await LocalRuntime.connect(context.db.endpoint, { model });
  if (mode === 'dead') cutOffAfterCrash(runtime, () => model.crashed);
  let entered = 0;
  const onStateEntered = (): void => {
    entered += 1;
    if (entered !== crashAt) return;
    // The runtime stops an execution before the work of the state it was stopped in: a late writer
    // needs its step started, so a held crash stops the execution once the step's model call is in flight.
    if (mode === 'held') {
      model.crash(mode, () => {
        controller.abort();
      });
      return;
    }
    model.crash(mode);
    controller.abort();
  };
  const settle = async (): Promise<void> => {
    model.release();
    await inFlight.settled(SETTLE_TIMEOUT_MS);
    await runtime.stop();
  };
  try {
    const result = await runtime.run({ ...runRequest(context, trial), signal: controller.signal, onStateEntered, onProgress: inFlight.track });
    return { result, model, settle };
  } catch (error) {
    await settle();
    throw error;
  }
}

/**
 * A killed process writes nothing more: a write already on the wire may still land, but no new
 * write or SDK retry leaves it. (Closing the client is not enough: the SDK retries a request cut
 * off that way on a new connection, which a dead process never would.) Reads still pass, because
 * they change nothing and the runtime reads the task's checkpoints to report the aborted run.
 */
function cutOffAfterCrash(runtime: LocalRuntime, crashed: () => boolean): void {
  runtime.db.client.middlewareStack.add(
    (next, context) => (args) =>
      crashed() && !READ_COMMANDS.has(context.commandName ?? '') ? Promise.reject(new ProcessCrashedError('the process crashed')) : next(args),
    // deserialize wraps each attempt, so the retries of a write sent before the crash are cut off too.
    { step: 'deserialize', name: 'benchCrashCutOff' },
  );
}

const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'DescribeTableCommand']);

async function crashedAndSettled(context: Context, trial: Trial, crashAt: number): Promise<RunResult> {
  const crashed = await crashRun(context, trial, crashAt, 'dead');
  await crashed.settle();
  return crashed.result;
}

function finishedRun(context: Context, trial: Trial): Promise<RunResult> {
  return withRuntime(context, new ScriptedModel(), (runtime) => runtime.run(runRequest(context, trial)));
}

function crashProblem(result: RunResult): string | undefined {
  return result.status === 'ABORTED' ? undefined : `the crash did not happen: the run ended ${result.status}`;
}

/** Why a recovered trial failed, or undefined when it succeeded. */
/** Everything wrong with a recovery, joined; undefined when it succeeded. */
async function judge(context: Context, trial: Trial, recovery: Recovery): Promise<string | undefined> {
  const { final } = recovery;
  const problems = recovery.problem ? [recovery.problem] : [];
  if (final.status !== 'SUCCEEDED') problems.push(`ended ${final.status}${final.error ? ` (${final.error.error}: ${final.error.cause})` : ''}`);
  if (!isDeepStrictEqual(final.output, trial.reference.output)) problems.push(outputDifference(final.output, trial.reference.output));
  const checkpoints = checkpointProblem(trial.reference.steps, await context.store.list(trial.taskId));
  if (checkpoints) problems.push(checkpoints);
  if (final.modelCalls !== recovery.expectedModelCalls) {
    problems.push(`${final.modelCalls} model calls, expected ${recovery.expectedModelCalls} (${final.checkpointsBefore} valid checkpoints at the start): a step acted twice or was skipped`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Which top-level fields differ, and the agents that answered when those differ: short enough to read in a list. */
function outputDifference(actual: unknown, expected: unknown): string {
  if (!isRecord(actual) || !isRecord(expected)) return `output ${JSON.stringify(actual)} instead of the reference's`;
  const fields = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].filter((key) => !isDeepStrictEqual(actual[key], expected[key]));
  const agents = fields.includes('handledBy') ? ` (handledBy ${JSON.stringify(actual.handledBy)} instead of ${JSON.stringify(expected.handledBy)})` : '';
  return `output differs from the reference in ${fields.join(', ')}${agents}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The progress callback that keeps the trial's failed steps (deduplicated). */
function recordStepErrors(trial: Trial): (event: ProgressEvent) => void {
  return (event) => {
    if (event.type !== 'step-failed') return;
    const entry = `${event.agent}:${event.state}: ${event.error}`;
    if (!trial.stepErrors.includes(entry)) trial.stepErrors.push(entry);
  };
}

function withStepErrors(reason: string | undefined, stepErrors: readonly string[]): string | undefined {
  if (reason === undefined || stepErrors.length === 0) return reason;
  return `${reason} [failed steps: ${stepErrors.join(' | ')}]`;
}

/** Each reference step must have exactly one valid step checkpoint, whose checksum verifies. */
function checkpointProblem(steps: readonly Step[], stored: readonly Checkpoint[]): string | undefined {
  const valid = validSteps(stored);
  const unverified = valid.find((checkpoint) => !verifyCheckpoint(checkpoint));
  if (unverified) return `valid checkpoint ${unverified.sequence} does not verify`;
  const counts = new Map<string, number>();
  for (const checkpoint of valid) counts.set(stepName(checkpoint), (counts.get(stepName(checkpoint)) ?? 0) + 1);
  for (const step of steps) {
    const count = counts.get(`${step.agent}:${step.state}`) ?? 0;
    if (count !== 1) return `step ${step.agent}:${step.state} has ${count} valid checkpoints`;
    counts.delete(`${step.agent}:${step.state}`);
  }
  const extra = [...counts.keys()];
  return extra.length > 0 ? `valid checkpoints of steps the reference does not have: ${extra.join(', ')}` : undefined;
}

function validSteps(stored: readonly Checkpoint[]): Checkpoint[] {
  return stored.filter((checkpoint) => checkpoint.kind === 'step' && checkpoint.valid);
}

function stepName(checkpoint: Checkpoint): string {
  return `${checkpoint.agent}:${checkpoint.stateName}`;
}

/** Alters one stored checkpoint in place, as bit rot or a bad manual edit would. */
async function corrupt(context: Context, checkpoint: Checkpoint, corruption: Corruption): Promise<void> {
  const client = context.db.documentClient();
  const key = { [CHECKPOINT_TABLE.partitionKey]: taskPartition(context.team.name, checkpoint.taskId), [CHECKPOINT_TABLE.sortKey]: checkpointSortKey(checkpoint.sequence) };
  const stored = await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: key, ConsistentRead: true }));
  const state: unknown = stored.Item?.state;
  if (typeof state !== 'string') throw new Error(`checkpoint ${checkpoint.sequence} has no JSON state to corrupt`);
  const [field, value] = corruptedField(state, corruption);
  await client.send(
    new UpdateCommand({
      TableName: LOCAL_TABLE_NAME,
      Key: key,
      UpdateExpression: 'SET #field = :value',
      ExpressionAttributeNames: { '#field': field },
      ExpressionAttributeValues: { ':value': value },
    }),
  );
}

function corruptedField(state: string, corruption: Corruption): ['state' | 'checksum', string] {
  switch (corruption) {
    case 'changed-value':
      // Still valid JSON of the right shape: only the checksum can tell.
      return ['state', changeFirstString(state)];
    case 'truncated':
      return ['state', state.slice(0, Math.floor(state.length / 2))];
    case 'checksum':
      return ['checksum', 'f'.repeat(64)];
  }
}

/** The JSON text with its first plain string value altered: still JSON, same shape, other content. */
function changeFirstString(state: string): string {
  const changed = state.replace(/:"([^"\\]*)"/, ':"$1 (altered)"');
  return changed === state ? '{"altered":true}' : changed;
}

type CrashMode = 'dead' | 'held';

/** A model call of a process that no longer exists. */
class ProcessCrashedError extends Error {
  public override readonly name = 'ProcessCrashed';
}

interface FaultyModelOptions {
  /** The first `count` calls of this step fail with ModelInvocationError. */
  failing?: { step: Step; count: number };
}

/** The scripted model, with the faults of one trial: failing calls, and a crash. */
class FaultyModel implements ModelProvider {
  private readonly scripted = new ScriptedModel();
  private failuresLeft: number;
  private mode: 'alive' | CrashMode = 'alive';
  /** Calls made after a `held` crash: the steps that were in flight. */
  public heldCalls = 0;
  private readonly released: Promise<void>;
  private releaseHeld: () => void = () => undefined;
  private onFirstHeld: () => void = () => undefined;

  public constructor(private readonly options: FaultyModelOptions = {}) {
    this.failuresLeft = options.failing?.count ?? 0;
    this.released = new Promise((resolve) => {
      this.releaseHeld = resolve;
    });
  }

  public converse(request: ModelRequest): Promise<ModelReply> {
    if (this.mode === 'dead') return Promise.reject(new ProcessCrashedError('the process crashed'));
    if (this.mode === 'held') {
      this.heldCalls += 1;
      if (this.heldCalls === 1) this.onFirstHeld();
      return this.released.then(() => this.scripted.converse(request));
    }
    if (this.failuresLeft > 0 && this.options.failing && isStep(request, this.options.failing.step)) {
      this.failuresLeft -= 1;
      return Promise.reject(new ModelInvocationError('scripted', 'injected failure'));
    }
    return this.scripted.converse(request);
  }

  /** Crashes the model: `dead` refuses every call; `held` holds each call until `release()`, calling `onFirstHeld` as the first arrives. */
  public crash(mode: CrashMode, onFirstHeld: () => void = () => undefined): void {
    this.mode = mode;
    this.onFirstHeld = onFirstHeld;
  }

  public get crashed(): boolean {
    return this.mode !== 'alive';
  }

  public release(): void {
    this.releaseHeld();
  }
}

/** Whether a model request comes from a step (a worker's Work names its agent; a supervisor state is its own). */
function isStep(request: ModelRequest, step: Step): boolean {
  if (request.stateName !== step.state) return false;
  return request.script.kind !== 'answer' || request.script.agentId === step.agent;
}

/** Counts agent steps in flight (from the runtime's progress events), to wait for a crashed run's leftovers. */
class InFlightSteps {
  private count = 0;

  public readonly track = (event: ProgressEvent): void => {
    this.count += event.type === 'step-started' ? 1 : -1;
  };

  public async settled(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.count > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function withRuntime<T>(context: Context, model: ModelProvider, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
  // connect() shares the one DynamoDB Local; stop() then only closes this runtime's client.
  const runtime = await LocalRuntime.connect(context.db.endpoint, { model });
  try {
    return await work(runtime);
  } finally {
    await runtime.stop();
  }
}

function runRequest(context: Context, trial: Trial) {
  return { team: context.team, input: trial.reference.input, taskId: trial.taskId, onProgress: recordStepErrors(trial) };
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

function describeFault(trial: Trial): string {
  const fault = trial.fault;
  const crashPoint = (crashAt: number) => `crash as state ${crashAt} (${trial.reference.states[crashAt - 1] ?? '?'}) starts`;
  switch (fault.kind) {
    case 'crash':
      return crashPoint(fault.crashAt);
    case 'late-writer':
      return `${crashPoint(fault.crashAt)}; steps in flight answer as the resume enters state ${fault.releaseAt} (${trial.reference.states[fault.releaseAt - 1] ?? 'after its end'})`;
    case 'step-failure':
      return `${fault.step.agent}:${fault.step.state} model fails ${fault.failures} time${fault.failures > 1 ? 's' : ''}`;
    case 'inconsistent-output':
      return `${fault.stateName} answers off contract ${fault.times} time${fault.times > 1 ? 's' : ''}`;
    case 'corrupt-checkpoint':
      return `${fault.crashAt === undefined ? 'after the run' : crashPoint(fault.crashAt)}, then ${fault.corruption} in a step checkpoint`;
    case 'manual-rollback':
      return 'rollback of the finished task to an earlier checkpoint';
  }
}

function integer(min: number, max: number, random: Random): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(items: readonly T[], random: Random): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pick from no items');
  return item;
}

/**
 * How many of the first states a crash can hit: all, except a last state without a step (the
 * Fallback Pass state), which ends the execution in the same tick as it starts, before the abort.
 */
function crashableStates(reference: Reference): number {
  const last = reference.states.at(-1);
  return reference.steps.some((step) => step.state === last) ? reference.states.length : reference.states.length - 1;
}

/** 1-based positions of the states that run a model step (Classify, Work, Synthesize). */
function modelStateIndexes(reference: Reference): number[] {
  const modelStates = new Set(reference.steps.map((step) => step.state));
  return reference.states.flatMap((state, index) => (modelStates.has(state) ? [index + 1] : []));
}
