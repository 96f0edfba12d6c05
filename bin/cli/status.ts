/**
 * `legion status [taskId] --data-dir D [--json]`: the tasks of a data folder as their status items
 * say (functions/observability/task-status-store.ts), newest first, one line each; or one task: its status,
 * its totals (sub-teams included), its agents (steps, tokens and last state, from the task's step
 * checkpoints) and its child tasks. An unknown task exits 1 (`no task ...`), a bad or missing
 * data folder exits 2.
 *
 * The data folder is opened by one process at a time: while a run holds it, read the status from
 * that run's own output (or, in AWS, the task's status item in the table).
 *
 * @example
 * ```sh
 * legion status --data-dir .legion
 * legion status research-1 --data-dir .legion --json
 * ```
 */
import type { Checkpoint } from '../../functions/recovery/checkpoint-manager.ts';
import type { RunTotals } from '../../functions/core/contracts/run-totals.ts';
import type { TaskStatus } from '../../functions/observability/task-status-store.ts';
import type { CliIo } from './cli-io.ts';
import { requireDataDir } from './data-folder.ts';
import { createProgressReporter } from './progress.ts';
import { withLocalRuntime } from './runtime-session.ts';
import { writeSafely } from './terminal-text.ts';

export interface StatusOptions {
  dataDir: string;
  json?: boolean;
}

/** One agent of a task, from its step checkpoints. */
export interface AgentSummary {
  agent: string;
  /** Step checkpoints the agent wrote (a step rolled back and run again counts twice). */
  steps: number;
  tokens: number;
  /** The state of its latest step. */
  lastState: string;
}

/** What `legion status <taskId>` shows. */
export interface TaskReport {
  task: TaskStatus;
  totals: RunTotals;
  agents: AgentSummary[];
  children: TaskStatus[];
}

/**
 * One short line of totals, as a run's result and `legion status` print them.
 *
 * @example
 * ```ts
 * describeTotals(totals); // '10 model calls · 9 agent steps · 1200 + 300 tokens · 9 checkpoints · 1 rollback'
 * ```
 */
export function describeTotals(totals: RunTotals): string {
  const parts = [
    plural(totals.modelCalls, 'model call'),
    plural(totals.agentSteps, 'agent step'),
    `${totals.inputTokens} + ${totals.outputTokens} tokens`,
    plural(totals.checkpoints, 'checkpoint'),
  ];
  if (totals.rollbacks > 0) parts.push(plural(totals.rollbacks, 'rollback'));
  if (totals.detections > 0) parts.push(plural(totals.detections, 'detection'));
  if (totals.budgetRefusals > 0) parts.push(plural(totals.budgetRefusals, 'budget refusal'));
  return parts.join(' · ');
}

/**
 * The agents of a task from its step checkpoints (progress checkpoints left out), in the order
 * they first worked.
 */
export function agentsOf(checkpoints: readonly Checkpoint[]): AgentSummary[] {
  const agents = new Map<string, AgentSummary>();
  for (const checkpoint of [...checkpoints].sort((left, right) => left.sequence - right.sequence)) {
    if (checkpoint.kind !== 'step') continue;
    const known = agents.get(checkpoint.agent) ?? { agent: checkpoint.agent, steps: 0, tokens: 0, lastState: checkpoint.stateName };
    agents.set(checkpoint.agent, { ...known, steps: known.steps + 1, tokens: known.tokens + checkpoint.tokens, lastState: checkpoint.stateName });
  }
  return [...agents.values()];
}

/** Runs `legion status`; returns the exit code. */
export async function statusCommand(taskId: string | undefined, options: StatusOptions, io: CliIo): Promise<number> {
  requireDataDir(options.dataDir);
  const found = await withLocalRuntime(
    io,
    { dataDir: options.dataDir, progress: createProgressReporter(io.stderr) },
    async (runtime): Promise<TaskStatus[] | TaskReport | string> => {
      if (taskId === undefined) return runtime.taskStatuses();
      const status = await runtime.taskStatus(taskId);
      if (!status) {
        const stored = await runtime.describeTask(taskId);
        return stored
          ? `task ${taskId} in ${options.dataDir} has no status: it ran before task status was kept`
          : `no task ${taskId} in ${options.dataDir}: it never started, or its records expired`;
      }
      return { task: status.status, totals: status.totals, agents: agentsOf(await runtime.checkpoints(taskId)), children: status.children };
    },
  );
  if (typeof found === 'string') {
    writeSafely(io.stderr, `legion: ${found}\n`);
    return 1;
  }
  if (Array.isArray(found)) printTasks(found, options, io);
  else printTask(found, options, io);
  return 0;
}

function printTasks(tasks: readonly TaskStatus[], options: StatusOptions, io: CliIo): void {
  if (options.json) {
    writeSafely(io.stdout, `${JSON.stringify({ tasks }, null, 2)}\n`);
    return;
  }
  if (tasks.length === 0) {
    writeSafely(io.stderr, `No tasks in ${options.dataDir}\n`);
    return;
  }
  const rows = tasks.map((task) => [task.taskId, task.team, task.pattern, task.status, nowDoing(task), String(task.stepsDone), String(task.inputTokens + task.outputTokens), task.updatedAt]);
  printTable(io.stdout, ['task', 'team', 'pattern', 'status', 'state/agent', 'steps', 'tokens', 'updated'], rows);
}

function printTask(report: TaskReport, options: StatusOptions, io: CliIo): void {
  if (options.json) {
    writeSafely(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const { task, totals } = report;
  const lines = [
    `Task ${task.taskId} · ${task.team} (${task.pattern}) · ${task.status}`,
    `  ${task.endedAt ? 'last' : 'now'}: ${nowDoing(task)} · ${plural(task.stepsDone, 'step')} done · started ${task.startedAt} · updated ${task.updatedAt}`,
    ...(task.parent ? [`  child of task ${task.parent.taskId} (${task.parent.team})`] : []),
    `  totals: ${describeTotals(totals)}`,
  ];
  writeSafely(io.stdout, `${lines.join('\n')}\n`);
  if (report.agents.length > 0) {
    writeSafely(io.stdout, '\nAgents\n');
    printTable(io.stdout, ['agent', 'steps', 'tokens', 'last state'], report.agents.map((agent) => [agent.agent, String(agent.steps), String(agent.tokens), agent.lastState]));
  }
  if (report.children.length > 0) {
    writeSafely(io.stdout, '\nChild tasks\n');
    printTable(
      io.stdout,
      ['task', 'team', 'status', 'steps', 'tokens'],
      report.children.map((child) => [child.taskId, child.team, child.status, String(child.stepsDone), String(child.inputTokens + child.outputTokens)]),
    );
  }
}

/** The state and agent of a task's latest step. */
function nowDoing(task: TaskStatus): string {
  return task.currentState === undefined ? '-' : `${task.currentState}/${task.agent ?? '?'}`;
}

function printTable(stdout: CliIo['stdout'], header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  writeSafely(stdout, `${[line(header), ...rows.map(line)].join('\n')}\n`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
