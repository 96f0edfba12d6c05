/**
 * `legion run <pattern> --inject loop|loop:stubborn|hallucination|deadlock --json` as a user runs
 * it: the CLI in-process (runLegion, test/support/legion-in-process.ts), each run on its own table
 * of the test run's DynamoDB Local, with the scripted model. The failure modes are scripted shortcuts (local/scenarios/); what is under test is
 * what the user sees: the exit code (0 SUCCEEDED, 1 WAITING, 2 a usage error) and the `detections`
 * of the JSON result (type, step, action). The runs start together in beforeAll and run side by
 * side; each scenario then asserts on its own outcome. One run per failure mode: the other patterns' scenarios run
 * in-process (loop.test.ts, pipeline-hallucination.test.ts, hallucination.test.ts, deadlock.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { DetectionRecord } from '../../functions/core/contracts/detections.ts';
import type { PipelineOutput } from '../../functions/patterns/pipeline/contract.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import type { CliOutcome } from '../support/legion-process.ts';

/** The beforeAll that waits for all the runs. */
const ALL_RUNS_TIMEOUT_MS = 160_000;

/** The `legion` CLI, in-process. */
const legion = (...args: string[]): Promise<CliOutcome> => legionInProcess(args);

/** The scenarios, each one `legion run` call. */
const SCENARIOS = {
  pipelineLoop: ['pipeline', 'loop'],
  pipelineStubbornLoop: ['pipeline', 'loop:stubborn'],
  peerHallucination: ['peer-to-peer', 'hallucination'],
  supervisorDeadlock: ['supervisor-worker', 'deadlock'],
  loopOnSupervisor: ['supervisor-worker', 'loop'],
  deadlockOnPipeline: ['pipeline', 'deadlock'],
} as const satisfies Record<string, readonly [string, string]>;
type Scenario = keyof typeof SCENARIOS;

/** What the user reads from a detection: type, step, action. */
const summaryOf = (detection: DetectionRecord): [string, string, string] => [detection.type, detection.step, detection.action];

describe('CLI: legion run --inject <failure mode> --json', () => {
  const outcomes = new Map<Scenario, CliOutcome>();

  /** The run's JSON result, after checking the process ended on its own with output on stdout. */
  function runOf(scenario: Scenario): RunResult {
    const outcome = outcomes.get(scenario);
    if (!outcome) throw new Error(`scenario ${scenario} did not run`);
    expect(outcome.signal, `${scenario} was killed: ${outcome.stderr}`).toBeNull();
    expect(outcome.stdout, `${scenario} printed no result: ${outcome.stderr}`).not.toBe('');
    return JSON.parse(outcome.stdout) as RunResult;
  }

  const statusOf = (scenario: Scenario): number | null => outcomes.get(scenario)?.status ?? null;
  const stderrOf = (scenario: Scenario): string => outcomes.get(scenario)?.stderr ?? '';

  beforeAll(async () => {
    const entries = Object.entries(SCENARIOS) as [Scenario, readonly [string, string]][];
    const results = await Promise.all(entries.map(([, [pattern, mode]]) => legion('run', pattern, '--inject', mode, '--json')));
    entries.forEach(([scenario], index) => {
      const result = results[index];
      if (result) outcomes.set(scenario, result);
    });
  }, ALL_RUNS_TIMEOUT_MS);

  it('pipeline, loop: the conflict rule ends the writer-editor oscillation; exit 0, SUCCEEDED', () => {
    const run = runOf('pipelineLoop');

    expect(statusOf('pipelineLoop'), stderrOf('pipelineLoop')).toBe(0);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.detections.map(summaryOf)).toEqual([['loop', 'CheckLoop', 'conflict-rule']]);
    expect(run.detections[0]).toMatchObject({ stepId: 'h2', agents: ['editor', 'writer'], taskId: run.taskId });
    // The editor (rank 2) won: the writer's draft that passed is in the formal tone it demanded.
    expect((run.output as PipelineOutput).stages[1]?.output).toContain('Tone: formal');
  });

  it('pipeline, loop:stubborn: the loop goes on after the ruling and escalates; exit 1, WAITING with LoopDetectedError', () => {
    const run = runOf('pipelineStubbornLoop');

    expect(statusOf('pipelineStubbornLoop'), stderrOf('pipelineStubbornLoop')).toBe(1);
    expect(run.status).toBe('WAITING');
    expect(run.approval).toMatchObject({ status: 'PENDING', escalation: { Error: 'LoopDetectedError' } });
    expect(run.detections.map(summaryOf)).toEqual([
      ['loop', 'CheckLoop', 'conflict-rule'],
      ['loop', 'CheckLoop', 'escalated'],
    ]);
    expect(run.detections.map((detection) => detection.stepId)).toEqual(['h2', 'h3']);
  });

  it('peer-to-peer, hallucination: the quorum\'s false premise is flagged by the verifier; exit 0', () => {
    const run = runOf('peerHallucination');

    expect(statusOf('peerHallucination'), stderrOf('peerHallucination')).toBe(0);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.detections.map(summaryOf)).toEqual([['hallucination', 'Verify', 'flagged']]);
    expect(run.detections[0]?.stepId).toBe('round-1');
    expect(run.output).toMatchObject({ verified: false, hallucination: true });
  });

  it('supervisor-worker, deadlock: the youngest holder of the cycle releases and retries; exit 0, both workers answer', () => {
    const run = runOf('supervisorDeadlock');

    expect(statusOf('supervisorDeadlock'), stderrOf('supervisorDeadlock')).toBe(0);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.detections.length).toBeGreaterThanOrEqual(1);
    expect(new Set(run.detections.map((detection) => summaryOf(detection).join(' ')))).toEqual(new Set(['deadlock Work released-youngest']));
    for (const detection of run.detections) expect([...detection.agents].sort()).toEqual(['billing', 'technical-support']);
    expect(run.trace.filter((entry) => entry.state === 'Work').map((entry) => entry.agent).sort()).toEqual(['billing', 'technical-support']);
  });

  it('refuses --inject loop on supervisor-worker with exit 2 and a message naming where it applies, without running anything', () => {
    expect(statusOf('loopOnSupervisor')).toBe(2);
    expect(stderrOf('loopOnSupervisor')).toContain('--inject loop: reproduced offline in pipeline, peer-to-peer, not in supervisor-worker');
    expect(outcomes.get('loopOnSupervisor')?.stdout).toBe('');
  });

  it('refuses --inject deadlock on pipeline with exit 2 and a message naming where it applies, without running anything', () => {
    expect(statusOf('deadlockOnPipeline')).toBe(2);
    expect(stderrOf('deadlockOnPipeline')).toContain('--inject deadlock: reproduced offline in supervisor-worker and peer-to-peer, not in pipeline');
    expect(outcomes.get('deadlockOnPipeline')?.stdout).toBe('');
  });
});
