/**
 * The Legion CLI. Runs patterns on the local runtime and inspects what they stored.
 *
 *   legion run [pattern] [--team FILE] [--input JSON | --input-file FILE] [--task-id ID] [--data-dir DIR] [--json]
 *              [--model scripted|bedrock|openai-compatible] [--model-base-url URL] [--model-id NAME | fast=NAME,...]
 *              [--inject crash:<StateName> | inconsistent:<StateName>[:N] | fail:<StateName>[:N] | checkpoint-failures:<rate> | ...]
 *   legion resume <taskId> --data-dir DIR [--team FILE] [--json]
 *   legion rollback <taskId> [--to SEQ] --data-dir DIR [--reason TEXT] [--json]
 *   legion checkpoints <taskId> --data-dir DIR [--json]
 *   legion status [taskId] --data-dir DIR [--json]
 *   legion emit <file.json> [--data-dir DIR] [--json]
 *   legion alarms --data-dir DIR [--window 30s|5m|1h|2d] [--json]
 *   legion new <pattern> <name> [--dir DIR] [--handler]
 *   legion validate [FILE...] [--json]
 *   legion schema
 *   legion patterns
 *   legion recommend [--complexity low|medium|high] [--flow single|many-roles] [--dynamic yes|no] [--decentralised yes|no] [--json]
 *
 * Exit codes: 0 the run SUCCEEDED (or the command did its job: `alarms` exits 0 even with alarms in
 * ALARM), 1 the run did not succeed or the runtime failed, 2 bad usage or bad input. Progress goes to
 * stderr; stdout carries only results. With --data-dir, run, resume, approve, reject and emit tell on
 * stderr of each alarm their metrics moved into ALARM (or back to OK).
 *
 * {@link runLegion} is the whole CLI for one argument list; bin/legion.ts runs it for the process,
 * the tests run it in-process where the process boundary is not what they test.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { PATTERN_NAMES, type PatternName } from '../../functions/core/contract.ts';
import { InvalidTaskIdError, LegionError, TaskOwnedByAnotherTeamError, UsageError } from '../../functions/core/errors.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { ALARMS_HELP, type AlarmsOptions, alarmsCommand } from './alarms.ts';
import { type CheckpointsOptions, type RollbackCommandOptions, checkpointsCommand, rollbackCommand } from './checkpoint-commands.ts';
import type { CliIo } from './cli-io.ts';
import { CLI_MODEL_PROVIDERS, MODEL_VARIABLES } from './model-options.ts';
import { type EmitOptions, emitCommand } from './emit.ts';
import { type Answers, recommendCommand } from './recommend.ts';
import { type DecisionOptions, type ResumeOptions, type RunOptions, decisionCommand, resumeCommand, runCommand } from './run-commands.ts';
import { type StatusOptions, statusCommand } from './status.ts';
import { type ValidateOptions, validateCommand } from './validate.ts';
import { type NewOptions, newCommand } from './new-team.ts';
import { teamJsonSchema } from '../../functions/core/team-json-schema.ts';
import { escapeControlCharacters, writeSafely } from './terminal-text.ts';

/** Exit code of bad usage or bad input. */
export const EXIT_USAGE = 2;

/** The options of every command that runs a task: its output, and the model its agents talk to. */
function withRunOutputOptions(command: Command): Command {
  return command
    .option('--json', 'print one JSON object with the run result on stdout')
    .option('--verbose', "copy the agents' structured logs to stderr")
    .option('--quiet', 'no progress output')
    .addOption(new Option('--model <provider>', `the model the agents talk to; env ${MODEL_VARIABLES.provider}`).choices(CLI_MODEL_PROVIDERS).default(undefined, 'scripted'))
    .option('--model-base-url <url>', `openai-compatible: the API base URL, e.g. http://127.0.0.1:11434/v1; env ${MODEL_VARIABLES.baseUrl}; API key from env ${MODEL_VARIABLES.apiKey} (or ${MODEL_VARIABLES.openAiApiKey})`)
    .option('--model-id <ids>', `one model NAME for every tier, or fast=NAME,balanced=NAME,deep=NAME; env ${MODEL_VARIABLES.modelIds}`);
}

/**
 * Runs the `legion` CLI on `argv` (the arguments after the program name) and returns its exit code:
 * 0 done, 1 the run did not succeed or the runtime failed, 2 bad usage or bad input. It never
 * calls `process.exit`, but for Ctrl-C and `--inject crash:` (which kill the process, as asked).
 *
 * @example
 * ```ts
 * process.exitCode = await runLegion(['run', 'pipeline', '--json'], processIo());
 * ```
 */
export async function runLegion(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  try {
    await buildProgram(io, (code) => { exitCode = code; }).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return exitCodeOfError(error, io);
  }
}

