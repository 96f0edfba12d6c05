/**
 * The `legion` CLI as a user runs it. Bad usage and bad input exit with code 2 and say what was
 * wrong, before any database is started. What a command prints and returns is tested in-process
 * (runLegion on captured streams); the process itself in real child processes of bin/legion.js:
 * the exit codes the shell sees, a second process on the same data folder, Ctrl-C, a closed stdout.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { legionInProcess } from '../support/legion-in-process.ts';
import { type CliOutcome, legionProcess } from '../support/legion-process.ts';

const legion = (...args: string[]): Promise<CliOutcome> => legionInProcess(args);
const legionChild = (...args: string[]): Promise<CliOutcome> => legionProcess(args, { timeoutMs: 60_000 });

describe('CLI: the legion process', () => {
  it.concurrent('exits 2 for bad usage, 1 for a command that did not succeed, 0 for one that did, as the shell sees them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'legion-exit-codes-'));
    const [usage, unknownTask, patterns] = await Promise.all([
      legionChild('run', 'round-robin'),
      legionChild('status', 'no-such-task', '--data-dir', dataDir),
      legionChild('patterns'),
    ]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/round-robin/);
    expect(unknownTask.status, unknownTask.stderr).toBe(1);
    expect(unknownTask.stderr).toMatch(/legion: no task no-such-task/);
    expect(patterns.status).toBe(0);
    expect(patterns.stdout).toMatch(/^supervisor-worker /);
  }, 90_000);
});

describe.concurrent('CLI: legion run (bad usage)', () => {
  it('rejects an unknown pattern with exit code 2 and the allowed choices', async () => {
    const result = await legion('run', 'round-robin');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/round-robin/);
    expect(result.stderr).toMatch(/supervisor-worker/);
  });

  it('rejects malformed JSON input with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--input', '{"request": ');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--input is not valid JSON/);
  });

  it('rejects input without the required request field with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--input', '{"text": "hello"}');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/request/);
  });

  it('rejects an empty request with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--input', '{"request": "   "}');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/request: must not be empty/);
  });

  it('rejects --input given without a value with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--input');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/argument missing/);
  });

  it('rejects a missing --input-file with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--input-file', '/nonexistent/input.json');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/cannot read --input-file \/nonexistent\/input.json: ENOENT/);
  });

  it('rejects --input together with --input-file with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--input', '{}', '--input-file', 'x.json');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/cannot be used with/);
  });

  it('rejects an invalid team file with exit code 2 naming the problem', async () => {
    const result = await legion('run', 'supervisor-worker', '--team', 'package.json');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Invalid team definition package.json/);
  });

  it('rejects a bad task id with exit code 2', async () => {
    const result = await legion('run', 'supervisor-worker', '--task-id', 'has spaces');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--task-id/);
  });

  it('rejects a LEGION_DYNAMODB_ENDPOINT that is not a URL with exit code 2, before starting anything', async () => {
    const result = await legionInProcess(['run', 'supervisor-worker'], { LEGION_DYNAMODB_ENDPOINT: 'localhost:8000' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/legion: LEGION_DYNAMODB_ENDPOINT must be an http\(s\) URL/);
  });

  it('requires --data-dir for checkpoints', async () => {
    const result = await legion('checkpoints', 'some-task');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--data-dir/);
  });
});

describe('CLI: legion run and legion checkpoints', () => {
  it('runs a team, prints the JSON result, and lists the same checkpoints from a second process', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'legion-cli-'));
    // As a user runs it: without the variable the test run sets; the launcher (bin/legion.js) quiets the AWS SDK's Node version warning itself.
    const run = await legionProcess(['run', 'supervisor-worker', '--team', 'test/fixtures/teams/it-helpdesk.yaml',
      '--input', '{"request":"my printer and my vpn are broken"}', '--task-id', 'cli-task-1', '--data-dir', dataDir, '--json'], { timeoutMs: 60_000, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined } });
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as {
      status: string; taskId: string; output: { intents: string[] }; checkpoints: number;
      trace: { agent: string; state: string; durationMs: number; tokens: number }[];
    };
    expect(result.status).toBe('SUCCEEDED');
    expect(result.taskId).toBe('cli-task-1');
    expect(result.output.intents).toEqual(['hardware', 'access']);
    expect(result.checkpoints).toBe(4);
    expect(result.trace).toHaveLength(4);
    for (const step of result.trace) {
      expect(Object.keys(step)).toEqual(expect.arrayContaining(['agent', 'state', 'durationMs', 'tokens']));
    }
    expect(run.stderr).toMatch(/dispatcher working \(Classify\)/);
    expect(run.stderr).not.toMatch(/Warning/);

    const listed = await legionChild('checkpoints', 'cli-task-1', '--data-dir', dataDir, '--json');
    expect(listed.status).toBe(0);
    const checkpoints = (JSON.parse(listed.stdout) as { checkpoints: { sequence: number; checksumValid: boolean }[] }).checkpoints;
    expect(checkpoints.map((checkpoint) => checkpoint.sequence)).toEqual([1, 2, 3, 4]);
    expect(checkpoints.every((checkpoint) => checkpoint.checksumValid)).toBe(true);
  }, 90_000);
});

/** Java processes of DynamoDB Local that use this data folder. */
function dynamoDbLocalProcessesFor(dataDir: string): string[] {
  const listing = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  // The java process itself, not the shell guard that starts it (whose arguments name the jar too).
  return listing.split('\n').filter((line) => /^\s*\d+\s+java\s/.test(line) && line.includes('DynamoDBLocal.jar') && line.includes(dataDir));
}

