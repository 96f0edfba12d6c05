/**
 * The Legion CLI. Runs patterns on the local runtime and inspects what they stored.
 *
 *   legion run <pattern> [--team FILE] [--input JSON | --input-file FILE] [--task-id ID] [--data-dir DIR] [--json]
 *              [--inject crash:<StateName> | inconsistent:<StateName>[:N] | fail:<StateName>[:N] | checkpoint-failures:<rate> | ...]
 *   legion resume <taskId> --data-dir DIR [--team FILE] [--json]
 *   legion rollback <taskId> [--to SEQ] --data-dir DIR [--reason TEXT] [--json]
 *   legion checkpoints <taskId> --data-dir DIR [--json]
 *   legion status [taskId] --data-dir DIR [--json]
 *   legion emit <file.json> [--data-dir DIR] [--json]
 *   legion alarms --data-dir DIR [--window 30s|5m|1h|2d] [--json]
 *   legion patterns
 *   legion recommend [--complexity low|medium|high] [--flow single|many-roles] [--dynamic yes|no] [--decentralised yes|no] [--json]
 *
 * Exit codes: 0 the run SUCCEEDED (or the command did its job: `alarms` exits 0 even with alarms in
 * ALARM), 1 the run did not succeed or the runtime failed, 2 bad usage or bad input. Progress goes to
 * stderr; stdout carries only results. With --data-dir, run, resume, approve, reject and emit tell on
 * stderr of each alarm their metrics moved into ALARM (or back to OK).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { PATTERN_NAMES, type PatternName } from '../functions/core/contract.ts';
import { InvalidTaskIdError, LegionError, NoValidCheckpointError, TaskOwnedByAnotherTeamError, UsageError } from '../functions/core/errors.ts';
import { verifyCheckpoint } from '../functions/recovery/checkpoint-manager.ts';
import type { ModelProvider } from '../functions/models/model-provider.ts';
import { ScriptedModel } from '../functions/models/scripted-model.ts';
import { PATTERNS } from '../functions/patterns/index.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import { ROOT_TASK_ID_PATTERN, ROOT_TASK_ID_RULE, reservedInputProblem } from '../functions/core/task-id.ts';
import type { LocalRuntime, ProgressEvent, RunResult } from '../local/local-runtime.ts';
import type { CheckpointFaults } from '../local/checkpoint-faults.ts';
import { type EmitOptions, emitCommand } from './cli/emit.ts';
import { ALARMS_HELP, type AlarmsOptions, alarmsCommand } from './cli/alarms.ts';
import { describeAuction } from './cli/auction-output.ts';
import { parseInjections } from './cli/inject.ts';
import { createProgressReporter } from './cli/progress.ts';
import { type Answers, QUESTIONS, profileFrom, recommendPattern } from './cli/recommend.ts';
import { parseJsonOption, resolveInput, resolveTeam } from './cli/run-input.ts';
import { describeDatabaseStart, withLocalRuntime } from './cli/runtime-session.ts';
import { type StatusOptions, describeTotals, statusCommand } from './cli/status.ts';
import { escapeControlCharacters, escapingStream, writeSafely } from './cli/terminal-text.ts';

const EXIT_USAGE = 2;

interface RunOptions {
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

interface ResumeOptions {
  dataDir: string;
  team?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

interface DecisionOptions extends ResumeOptions {
  output?: string;
  reason?: string;
  by?: string;
}

interface RollbackCommandOptions {
  dataDir: string;
  to?: string;
  reason: string;
  json?: boolean;
}

interface CheckpointsOptions {
  dataDir: string;
  json?: boolean;
}

const program = new Command('legion')
  .description('Run teams of AI agents with guard rails; locally on the embedded runtime.')
  .showHelpAfterError('(run with --help for usage)')
  // Commander's errors quote the arguments given (an unknown option, a bad pattern): escaped like the rest.
  .configureOutput({ outputError: (text, write) => { write(escapeControlCharacters(text)); } })
  .exitOverride();

/** The output options of every command that runs a task. */
function withRunOutputOptions(command: Command): Command {
  return command
    .option('--json', 'print one JSON object with the run result on stdout')
    .option('--verbose', "copy the agents' structured logs to stderr")
    .option('--quiet', 'no progress output');
}

