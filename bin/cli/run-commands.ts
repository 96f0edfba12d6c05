/**
 * The commands that run a task on the local runtime: `legion run`, `resume`, `approve` and `reject`.
 * Each prints the run's result (stdout: its answer or `--json`; stderr: the summary and progress)
 * and returns the exit code: 0 when the run SUCCEEDED, 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import type { PatternName } from '../../functions/core/contract.ts';
import { UsageError } from '../../functions/core/errors.ts';
import type { TeamDefinition } from '../../functions/core/team.ts';
import { ROOT_TASK_ID_PATTERN, ROOT_TASK_ID_RULE, reservedInputProblem } from '../../functions/core/task-id.ts';
import type { ModelProvider } from '../../functions/models/model-provider.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import type { CheckpointFaults } from '../../local/checkpoint-faults.ts';
import type { LocalRuntime, ProgressEvent, RunResult } from '../../local/local-runtime.ts';
import { describeAuction } from './auction-output.ts';
import type { CliIo } from './cli-io.ts';
import { requireDataDir } from './data-folder.ts';
import { parseInjections } from './inject.ts';
import { type ModelOptions, commandModel } from './model-options.ts';
import { createProgressReporter } from './progress.ts';
import { parseJsonOption, resolveInput, resolveTeam } from './run-input.ts';
import { withLocalRuntime } from './runtime-session.ts';
import { describeTotals } from './status.ts';
import { escapingStream, writeSafely } from './terminal-text.ts';

export interface RunOptions extends ModelOptions {
  team?: string;
  input?: string;
  inputFile?: string;
  taskId?: string;
  dataDir?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  inject: string[];
}

export interface ResumeOptions extends ModelOptions {
  dataDir: string;
  team?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export interface DecisionOptions extends ResumeOptions {
  output?: string;
  reason?: string;
  by?: string;
}

/**
 * Runs `legion run`; returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runCommand('pipeline', { inject: [], json: true }, processIo());
 * ```
 */