/** The commander program, built per call: its parsed options live on it. */
function buildProgram(io: CliIo, exitWith: (code: number) => void): Command {
  const program = new Command('legion')
    .description('Run teams of AI agents with guard rails; locally on the embedded runtime.')
    .showHelpAfterError('(run with --help for usage)')
    // Commander's errors quote the arguments given (an unknown option, a bad pattern): escaped like the rest.
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => { write(escapeControlCharacters(text)); },
    })
    .exitOverride();

  withRunOutputOptions(program.command('run'))
    .description('run a pattern on the local runtime (DynamoDB Local; the scripted model unless --model says otherwise)')
    .addArgument(new Argument('[pattern]', 'the pattern to run; default: the pattern --team names').choices(PATTERN_NAMES))
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
    .action(async (pattern: PatternName | undefined, options: RunOptions) => {
      exitWith(await runCommand(pattern, options, io));
    });

  withRunOutputOptions(program.command('resume'))
    .description('resume a task from its checkpoints: steps already done are not run again')
    .argument('<taskId>', 'the task to resume')
    .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
    .option('--team <file>', "the team definition, if the task's team is not its pattern's example team")
    .action(async (taskId: string, options: ResumeOptions) => {
      exitWith(await resumeCommand(taskId, options, io));
    });

  withRunOutputOptions(program.command('approve'))
    .description('approve a task that escalated and waits for a human: it resumes and ends with --output as its result')
    .argument('<taskId>', 'the waiting task')
    .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
    .option('--output <json>', 'the result the run ends with (JSON); default: null')
    .option('--by <name>', 'who approves, recorded with the decision')
    .option('--team <file>', "the team definition, if the task's team is not its pattern's example team")
    .action(async (taskId: string, options: DecisionOptions) => {
      exitWith(await decisionCommand('approve', taskId, options, io));
    });

  withRunOutputOptions(program.command('reject'))
    .description('reject a task that escalated and waits for a human: it resumes and fails with HumanRejectedError')
    .argument('<taskId>', 'the waiting task')
    .requiredOption('--data-dir <dir>', 'the data folder the task ran with')
    .requiredOption('--reason <text>', 'why, recorded with the decision and in the error')
    .option('--by <name>', 'who rejects, recorded with the decision')
    .option('--team <file>', "the team definition, if the task's team is not its pattern's example team")
    .action(async (taskId: string, options: DecisionOptions) => {
      exitWith(await decisionCommand('reject', taskId, options, io));
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
      exitWith(await rollbackCommand(taskId, options, io));
    });

  program
    .command('checkpoints')
    .description('list the stored checkpoints of a task')
    .argument('<taskId>', 'the task id a run printed')
    .requiredOption('--data-dir <dir>', 'the data folder the run used')
    .option('--json', 'print JSON on stdout')
    .action(async (taskId: string, options: CheckpointsOptions) => {
      exitWith(await checkpointsCommand(taskId, options, io));
    });

  program
    .command('status')
    .description('list the tasks of a data folder with their status, newest first; or show one task: its totals, agents and child tasks')
    .argument('[taskId]', 'the task to show; default: every task')
    .requiredOption('--data-dir <dir>', 'the data folder the runs used')
    .option('--json', 'print one JSON object on stdout')
    .action(async (taskId: string | undefined, options: StatusOptions) => {
      exitWith(await statusCommand(taskId, options, io));
    });

  withRunOutputOptions(program.command('emit'))
    .description('put events (one or an array, PutEvents entries or events) on the local event bus: a RunRequested event starts a run as its rule does in AWS')
    .argument('<file>', 'JSON file with the event(s), e.g. examples/run-requested.json')
    .option('--data-dir <dir>', 'keep DynamoDB Local data in this folder; default: in memory')
    .action(async (file: string, options: EmitOptions) => {
      exitWith(await emitCommand(file, options, io));
    });

  program
    .command('alarms')
    .description('evaluate every alarm (functions/observability/alarms.ts) over the metrics the runs on a data folder emitted: state, value, threshold')
    .requiredOption('--data-dir <dir>', 'the data folder the runs used')
    .option('--window <duration>', "evaluate every alarm over this window ending now: 30s, 5m, 1h, 2d; default: each alarm's period")
    .option('--json', 'print one JSON object { window, evaluatedAt, metricsFile, alarms } on stdout')
    .addHelpText('after', ALARMS_HELP)
    .action((options: AlarmsOptions) => {
      exitWith(alarmsCommand(options, io));
    });

  program
    .command('validate')
    .description('check team definitions (all of ./teams when no FILE is given): exit 0 valid, 1 invalid, 2 usage')
    .argument('[files...]', 'team definition files (.yaml, .yml, .json, .ts, .mts, .js, .mjs)')
    .option('--json', 'print one JSON object per run on stdout: { valid, files: [{ file, valid, team, pattern, problems: [{ path, message, file? }] }] }')
    .action(async (files: string[], options: ValidateOptions) => {
      exitWith(await validateCommand(files, options, io));
    });

  program
    .command('new')
    .description('write a commented starter team definition that validates and runs as written')
    .addArgument(new Argument('<pattern>', 'the orchestration pattern').choices(PATTERN_NAMES))
    .argument('<name>', 'the team name (lower-case letters, digits, dashes): <dir>/<name>.yaml')
    .option('--dir <dir>', 'where to write it', '.')
    .option('--handler', 'supervisor-worker: also a custom handler for its billing worker, and a vitest test of the team with it')
    .action(async (pattern: PatternName, name: string, options: NewOptions) => {
      exitWith(await newCommand(pattern, name, options, io));
    });

  program
    .command('schema')
    .description('print the JSON Schema of team definitions (for editors: # yaml-language-server: $schema=...)')
    .action(() => {
      writeSafely(io.stdout, `${JSON.stringify(teamJsonSchema(), null, 2)}\n`);
    });

  program
    .command('patterns')
    .description('list the orchestration patterns')
    .action(() => {
      for (const spec of Object.values(PATTERNS)) writeSafely(io.stdout, `${spec.name.padEnd(20)} ${spec.summary}\n`);
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
      exitWith(await recommendCommand(options, io));
    });

  return program;
}

function exitCodeOfError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
  if (error instanceof UsageError || error instanceof TaskOwnedByAnotherTeamError || error instanceof InvalidTaskIdError) {
    writeSafely(io.stderr, `legion: ${error.message}\n`);
    return EXIT_USAGE;
  }
  writeSafely(io.stderr, `legion: ${error instanceof LegionError ? error.message : (error as Error).stack ?? String(error)}\n`);
  return 1;
}