withRunOutputOptions(program.command('run'))
  .description('run a pattern on the local runtime (scripted model, DynamoDB Local)')
  .addArgument(new Argument('<pattern>', 'the pattern to run').choices(PATTERN_NAMES))
  .option('--team <file>', "team definition (YAML, JSON or TS); default: the pattern's example team")
  .addOption(new Option('--input <json>', 'execution input as JSON; default: the team example').conflicts('inputFile'))
  .option('--input-file <file>', 'read the execution input from a JSON file')
  .option('--task-id <id>', 'task id (execution name); default: generated and printed first')
  .option('--data-dir <dir>', 'keep DynamoDB Local data in this folder; default: in memory')
  .option(
    '--inject <fault>',
    'crash:<StateName>: kill this process (SIGKILL) as that state starts; inconsistent:<StateName>[:N]: the scripted model breaks the contract of that state N times (default 1), to see automatic rollback; fail:<StateName>[:N]: its model calls fail N times; auction: late-bid:<bidder>, duplicate-bid:<bidder>; checkpoint-failures:<rate>: that fraction (0 < rate <= 1) of checkpoint writes fail as throttled; repeatable',
    (value: string, previous: string[]) => [...previous, value],
    [] as string[],
  )
  .action(async (pattern: PatternName, options: RunOptions) => {
    process.exitCode = await runCommand(pattern, options);
  });

withRunOutputOptions(program.command('resume'))
  .description('resume a task from its checkpoints: steps already done are not run again')
  .argument('<taskId>', 'the task to resume')
  .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
  .option('--team <file>', "the team definition, if the task's team is not its pattern's example team")
  .action(async (taskId: string, options: ResumeOptions) => {
    process.exitCode = await resumeCommand(taskId, options);
  });

withRunOutputOptions(program.command('approve'))
  .description('approve a task that escalated and waits for a human: it resumes and ends with --output as its result')
  .argument('<taskId>', 'the waiting task')
  .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
  .option('--output <json>', 'the result the run ends with (JSON); default: null')
  .option('--by <name>', 'who approves, recorded with the decision')
  .option('--team <file>', "the team definition, if the task's team is not its pattern's example team")
  .action(async (taskId: string, options: DecisionOptions) => {
    process.exitCode = await decisionCommand('approve', taskId, options);
  });

withRunOutputOptions(program.command('reject'))
  .description('reject a task that escalated and waits for a human: it resumes and fails with HumanRejectedError')
  .argument('<taskId>', 'the waiting task')
  .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
  .requiredOption('--reason <text>', 'why, recorded with the decision and in the error')
  .option('--by <name>', 'who rejects, recorded with the decision')
  .option('--team <file>', "the team definition, if the task's team is not its pattern's example team")
  .action(async (taskId: string, options: DecisionOptions) => {
    process.exitCode = await decisionCommand('reject', taskId, options);
  });

program
  .command('rollback')
  .description('roll a task back to its last valid checkpoint before the latest (or to --to SEQ); resume then re-runs the undone steps')
  .argument('<taskId>', 'the task to roll back')
  .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
  .option('--to <seq>', 'roll back to this checkpoint sequence number')
  .option('--reason <text>', 'why, recorded with the rollback', 'rolled back from the CLI')
  .option('--json', 'print JSON on stdout')
  .action(async (taskId: string, options: RollbackCommandOptions) => {
    process.exitCode = await rollbackCommand(taskId, options);
  });

program
  .command('checkpoints')
  .description('list the stored checkpoints of a task')
  .argument('<taskId>', 'the task id a run printed')
  .requiredOption('--data-dir <dir>', 'the data folder the run used')
  .option('--json', 'print JSON on stdout')
  .action(async (taskId: string, options: CheckpointsOptions) => {
    process.exitCode = await checkpointsCommand(taskId, options);
  });

program
  .command('status')
  .description('list the tasks of a data folder with their status, newest first; or show one task: its totals, agents and child tasks')
  .argument('[taskId]', 'the task to show; default: every task')
  .requiredOption('--data-dir <dir>', 'the data folder the runs used')
  .option('--json', 'print one JSON object on stdout')
  .action(async (taskId: string | undefined, options: StatusOptions) => {
    process.exitCode = await statusCommand(taskId, options);
  });

