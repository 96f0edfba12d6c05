/**
 * `legion run pipeline` as a user runs it: the CLI in-process (runLegion on captured streams) with the example
 * team (teams/content-pipeline.yaml), its example input and the scripted model.
 */
import { describe, expect, it } from 'vitest';
import type { PipelineOutput } from '../../functions/patterns/pipeline/contract.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';

describe('CLI: legion run pipeline', () => {
  it('runs the example content pipeline offline and exits 0 with status SUCCEEDED', async () => {
    // Act
    const result = await legionInProcess(['run', 'pipeline', '--json']);

    // Assess
    expect(result.status, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout) as RunResult;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.team).toBe('content-pipeline');
    expect((run.output as PipelineOutput).stages.map((stage) => stage.agentId)).toEqual(['researcher', 'writer', 'editor', 'publisher']);
    // Four stages, four gates, and the verifier's check of the stages' statistics against the example's facts.
    expect(run.checkpoints).toBe(9);
  });

  it('rejects input without a brief with exit code 2', async () => {
    const result = await legionInProcess(['run', 'pipeline', '--input', '{"request": "hello"}']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/brief/);
  });
});
