/**
 * `legion approve` and `legion reject` as a user runs them: the run escalates in one command and
 * stops WAITING; a second command, on the same `--data-dir` (its own local runtime, as a second
 * process would start), decides and resumes it. The CLI runs in-process (runLegion); the scripted
 * model's `inconsistent` fault (a scripted shortcut) makes the runs escalate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import type { CliOutcome } from '../support/legion-process.ts';

const legion = (...args: string[]): Promise<CliOutcome> => legionInProcess(args);
const escalate = (dir: string, taskId: string): Promise<CliOutcome> =>
  legion('run', 'supervisor-worker', '--data-dir', dir, '--task-id', taskId, '--inject', 'inconsistent:Classify:9', '--quiet');

describe('CLI: legion approve / legion reject', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'legion-approval-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('approves a WAITING task from a second command: it ends SUCCEEDED with --output (exit 0)', async () => {
    // Act
    const waiting = await escalate(dir, 'approve-me');
    const approved = await legion('approve', 'approve-me', '--data-dir', dir, '--output', '{"answer":"Refund issued by hand"}', '--by', 'ops', '--json');

    // Assess
    expect(waiting.status).toBe(1);
    expect(waiting.stderr).toMatch(/WAITING/);
    expect(waiting.stderr).toContain(`legion approve approve-me --data-dir ${dir}`);
    expect(approved.status, approved.stderr).toBe(0);
    const run = JSON.parse(approved.stdout) as RunResult;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ approvedBy: 'ops', output: { answer: 'Refund issued by hand' } });
  }, 120_000);

  it('rejects a WAITING task from a second command: it ends FAILED with HumanRejectedError (exit 1), and a second decision exits 2', async () => {
    // Act
    await escalate(dir, 'reject-me');
    const rejected = await legion('reject', 'reject-me', '--data-dir', dir, '--reason', 'not worth a refund', '--json');
    const again = await legion('approve', 'reject-me', '--data-dir', dir);

    // Assess
    expect(rejected.status).toBe(1);
    const run = JSON.parse(rejected.stdout) as RunResult;
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatchObject({ error: 'HumanRejectedError' });
    expect(run.error?.cause).toContain('not worth a refund');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/task reject-me was rejected already/);
  }, 120_000);

  it('exits 2 naming the problem for a task that is not waiting, bad --output JSON, or a missing --reason', async () => {
    expect((await legion('approve', 'nobody', '--data-dir', dir)).stderr).toMatch(/no task nobody/);
    const badJson = await legion('approve', 'approve-me', '--data-dir', dir, '--output', '{oops');
    expect(badJson.status).toBe(2);
    expect(badJson.stderr).toMatch(/--output must be JSON/);
    const noReason = await legion('reject', 'approve-me', '--data-dir', dir);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
  }, 120_000);
});