withRunOutputOptions(program.command('emit'))
  .description('put events (one or an array, PutEvents entries or events) on the local event bus: a RunRequested event starts a run as its rule does in AWS')
  .argument('<file>', 'JSON file with the event(s), e.g. examples/run-requested.json')
  .option('--data-dir <dir>', 'keep DynamoDB Local data in this folder; default: in memory')
  .action(async (file: string, options: EmitOptions) => {
    process.exitCode = await emitCommand(file, options);
  });

program
  .command('alarms')
  .description('evaluate every alarm (functions/observability/alarms.ts) over the metrics the runs on a data folder emitted: state, value, threshold')
  .requiredOption('--data-dir <dir>', 'the data folder the runs used')
  .option('--window <duration>', "evaluate every alarm over this window ending now: 30s, 5m, 1h, 2d; default: each alarm's period")
  .option('--json', 'print one JSON object { window, evaluatedAt, metricsFile, alarms } on stdout')
  .addHelpText('after', ALARMS_HELP)
  .action((options: AlarmsOptions) => {
    process.exitCode = alarmsCommand(options);
  });

program
  .command('patterns')
  .description('list the orchestration patterns')
  .action(() => {
    for (const spec of Object.values(PATTERNS)) writeSafely(process.stdout, `${spec.name.padEnd(20)} ${spec.summary}\n`);
  });

program
  .command('recommend')
  .description('suggest a pattern from four answers about the task (asked interactively when not given on a terminal)')
  .option('--complexity <level>', 'low | medium | high')
  .option('--flow <kind>', 'single (one fixed flow of steps) | many-roles')
  .option('--dynamic <yes|no>', 'work given at run time to whichever agent can take it')
  .option('--decentralised <yes|no>', 'equals must agree, no central agent deciding')
  .option('--json', 'print JSON on stdout')
  .action(async (options: Answers & { json?: boolean }) => {
    process.exitCode = await recommendCommand(options);
  });

async function recommendCommand(options: Answers & { json?: boolean }): Promise<number> {
  const answers = process.stdin.isTTY && process.stderr.isTTY ? await askMissing(options) : options;
  const recommendation = recommendPattern(profileFrom(answers));
  if (options.json) {
    writeSafely(process.stdout, `${JSON.stringify(recommendation, null, 2)}\n`);
    return 0;
  }
  const { pattern, reason, available, fallback } = recommendation;
  writeSafely(process.stdout, `${pattern}: ${reason}\n`);
  if (available) writeSafely(process.stdout, `Try it: legion run ${pattern}\n`);
  else writeSafely(process.stdout, `${pattern} is not in this version of Legion yet; the nearest available is ${fallback ?? 'supervisor-worker'}: legion run ${fallback ?? 'supervisor-worker'}\n`);
  return 0;
}

/** Asks, on a terminal, the questions not answered by flags. */
async function askMissing(answers: Answers): Promise<Answers> {
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const complete: Answers = { ...answers };
    for (const question of QUESTIONS) {
      if (complete[question.key] !== undefined) continue;
      complete[question.key] = (await prompt.question(`${question.question} (${question.choices.join(' | ')}) `)).trim();
    }
    return complete;
  } finally {
    prompt.close();
  }
}