describe('CLI: a reader that stops early', () => {
  it('ends quietly with exit code 0 when stdout is closed before the output is written (legion ... | head)', async () => {
    const child = spawn(process.execPath, ['bin/legion.js', 'patterns'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });
});

describe('CLI: interrupting a run', () => {
  it('stops DynamoDB Local and releases the data folder on Ctrl-C', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'legion-sigint-'));
    const child = spawn(process.execPath, ['bin/legion.js', 'run', 'supervisor-worker', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    // Wait until DynamoDB Local is up (its lock is taken before start, its java process is listed).
    const deadline = Date.now() + 45_000;
    while (dynamoDbLocalProcessesFor(dataDir).length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(dynamoDbLocalProcessesFor(dataDir)).toHaveLength(1);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(130);
    expect(stderr).toMatch(/Interrupted \(SIGINT\)/);
    // Java stops once the guard's stdin closes with the CLI; give the JVM a moment to exit.
    const stopDeadline = Date.now() + 10_000;
    while (dynamoDbLocalProcessesFor(dataDir).length > 0 && Date.now() < stopDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(dynamoDbLocalProcessesFor(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, 'legion.lock'))).toBe(false);
  }, 90_000);
});

describe('CLI: legion rollback then legion resume', () => {
  it('undoes the latest step, and a resume runs only that step again to the same answer', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'legion-rollback-'));
    const run = await legion('run', 'supervisor-worker', '--input', '{"request":"please refund my bill"}', '--task-id', 'rb-1', '--data-dir', dataDir, '--json');
    expect(run.status).toBe(0);
    const original = JSON.parse(run.stdout) as { output: unknown; checkpoints: number };

    const rolledBack = await legion('rollback', 'rb-1', '--data-dir', dataDir, '--reason', 'synthesis was wrong', '--json');
    expect(rolledBack.status, rolledBack.stderr).toBe(0);
    expect(JSON.parse(rolledBack.stdout)).toEqual({ taskId: 'rb-1', to: 2, invalidated: [3] });

    const tooFar = await legion('rollback', 'rb-1', '--to', '99', '--data-dir', dataDir);
    expect(tooFar.status).toBe(2);
    expect(tooFar.stderr).toMatch(/checkpoint 99 is not valid/);

    const resumed = await legion('resume', 'rb-1', '--data-dir', dataDir, '--json');
    expect(resumed.status, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as { output: unknown; checkpointsBefore: number; modelCalls: number; checkpoints: number };
    expect(result.output).toEqual(original.output);
    expect(result.checkpointsBefore).toBe(2);
    expect(result.modelCalls).toBe(1);
    expect(result.checkpoints).toBe(original.checkpoints + 1); // the invalidated one is kept for inspection
  }, 120_000);
});

describe('CLI: legion run --inject inconsistent', () => {
  it('rolls back automatically and succeeds when the fault passes, and escalates to a human (WAITING, exit 1) when it does not', async () => {
    const once = await legion('run', 'supervisor-worker', '--inject', 'inconsistent:Synthesize', '--json');
    expect(once.status, once.stderr).toBe(0);
    const recovered = JSON.parse(once.stdout) as { status: string; rollbacks: { automatic: boolean; reason: string }[] };
    expect(recovered.status).toBe('SUCCEEDED');
    expect(recovered.rollbacks).toEqual([expect.objectContaining({ automatic: true, reason: expect.stringContaining('empty synthesis') as unknown })]);

    const always = await legion('run', 'supervisor-worker', '--inject', 'inconsistent:Classify:9');
    expect(always.status).toBe(1);
    expect(always.stderr).toMatch(/WAITING .* 2 rollbacks/);
    expect(always.stderr).toMatch(/RollbackLimitExceededError: Task .* escalated: 2 automatic rollbacks reached the limit of 2/);
    expect(always.stderr).toMatch(/legion approve .* --data-dir/);
  }, 60_000);

  it('rejects an unknown state or a bad count with exit code 2', async () => {
    expect((await legion('run', 'supervisor-worker', '--inject', 'inconsistent:Nope')).stderr).toMatch(/has no state "Nope"/);
    const badCount = await legion('run', 'supervisor-worker', '--inject', 'inconsistent:Work:0');
    expect(badCount.status).toBe(2);
    expect(badCount.stderr).toMatch(/count must be a positive integer/);
    expect((await legion('run', 'supervisor-worker', '--inject', 'explode:Work')).status).toBe(2);
  });
});
