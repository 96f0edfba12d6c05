/**
 * `legion approve` and `legion reject` as a user runs them: the run escalates in one process and
 * stops WAITING; a second process, on the same `--data-dir`, decides and resumes it. Real child
 * processes of bin/legion.js; the scripted model's `inconsistent` fault (a scripted shortcut) makes
 * the runs escalate.
 */
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionSync } from '../support/legion-process.ts';

const legion = (...args: string[]): SpawnSyncReturns<string> => legionSync(args, { timeoutMs: 60_000 });
const escalate = (dir: string, taskId: string): SpawnSyncReturns<string> =>
  legion('run', 'supervisor-worker', '--data-dir', dir, '--task-id', taskId, '--inject', 'inconsistent:Classify:9', '--quiet');

describe('CLI: legion approve / legion reject', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'legion-approval-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('approves a WAITING task from a second process: it ends SUCCEEDED with --output (exit 0)', () => {
    // Act
    const waiting = escalate(dir, 'approve-me');
    const approved = legion('approve', 'approve-me', '--data-dir', dir, '--output', '{"answer":"Refund issued by hand"}', '--by', 'ops', '--json');

    // Assess
    expect(waiting.status).toBe(1);
    expect(waiting.stderr).toMatch(/WAITING/);
    expect(waiting.stderr).toContain(`legion approve approve-me --data-dir ${dir}`);
    expect(approved.status, approved.stderr).toBe(0);
    const run = JSON.parse(approved.stdout) as RunResult;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ approvedBy: 'ops', output: { answer: 'Refund issued by hand' } });
  }, 120_000);

  it('rejects a WAITING task from a second process: it ends FAILED with HumanRejectedError (exit 1), and a second decision exits 2', () => {
    // Act
    escalate(dir, 'reject-me');
    const rejected = legion('reject', 'reject-me', '--data-dir', dir, '--reason', 'not worth a refund', '--json');
    const again = legion('approve', 'reject-me', '--data-dir', dir);

    // Assess
    expect(rejected.status).toBe(1);
    const run = JSON.parse(rejected.stdout) as RunResult;
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatchObject({ error: 'HumanRejectedError' });
    expect(run.error?.cause).toContain('not worth a refund');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/task reject-me was rejected already/);
  }, 120_000);

  it('exits 2 naming the problem for a task that is not waiting, bad --output JSON, or a missing --reason', () => {
    expect(legion('approve', 'nobody', '--data-dir', dir).stderr).toMatch(/no task nobody/);
    const badJson = legion('approve', 'approve-me', '--data-dir', dir, '--output', '{oops');
    expect(badJson.status).toBe(2);
    expect(badJson.stderr).toMatch(/--output must be JSON/);
    const noReason = legion('reject', 'approve-me', '--data-dir', dir);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
  }, 120_000);
});
