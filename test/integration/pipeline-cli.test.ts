/**
 * `legion run pipeline` as a user runs it: a real child process of bin/legion.js with the example
 * team (teams/content-pipeline.yaml), its example input and the scripted model.
 */
import { describe, expect, it } from 'vitest';
import type { PipelineOutput } from '../../functions/patterns/pipeline/contract.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionSync } from '../support/legion-process.ts';

describe('CLI: legion run pipeline', () => {
  it('runs the example content pipeline offline and exits 0 with status SUCCEEDED', () => {
    // Act
    const result = legionSync(['run', 'pipeline', '--json'], { timeoutMs: 60_000 });

    // Assess
    expect(result.status, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout) as RunResult;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.team).toBe('content-pipeline');
    expect((run.output as PipelineOutput).stages.map((stage) => stage.agentId)).toEqual(['researcher', 'writer', 'editor', 'publisher']);
    // Four stages, four gates, and the verifier's check of the stages' statistics against the example's facts.
    expect(run.checkpoints).toBe(9);
  });

  it('rejects input without a brief with exit code 2', () => {
    const result = legionSync(['run', 'pipeline', '--input', '{"request": "hello"}'], { timeoutMs: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/brief/);
  });
});
