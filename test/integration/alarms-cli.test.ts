/**
 * `legion alarms` as a user drives it: `legion run` commands (in-process, runLegion) on one data folder, with
 * `--inject checkpoint-failures:0.2`, add up their metrics in the folder until the
 * CheckpointFailureRate alarm is in ALARM; the run that moves it there says so on stderr; the same
 * number of clean runs in another folder leaves it OK; bad arguments exit 2.
 *
 * How many runs: a supervisor-worker run of the example team saves 4 checkpoints (Classify, two
 * workers, Synthesize). With rate 0.2 the first save of each run fails (Classify, retried at
 * once by the state machine), so a run makes 5 attempts, 1 failed: 20 %. The alarm needs at least
 * CHECKPOINT_MINIMUM_ATTEMPTS (20) attempts in its 5-minute period: 4 runs, the 4th moving it into
 * ALARM (after 3 runs, 15 attempts, it computes 0). The two folders' runs go side by side, each
 * folder's in turn (one command per folder at a time).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmsReport } from '../../bin/cli/alarms.ts';
import { CHECKPOINT_MINIMUM_ATTEMPTS } from '../../functions/observability/alarms.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import type { CliOutcome } from '../support/legion-process.ts';

const ATTEMPTS_PER_RUN = 5;
const RUNS = Math.ceil(CHECKPOINT_MINIMUM_ATTEMPTS / ATTEMPTS_PER_RUN);
const TIMEOUT_MS = 120_000;

async function runsInTurn(dataDir: string, extra: readonly string[]): Promise<CliOutcome[]> {
  const outcomes: CliOutcome[] = [];
  for (let run = 0; run < RUNS; run += 1) outcomes.push(await legionInProcess(['run', 'supervisor-worker', '--data-dir', dataDir, '--quiet', ...extra]));
  return outcomes;
}

function reportOf(outcome: CliOutcome): AlarmsReport {
  expect(outcome.stderr).toBe('');
  expect(outcome.status).toBe(0);
  return JSON.parse(outcome.stdout) as AlarmsReport;
}

describe('CLI: legion alarms', () => {
  let root: string;
  let injected: CliOutcome[];
  let clean: CliOutcome[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'legion-alarms-'));
    [injected, clean] = await Promise.all([runsInTurn(join(root, 'injected'), ['--inject', 'checkpoint-failures:0.2']), runsInTurn(join(root, 'clean'), [])]);
  }, 4 * TIMEOUT_MS);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('runs with failing checkpoint writes still succeed (the state machine retries the steps)', () => {
    expect([...injected, ...clean].map((outcome) => outcome.status)).toEqual(Array.from({ length: 2 * RUNS }, () => 0));
  });

  it('tells on stderr of the run that moved CheckpointFailureRate into ALARM, and of no other', () => {
    const told = injected.map((outcome) => /^ALARM CheckpointFailureRate: 20 > 5 in the last 5 min \(written=16, failures=4\)/m.test(outcome.stderr));

    expect(told).toEqual(Array.from({ length: RUNS }, (_, run) => run === RUNS - 1));
    for (const outcome of [...injected, ...clean]) expect(outcome.stderr).not.toMatch(/warning/);
    for (const outcome of clean) expect(outcome.stderr).not.toMatch(/^ALARM /m);
  });

  it('shows CheckpointFailureRate in ALARM after the injected runs, OK after the clean ones (--json)', async () => {
    const [afterInjected, afterClean] = await Promise.all([
      legionInProcess(['alarms', '--data-dir', join(root, 'injected'), '--json']),
      legionInProcess(['alarms', '--data-dir', join(root, 'clean'), '--json', '--window', '1h']),
    ]);

    const failing = reportOf(afterInjected);
    expect(failing.window).toBe('per-alarm');
    expect(failing.alarms.find((alarm) => alarm.name === 'CheckpointFailureRate')).toMatchObject({ state: 'ALARM', value: 20, threshold: 5, metrics: { written: 16, failures: 4 } });
    expect(failing.alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name)).toEqual(['CheckpointFailureRate']);
    const healthy = reportOf(afterClean);
    expect(healthy.window).toBe('1h');
    expect(healthy.alarms.find((alarm) => alarm.name === 'CheckpointFailureRate')).toMatchObject({ state: 'OK', windowSeconds: 3600, metrics: { written: 4 * RUNS, failures: null } });
    expect(healthy.alarms.filter((alarm) => alarm.state === 'ALARM')).toEqual([]);
  }, TIMEOUT_MS);

  it('prints one line per alarm, and every alarm OK (or AWS-only) for a folder without metrics', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);

    const outcome = await legionInProcess(['alarms', '--data-dir', empty]);

    expect(outcome.status).toBe(0);
    expect(outcome.stdout).toMatch(/^STATE +ALARM +VALUE +THRESHOLD +REASON$/m);
    expect(outcome.stdout).toMatch(/^OK +CheckpointFailureRate +- +> 5 +no data in the last 5 min/m);
    expect(outcome.stdout).toMatch(/^INSUFFICIENT_DATA +DeadLetterQueueDepth .*evaluated in AWS only/m);
    expect(outcome.stdout).not.toMatch(/^ALARM /m);
  }, TIMEOUT_MS);

  it('exits 2 for bad arguments, saying what is wrong (all side by side: none starts DynamoDB Local)', async () => {
    const file = join(root, 'not-a-folder');
    await writeFile(file, '');
    const cases: [string, string[], RegExp][] = [
      ['an unknown window', ['alarms', '--data-dir', '.', '--window', '7x'], /legion: --window must be a whole number followed by s, m, h or d \(e\.g\. 30s, 5m, 1h, 2d\), got "7x"/],
      ['no data folder', ['alarms'], /required option '--data-dir <dir>' not specified/],
      ['a data folder that does not exist', ['alarms', '--data-dir', '/nonexistent/legion-data'], /legion: data folder \/nonexistent\/legion-data does not exist/],
      ['a data folder that is a file', ['alarms', '--data-dir', file], /legion: data folder .*not-a-folder is not a folder/],
      ['a checkpoint-failures rate above 1', ['run', 'supervisor-worker', '--inject', 'checkpoint-failures:1.5'], /checkpoint-failures:1.5: the rate must be a fraction above 0 and at most 1/],
    ];

    const outcomes = await Promise.all(cases.map(([, args]) => legionInProcess(args)));

    outcomes.forEach((outcome, index) => {
      const [name, , message] = cases[index] ?? ['?', [], /^$/];
      expect({ name, status: outcome.status, stdout: outcome.stdout }).toEqual({ name, status: 2, stdout: '' });
      expect(outcome.stderr).toMatch(message);
    });
  }, TIMEOUT_MS);
});
