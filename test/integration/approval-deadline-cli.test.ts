/**
 * `legion approve` / `reject` / `resume` on a task past its approval deadline, as a user runs them:
 * the CLI in-process (runLegion), one command after another, on one `--data-dir`. The run escalates and stops WAITING;
 * then its approval is moved two days into the past in the data folder's table (what a
 * day of waiting would leave), since the CLI has no clock to move. The scripted model's
 * `inconsistent` fault (a scripted shortcut) makes the run escalate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APPROVAL_TIMEOUT_SECONDS, PENDING_APPROVALS_INDEX, approvalItemKey } from '../../functions/core/contract.ts';
import { DynamoDbLocal } from '../../local/dynamodb-local.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { type CliOutcome, tableOfDataFolder } from '../support/legion-process.ts';

/** The team of the example supervisor-worker run this file escalates (approval keys carry the team). */
const TEST_TEAM = 'telecom-support';

const legion = (...args: string[]): Promise<CliOutcome> => legionInProcess(args);

/** Moves a stored approval's request `days` into the past (the index's sort key with it), in the table the data folder's commands use. */
async function requestedDaysAgo(dataDir: string, taskId: string, days: number): Promise<string> {
  const requestedAt = new Date(Date.now() - days * APPROVAL_TIMEOUT_SECONDS * 1000).toISOString();
  const db = await DynamoDbLocal.connect(inject('dynamoEndpoint'), { tableName: tableOfDataFolder(dataDir) });
  try {
    await db.documentClient().send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: approvalItemKey(TEST_TEAM, taskId),
        UpdateExpression: 'SET #requestedAt = :at, #since = :at',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#requestedAt': 'requestedAt', '#since': PENDING_APPROVALS_INDEX.sortKey, '#status': 'status' },
        ExpressionAttributeValues: { ':at': requestedAt, ':pending': 'PENDING' },
      }),
    );
  } finally {
    await db.stop();
  }
  return requestedAt;
}

describe('CLI: a task past its approval deadline', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'legion-deadline-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('approve and reject exit 2 saying it timed out; resume ends its run ESCALATED with EscalationTimedOutError (exit 1)', async () => {
    // Arrange
    const waiting = await legion('run', 'supervisor-worker', '--data-dir', dir, '--task-id', 'too-late', '--inject', 'inconsistent:Classify:9', '--quiet');
    expect(waiting.stderr).toMatch(/WAITING/);
    const requestedAt = await requestedDaysAgo(dir, 'too-late', 2);

    // Act
    const approved = await legion('approve', 'too-late', '--data-dir', dir, '--output', '{"answer":"late"}');
    const rejected = await legion('reject', 'too-late', '--data-dir', dir, '--reason', 'late too');
    const resumed = await legion('resume', 'too-late', '--data-dir', dir, '--json', '--quiet');

    // Assess
    expect(approved.status, approved.stderr).toBe(2);
    expect(approved.stderr).toContain(`task too-late timed out waiting for a decision (waiting since ${requestedAt}, no decision by its deadline)`);
    expect(approved.stderr).toMatch(/can no longer be approved or rejected/);
    expect(rejected.status).toBe(2);
    expect(rejected.stderr).toMatch(/task too-late timed out waiting for a decision/);
    expect(resumed.status).toBe(1);
    const run = JSON.parse(resumed.stdout) as RunResult;
    expect(run.status).toBe('ESCALATED');
    expect(run.error?.error).toBe('EscalationTimedOutError');
    expect(run.error?.cause).toContain(`Task too-late waited for a human decision since ${requestedAt}`);
    expect(run.approval).toMatchObject({ status: 'TIMED_OUT', decidedBy: 'deadline' });
    expect(run.modelCalls).toBe(0);
  }, 180_000);
});
