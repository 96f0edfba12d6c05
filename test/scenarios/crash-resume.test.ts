/**
 * Crash and resume, as a user would see it: for each state of the supervisor-worker machine, a
 * real `legion run` child process is killed with SIGKILL as that state starts (`--inject crash:`),
 * then `legion resume` on the same `--data-dir` finishes the task. The result must equal an
 * uninterrupted run, and no agent step may act twice: the resume calls the model only for steps
 * that had no checkpoint, and each step has exactly one checkpoint.
 *
 * One crash point runs as a user's first commands do: each of its two processes starts DynamoDB
 * Local on the data folder, so the kill takes that DynamoDB Local down too and the resume, another
 * process, reads what reached the disk. The others use the test run's DynamoDB Local
 * (LEGION_DYNAMODB_ENDPOINT, a table per data folder), which spares two Java start-ups per case;
 * what the killed process left is all in that table, so their resume runs in-process (runLegion, a
 * fresh local runtime as a new process would start), which spares a CLI start-up.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadTeamFile } from '../../functions/core/team.ts';
import { allStates } from '../../local/asl.ts';
import { LocalRuntime, type RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { type CliOutcome, legionProcess } from '../support/legion-process.ts';

const MULTI_INTENT = { request: 'I was overcharged on my invoice and my router keeps dropping the wifi' };
const UNCLASSIFIABLE = { request: 'Hello there, anybody around?' };

/**
 * States a run passes through, with the checkpoints that must exist when it starts (the steps
 * finished before it). A Work state starts while its sibling worker may already be done.
 */
const CRASH_POINTS: { state: string; input: object; doneBefore: [number, number]; alsoInject?: string; ownDatabase?: boolean }[] = [
  { state: 'Begin', input: MULTI_INTENT, doneBefore: [0, 0] },
  { state: 'CheckApproval', input: MULTI_INTENT, doneBefore: [0, 0] },
  { state: 'Classify', input: MULTI_INTENT, doneBefore: [0, 0] },
  { state: 'Route', input: MULTI_INTENT, doneBefore: [1, 1] },
  { state: 'Delegate', input: MULTI_INTENT, doneBefore: [1, 1] },
  { state: 'Work', input: MULTI_INTENT, doneBefore: [1, 2], ownDatabase: true },
  { state: 'Synthesize', input: MULTI_INTENT, doneBefore: [3, 3] },
  { state: 'Fallback', input: UNCLASSIFIABLE, doneBefore: [1, 1] },
  // In the middle of an automatic rollback: the inconsistent result was never checkpointed.
  { state: 'RollBack', input: MULTI_INTENT, doneBefore: [3, 3], alsoInject: 'inconsistent:Synthesize' },
  { state: 'WorkInconsistent', input: MULTI_INTENT, doneBefore: [1, 2], alsoInject: 'inconsistent:Work' },
  { state: 'CheckWork', input: MULTI_INTENT, doneBefore: [3, 3] },
  { state: 'WorkConsistent', input: MULTI_INTENT, doneBefore: [3, 3] },
  // The sibling worker finished and checkpointed before the rollback started.
  { state: 'DescribeInconsistentWork', input: MULTI_INTENT, doneBefore: [2, 2], alsoInject: 'inconsistent:Work' },
];
/** States a scripted run cannot reach: failure paths (covered by the integration tests in-process). */
const UNREACHABLE = [
  'WorkerUnavailable',
  'WorkInfrastructureFailed',
  'ClassificationFailed',
  'SynthesisFailed',
  'UnknownRoute',
  'BeginFailed',
  'RollbackFailed',
  // A run that escalates waits for a human, which test/integration/human-approval.test.ts covers.
  'Escalate',
  'RestoreEscalation',
  'HumanApproved',
  'HumanRejected',
  'ApprovalTimedOut',
  'ApprovalWaitTimedOut',
  'ApprovalHeartbeatLost',
  'EscalationFailed',
];


describe('Scenario: crash at every state of supervisor-worker, then resume', () => {
  const reference = new Map<object, RunResult>();

  beforeAll(async () => {
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    const team = await loadTeamFile('teams/telecom-support.yaml');
    try {
      for (const input of [MULTI_INTENT, UNCLASSIFIABLE]) {
        reference.set(input, await runtime.run({ team, input, taskId: `reference-${String(Date.now())}-${String(reference.size)}` }));
      }
    } finally {
      await runtime.stop();
    }
  });

  it('covers every state of the ASL file (the ones it skips are named, with the reason)', () => {
    const asl = JSON.parse(readFileSync('statemachines/supervisor-worker.asl.json', 'utf8')) as Parameters<typeof allStates>[0];
    const names = [...allStates(asl)].map(([name]) => name).sort();
    expect([...CRASH_POINTS.map((point) => point.state), ...UNREACHABLE].sort()).toEqual(names);
  });

  it.concurrent.each(CRASH_POINTS)('crash as $state starts', async ({ state, input, doneBefore, alsoInject, ownDatabase = false }) => {
    /** The run to kill: a real `legion` child process (test/support/legion-process.ts). */
    const legionChild = (...args: string[]): Promise<CliOutcome> => legionProcess(args, { timeoutMs: 120_000, ownDatabase });
    /** What follows the kill: another process on its own DynamoDB Local, else in-process on the shared one. */
    const legion = (...args: string[]): Promise<CliOutcome> => (ownDatabase ? legionChild(...args) : legionInProcess(args));
    const dataDir = mkdtempSync(join(tmpdir(), 'legion-crash-'));
    const taskId = `crash-${state.toLowerCase()}`;
    const crashed = await legionChild('run', 'supervisor-worker', '--input', JSON.stringify(input), '--task-id', taskId, '--data-dir', dataDir, '--inject', `crash:${state}`, ...(alsoInject ? ['--inject', alsoInject] : []), '--json');
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.stdout).toBe('');

    let resumed = await legion('resume', taskId, '--data-dir', dataDir, '--json');
    if (state === 'Begin' && resumed.status === 2) {
      // Killed before Begin stored the task: nothing to resume, and running it again is safe.
      expect(resumed.stderr).toMatch(/it never started/);
      resumed = await legion('run', 'supervisor-worker', '--input', JSON.stringify(input), '--task-id', taskId, '--data-dir', dataDir, '--json');
    }
    expect(resumed.status, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as RunResult;
    const expected = reference.get(input);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual(expected?.output);
    expect(result.checkpointsBefore).toBeGreaterThanOrEqual(doneBefore[0]);
    expect(result.checkpointsBefore).toBeLessThanOrEqual(doneBefore[1]);
    // Only the steps without a checkpoint called the model again.
    expect(result.modelCalls).toBe((expected?.trace.length ?? 0) - result.checkpointsBefore);
    const steps = result.trace.map((step) => `${step.agent}:${step.state}`);
    expect(new Set(steps).size).toBe(steps.length);
    expect([...steps].sort()).toEqual(expected?.trace.map((step) => `${step.agent}:${step.state}`).sort());
  }, 180_000);
});
