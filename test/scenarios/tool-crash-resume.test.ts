/**
 * A side-effecting tool runs once per step across a crash: a real `legion run` child process is
 * killed (SIGKILL) after its worker's `append_line` tool ran and was recorded, while the step waits
 * in its next tool (`pause`); `legion resume` then finishes the step, and the line is in the file
 * once. The child uses the test run's DynamoDB Local, where the test watches for the recorded call
 * before it kills; the resume runs in-process, as in crash-resume.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { ToolCallJournal } from '../../functions/tools/tool-call-journal.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { legionEnvironment, tableOfDataFolder } from '../support/legion-process.ts';

const TEAM = 'test/fixtures/teams/recorder.yaml';

describe('Scenario: killed after a side-effecting tool ran, then resumed', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  it('runs the tool once: the resume takes its recorded result', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'legion-tool-crash-'));
    const appendFile = join(dataDir, 'record.txt');
    const taskId = 'tool-crash-1';
    const args = ['run', 'supervisor-worker', '--team', TEAM, '--task-id', taskId, '--data-dir', dataDir, '--quiet'];
    const child = spawn(process.execPath, ['bin/legion.js', ...args], {
      env: { ...legionEnvironment(args), LEGION_TEST_APPEND_FILE: appendFile, LEGION_TEST_PAUSE_MS: '20000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let running = true;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { running = false; resolve(signal); }));
    const journal = new ToolCallJournal({ client, tableName: tableOfDataFolder(dataDir), team: 'recorder' });
    // The table exists once the child has started its runtime; until then the listing fails.
    await waitFor(async () => {
      if (!running) throw new Error(`the run ended before its tool was recorded: ${stderr}`);
      return (await journal.list(taskId).catch(() => [])).some((call) => call.name === 'append_line');
    }, 60_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(readFileSync(appendFile, 'utf8')).toBe('Please record this line.\n');

    vi.stubEnv('LEGION_TEST_APPEND_FILE', appendFile);
    vi.stubEnv('LEGION_TEST_PAUSE_MS', '0');
    try {
      const resumed = await legionInProcess(['resume', taskId, '--team', TEAM, '--data-dir', dataDir, '--json']);
      expect(resumed.status).toBe(0);
      const result = JSON.parse(resumed.stdout) as { status: string; output: { answer: string }; trace: { state: string; toolCalls?: { name: string; ok: boolean }[] }[] };
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output.answer).toContain('[tool append_line] appended');
      expect(result.output.answer).toContain('[tool pause] paused');
      const work = result.trace.find((entry) => entry.state === 'Work');
      expect(work?.toolCalls).toEqual([expect.objectContaining({ name: 'append_line', ok: true }), expect.objectContaining({ name: 'pause', ok: true })]);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(readFileSync(appendFile, 'utf8')).toBe('Please record this line.\n');
  }, 120_000);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not true within ${String(timeoutMs)} ms`);
    await sleep(100);
  }
}