async function runCommand(pattern: PatternName, options: RunOptions): Promise<number> {
  const chosen = await resolveTeam(pattern, options.team);
  const injection = parseInjections(options.inject, pattern, chosen);
  // --inject deadlock runs the team with two agents leasing resources in opposite orders.
  const team = injection.team ?? chosen;
  const input = await resolveInput(pattern, team, options);
  const taskId = options.taskId ?? generateTaskId(team.name);
  if (!ROOT_TASK_ID_PATTERN.test(taskId)) throw new UsageError(`--task-id must be ${ROOT_TASK_ID_RULE} (got "${taskId}")`);
  const reserved = reservedInputProblem(input);
  if (reserved) throw new UsageError(`--input: ${reserved}`);
  writeSafely(process.stderr, `Task ${taskId}: ${team.name} on ${pattern}\n`);
  const model = injection.modelFaults || injection.scenarios ? new ScriptedModel({ faults: injection.modelFaults ?? [], scenarios: injection.scenarios ?? [] }) : undefined;
  const result = await withProgress({ ...options, model, checkpointFaults: injection.checkpointFaults }, (runtime, onProgress) =>
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
  printRunResult(result, options.json === true, options.dataDir);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

async function resumeCommand(taskId: string, options: ResumeOptions): Promise<number> {
  requireDataDir(options.dataDir);
  const result = await withProgress(options, async (runtime, onProgress) => {
    const team = await storedTeam(runtime, taskId, options);
    writeSafely(process.stderr, `Resuming task ${taskId}: ${team.name} on ${team.pattern}\n`);
    return runtime.resume({ team, taskId, onProgress });
  });
  printRunResult(result, options.json === true, options.dataDir);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/** `legion approve` / `legion reject`: records the decision on a waiting task, then resumes it with it. */
async function decisionCommand(decision: 'approve' | 'reject', taskId: string, options: DecisionOptions): Promise<number> {
  requireDataDir(options.dataDir);
  const output = options.output === undefined ? undefined : parseJsonOption('--output', options.output);
  const result = await withProgress(options, async (runtime, onProgress) => {
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
    writeSafely(process.stderr, `${decision === 'approve' ? 'Approving' : 'Rejecting'} task ${taskId} (${approval.escalation.Error}) and resuming it\n`);
    const request = { team, taskId, onProgress, ...(options.by ? { by: options.by } : {}) };
    return decision === 'approve' ? runtime.approve({ ...request, output }) : runtime.reject({ ...request, reason: options.reason ?? '' });
  });
  printRunResult(result, options.json === true, options.dataDir);
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
  options: { dataDir?: string | undefined; verbose?: boolean; quiet?: boolean; model?: ModelProvider | undefined; checkpointFaults?: CheckpointFaults | undefined },
  work: (runtime: LocalRuntime, onProgress: (event: ProgressEvent) => void) => Promise<RunResult>,
): Promise<RunResult> {
  const progress = createProgressReporter(process.stderr, options.quiet === true || options.verbose === true);
  progress.start(describeDatabaseStart(options.dataDir));
  return withLocalRuntime(
    {
      dataDir: options.dataDir,
      logStream: options.verbose ? escapingStream(process.stderr) : undefined,
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
    () => {
      progress.stop();
    },
  ).finally(() => {
    progress.stop();
  });
}

function printRunResult(result: RunResult, json: boolean, dataDir?: string): void {
  if (json) {
    writeSafely(process.stdout, `${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const rollbacks = result.rollbacks.length > 0 ? ` · ${result.rollbacks.length} rollbacks` : '';
  const summary = `${result.status} in ${result.durationMs} ms · ${result.trace.length} agent steps · ${result.checkpoints} checkpoints${rollbacks}`;
  writeSafely(process.stderr, `${summary}\n`);
  writeSafely(process.stderr, `  totals (sub-teams included): ${describeTotals(result.totals)}\n`);
  for (const rollback of result.rollbacks) {
    writeSafely(process.stderr, `  rollback to checkpoint ${rollback.to} (${rollback.automatic ? 'automatic' : 'manual'}): ${rollback.reason}\n`);
  }
  if (result.auction) writeSafely(process.stderr, describeAuction(result.auction));
  for (const detection of result.detections) {
    writeSafely(process.stderr, `  detected ${detection.type} in ${detection.step} (${detection.stepId}) → ${detection.action}: ${detection.details}\n`);
  }
  if (result.status === 'WAITING' && result.approval) {
    const { escalation } = result.approval;
    writeSafely(process.stderr, `Escalated: ${escalation.Error}: ${escalation.Cause ?? ''}\n`);
    const dir = dataDir ?? 'DIR';
    writeSafely(process.stderr, `Waiting for a human. Decide with: legion approve ${result.taskId} --data-dir ${dir} [--output JSON]  or  legion reject ${result.taskId} --data-dir ${dir} --reason TEXT\n`);
    if (!dataDir) writeSafely(process.stderr, '(This run kept its data in memory: run it with --data-dir to decide later.)\n');
    return;
  }
  if (result.status === 'SUCCEEDED') {
    const output = (result.output ?? {}) as { answer?: unknown; document?: unknown; agreed?: unknown; verified?: unknown };
    // A pattern's main text: the answer (supervisor-worker, hierarchical, peer-to-peer) or the document (pipeline).
    const text = typeof output.answer === 'string' ? output.answer : output.document;
    if (typeof output.agreed === 'boolean') writeSafely(process.stderr, `agreed: ${output.agreed ? 'yes' : 'no'} · verified: ${output.verified === true ? 'yes' : 'no'}\n`);
    writeSafely(process.stdout, `${typeof text === 'string' ? text : JSON.stringify(result.output, null, 2)}\n`);
  } else if (result.error) {
    writeSafely(process.stderr, `${result.error.error}: ${result.error.cause}\n`);
  }
}

async function rollbackCommand(taskId: string, options: RollbackCommandOptions): Promise<number> {
  requireDataDir(options.dataDir);
  const to = options.to === undefined ? undefined : Number(options.to);
  if (to !== undefined && !(Number.isInteger(to) && to > 0)) throw new UsageError(`--to must be a checkpoint sequence number (a positive integer), got "${String(options.to)}"`);
  const progress = createProgressReporter(process.stderr);
  progress.start(describeDatabaseStart(options.dataDir));
  const outcome = await withLocalRuntime({ dataDir: options.dataDir }, async (runtime) => {
    try {
      return await runtime.rollback(taskId, { to, reason: options.reason });
    } catch (error) {
      if (error instanceof NoValidCheckpointError) throw new UsageError(`cannot roll back task ${taskId}: ${error.message}`);
      throw error;
    }
  }).finally(() => {
    progress.stop();
  });
  if (options.json) {
    writeSafely(process.stdout, `${JSON.stringify({ taskId, to: outcome.target.sequence, invalidated: outcome.invalidated }, null, 2)}\n`);
  } else {
    writeSafely(
      process.stdout,
      `Task ${taskId} rolled back to checkpoint ${outcome.target.sequence} (${outcome.target.agent} ${outcome.target.stateName}); invalidated ${outcome.invalidated.join(', ') || 'nothing'}. Resume it with: legion resume ${taskId} --data-dir ${options.dataDir}\n`,
    );
  }
  return 0;
}

async function checkpointsCommand(taskId: string, options: CheckpointsOptions): Promise<number> {
  requireDataDir(options.dataDir);
  const progress = createProgressReporter(process.stderr);
  progress.start(describeDatabaseStart(options.dataDir));
  const checkpoints = await withLocalRuntime({ dataDir: options.dataDir }, (runtime) => runtime.checkpoints(taskId), () => {
    progress.stop();
  }).finally(() => {
    progress.stop();
  });
  const rows = checkpoints.map((checkpoint) => ({ ...checkpoint, checksumValid: verifyCheckpoint(checkpoint) }));
  if (options.json) {
    writeSafely(process.stdout, `${JSON.stringify({ taskId, checkpoints: rows }, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    writeSafely(process.stderr, `No checkpoints for task ${taskId} in ${options.dataDir}\n`);
    return 0;
  }
  writeSafely(process.stdout, ['seq', 'createdAt'.padEnd(24), 'agent'.padEnd(20), 'state'.padEnd(12), 'tokens', 'ms', 'checksum', 'status'].join('  ') + '\n');
  for (const row of rows) {
    writeSafely(
      process.stdout,
      [String(row.sequence).padStart(3), row.createdAt.padEnd(24), row.agent.padEnd(20), row.stateName.padEnd(12), String(row.tokens).padStart(6), String(row.durationMs).padStart(2), (row.checksumValid ? 'ok' : 'MISMATCH').padEnd(8), row.valid ? 'valid' : `invalid: ${row.invalidReason ?? 'no reason'}`].join('  ') + '\n',
    );
  }
  return 0;
}

function requireDataDir(dataDir: string): void {
  if (!existsSync(dataDir)) throw new UsageError(`data folder ${dataDir} does not exist`);
}

function generateTaskId(teamName: string): string {
  return `${teamName}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`.slice(-80);
}

// A reader that stops early (`legion status | head`) closes stdout: end quietly, as Unix tools do,
// rather than with an unhandled EPIPE and its stack. DynamoDB Local stops with this process.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (error instanceof UsageError || error instanceof TaskOwnedByAnotherTeamError || error instanceof InvalidTaskIdError) {
    writeSafely(process.stderr, `legion: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    writeSafely(process.stderr, `legion: ${error instanceof LegionError ? error.message : (error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