export async function runCommand(patternGiven: PatternName | undefined, options: RunOptions, io: CliIo): Promise<number> {
  const chosen = await resolveTeam(patternGiven, options.team);
  const { pattern } = chosen;
  const injection = parseInjections(options.inject, pattern, chosen);
  // --inject deadlock runs the team with two agents leasing resources in opposite orders.
  const team = injection.team ?? chosen;
  const input = await resolveInput(pattern, team, options);
  const taskId = options.taskId ?? generateTaskId(team.name);
  if (!ROOT_TASK_ID_PATTERN.test(taskId)) throw new UsageError(`--task-id must be ${ROOT_TASK_ID_RULE} (got "${taskId}")`);
  const reserved = reservedInputProblem(input);
  if (reserved) throw new UsageError(`--input: ${reserved}`);
  const injected = injection.modelFaults || injection.scenarios ? new ScriptedModel({ faults: injection.modelFaults ?? [], scenarios: injection.scenarios ?? [] }) : undefined;
  const model = await commandModel(options, io, injected);
  writeSafely(io.stderr, `Task ${taskId}: ${team.name} on ${pattern}\n`);
  const result = await withProgress(io, { ...options, model, checkpointFaults: injection.checkpointFaults }, (runtime, onProgress) =>
    runtime.run({
      team,
      input,
      taskId,
      onProgress,
      onStateEntered: injection.onStateEntered,
      ...(injection.auctionFaults ? { auctionFaults: injection.auctionFaults } : {}),
      ...injection.runOptions,
    }),
  );
  printRunResult(io, result, options.json === true, options.dataDir);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/**
 * Runs `legion resume`; returns the exit code.
 *
 * @example
 * ```ts
 * const code = await resumeCommand('research-1', { dataDir: '.legion' }, processIo());
 * ```
 */
export async function resumeCommand(taskId: string, options: ResumeOptions, io: CliIo): Promise<number> {
  requireDataDir(options.dataDir);
  const model = await commandModel(options, io);
  const result = await withProgress(io, { ...options, model }, async (runtime, onProgress) => {
    const team = await storedTeam(runtime, taskId, options);
    writeSafely(io.stderr, `Resuming task ${taskId}: ${team.name} on ${team.pattern}\n`);
    return runtime.resume({ team, taskId, onProgress });
  });
  printRunResult(io, result, options.json === true, options.dataDir);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/**
 * `legion approve` / `legion reject`: records the decision on a waiting task, then resumes it with it.
 *
 * @example
 * ```ts
 * await decisionCommand('approve', 'refund-7', { dataDir: '.legion', output: '{"answer":"Refunded"}' }, processIo());
 * ```
 */
export async function decisionCommand(decision: 'approve' | 'reject', taskId: string, options: DecisionOptions, io: CliIo): Promise<number> {
  requireDataDir(options.dataDir);
  const output = options.output === undefined ? undefined : parseJsonOption('--output', options.output);
  const model = await commandModel(options, io);
  const result = await withProgress(io, { ...options, model }, async (runtime, onProgress) => {
    const team = await storedTeam(runtime, taskId, options);
    const approval = await runtime.approval(taskId);
    // REQUESTED: the run decided to escalate but crashed before its wait began; a human may decide it all the same.
    if (approval?.status !== 'PENDING' && approval?.status !== 'REQUESTED') {
      throw new UsageError(
        !approval
          ? `task ${taskId} is not waiting for a decision: it never escalated`
          : approval.status === 'TIMED_OUT'
            ? `task ${taskId} timed out waiting for a decision (waiting since ${approval.requestedAt}, no decision by its deadline): it can no longer be approved or rejected; legion resume ${taskId} ends its run as timed out`
            : `task ${taskId} was ${approval.status.toLowerCase()} already`,
      );
    }
    writeSafely(io.stderr, `${decision === 'approve' ? 'Approving' : 'Rejecting'} task ${taskId} (${approval.escalation.Error}) and resuming it\n`);
    const request = { team, taskId, onProgress, ...(options.by ? { by: options.by } : {}) };
    return decision === 'approve' ? runtime.approve({ ...request, output }) : runtime.reject({ ...request, reason: options.reason ?? '' });
  });
  printRunResult(io, result, options.json === true, options.dataDir);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/** The team a stored task ran with (`--team FILE` when it is not its pattern's example team). */
async function storedTeam(runtime: LocalRuntime, taskId: string, options: ResumeOptions): Promise<TeamDefinition> {
  const task = await runtime.describeTask(taskId);
  if (!task) {
    throw new UsageError(
      `no task ${taskId} in ${options.dataDir}: it never started (a crash before its first state stores nothing), or its records expired; run it again with --task-id ${taskId}`,
    );
  }
  const team = await resolveTeam(task.pattern as PatternName, options.team ?? undefined);
  if (team.name !== task.team) {
    throw new UsageError(`task ${taskId} was run by team ${task.team}, not ${team.name}; pass its definition with --team FILE`);
  }
  return team;
}

/** Runs work on a started local runtime, with progress on stderr (unless quiet or verbose). */
function withProgress(
  io: CliIo,
  options: { dataDir?: string | undefined; verbose?: boolean; quiet?: boolean; model?: ModelProvider | undefined; checkpointFaults?: CheckpointFaults | undefined },
  work: (runtime: LocalRuntime, onProgress: (event: ProgressEvent) => void) => Promise<RunResult>,
): Promise<RunResult> {
  const progress = createProgressReporter(io.stderr, options.quiet === true || options.verbose === true);
  return withLocalRuntime(
    io,
    {
      dataDir: options.dataDir,
      progress,
      logStream: options.verbose ? escapingStream(io.stderr) : undefined,
      ...(options.model ? { model: options.model } : {}),
      checkpointFaults: options.checkpointFaults,
      // The commands that run agents tell of alarms their metrics moved (stderr, and the local bus).
      watchAlarms: true,
    },
    (runtime) => {
      progress.start('Running agents');
      return work(runtime, (event) => {
        progress.update(event);
      });
    },
  );
}

function printRunResult(io: CliIo, result: RunResult, json: boolean, dataDir?: string): void {
  if (json) {
    writeSafely(io.stdout, `${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const rollbacks = result.rollbacks.length > 0 ? ` · ${result.rollbacks.length} rollbacks` : '';
  const summary = `${result.status} in ${result.durationMs} ms · ${result.trace.length} agent steps · ${result.checkpoints} checkpoints${rollbacks}`;
  writeSafely(io.stderr, `${summary}\n`);
  writeSafely(io.stderr, `  totals (sub-teams included): ${describeTotals(result.totals)}\n`);
  for (const rollback of result.rollbacks) {
    writeSafely(io.stderr, `  rollback to checkpoint ${rollback.to} (${rollback.automatic ? 'automatic' : 'manual'}): ${rollback.reason}\n`);
  }
  if (result.auction) writeSafely(io.stderr, describeAuction(result.auction));
  for (const detection of result.detections) {
    writeSafely(io.stderr, `  detected ${detection.type} in ${detection.step} (${detection.stepId}) → ${detection.action}: ${detection.details}\n`);
  }
  if (result.status === 'WAITING' && result.approval) {
    const { escalation } = result.approval;
    writeSafely(io.stderr, `Escalated: ${escalation.Error}: ${escalation.Cause ?? ''}\n`);
    const dir = dataDir ?? 'DIR';
    writeSafely(io.stderr, `Waiting for a human. Decide with: legion approve ${result.taskId} --data-dir ${dir} [--output JSON]  or  legion reject ${result.taskId} --data-dir ${dir} --reason TEXT\n`);
    if (!dataDir) writeSafely(io.stderr, '(This run kept its data in memory: run it with --data-dir to decide later.)\n');
    return;
  }
  if (result.status === 'SUCCEEDED') {
    const output = (result.output ?? {}) as { answer?: unknown; document?: unknown; agreed?: unknown; verified?: unknown };
    // A pattern's main text: the answer (supervisor-worker, hierarchical, peer-to-peer) or the document (pipeline).
    const text = typeof output.answer === 'string' ? output.answer : output.document;
    if (typeof output.agreed === 'boolean') writeSafely(io.stderr, `agreed: ${output.agreed ? 'yes' : 'no'} · verified: ${output.verified === true ? 'yes' : 'no'}\n`);
    writeSafely(io.stdout, `${typeof text === 'string' ? text : JSON.stringify(result.output, null, 2)}\n`);
  } else if (result.error) {
    writeSafely(io.stderr, `${result.error.error}: ${result.error.cause}\n`);
  }
}

function generateTaskId(teamName: string): string {
  return `${teamName}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`.slice(-80);
}
