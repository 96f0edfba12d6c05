/**
 * `legion status` as a user runs it: the CLI in-process (runLegion) on one data folder. A
 * hierarchical run (whose human output ends with its totals), then the list of tasks, one task as
 * JSON (totals, agents, child tasks), an unknown task (exit 1) and a missing --data-dir (exit 2).
 * The commands run one after the other: one command at a time may open a data folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TaskReport } from '../../bin/cli/status.ts';
import type { TaskStatus } from '../../functions/observability/task-status-store.ts';
import { legionInProcess } from '../support/legion-in-process.ts';

const TIMEOUT_MS = 90_000;
const TASK_ID = 'status-cli-1';

describe('CLI: legion status', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'legion-status-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the tasks of a data folder, shows one with its totals, agents and child tasks, and refuses an unknown task or a missing folder', async () => {
    const run = await legionInProcess(['run', 'hierarchical', '--task-id', TASK_ID, '--data-dir', dataDir]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/totals \(sub-teams included\): \d+ model calls · 11 agent steps · \d+ \+ \d+ tokens · 11 checkpoints/);

    const list = await legionInProcess(['status', '--data-dir', dataDir]);
    expect(list.status, list.stderr).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^task\s+team\s+pattern\s+status\s+state\/agent\s+steps\s+tokens\s+updated$/);
    // The parent and both sub-teams' tasks, each with its own line.
    expect(rows).toHaveLength(4);
    expect(rows.find((row) => row.startsWith(`${TASK_ID} `))).toMatch(/research-hierarchy\s+hierarchical\s+SUCCEEDED\s+Rollup\/strategist\s+3\s+\d+\s+\S+Z$/);
    expect(rows.filter((row) => /(market|technical)-research\s+supervisor-worker\s+SUCCEEDED\s+\S+\s+4\s/.test(row))).toHaveLength(2);

    const shown = await legionInProcess(['status', TASK_ID, '--data-dir', dataDir, '--json']);
    expect(shown.status, shown.stderr).toBe(0);
    const report = JSON.parse(shown.stdout) as TaskReport;
    expect(report.task).toMatchObject({ taskId: TASK_ID, team: 'research-hierarchy', status: 'SUCCEEDED', stepsDone: 3 });
    expect(report.totals).toMatchObject({ agentSteps: 11, checkpoints: 11, rollbacks: 0 });
    expect(report.agents).toEqual([{ agent: 'strategist', steps: 3, tokens: expect.any(Number) as unknown, lastState: 'Rollup' }]);
    expect(report.children.map((child: TaskStatus) => [child.team, child.status, child.stepsDone])).toEqual([
      ['market-research', 'SUCCEEDED', 4],
      ['technical-research', 'SUCCEEDED', 4],
    ]);

    const unknown = await legionInProcess(['status', 'no-such-task', '--data-dir', dataDir]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no task no-such-task in /);

    const noFolder = await legionInProcess(['status', TASK_ID]);
    expect(noFolder.status).toBe(2);
    expect(noFolder.stderr).toMatch(/required option '--data-dir <dir>' not specified/);
  }, 4 * TIMEOUT_MS);
});
