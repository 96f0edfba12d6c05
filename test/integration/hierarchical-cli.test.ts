/** `legion run hierarchical` as a user runs it: the CLI in-process (runLegion on captured streams), the example team, the scripted model. */
import { describe, expect, it } from 'vitest';
import type { Rollup } from '../../functions/patterns/hierarchical/contract.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';

describe('CLI: legion run hierarchical', () => {
  it('runs the example team offline and exits 0 with the rolled-up answer of both sub-teams', async () => {
    const result = await legionInProcess(['run', 'hierarchical', '--json']);

    expect(result.status, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout) as RunResult;
    expect(run.status).toBe('SUCCEEDED');
    expect((run.output as Rollup).teams.map((report) => [report.subTeamId, report.status])).toEqual([
      ['market', 'SUCCEEDED'],
      ['technical', 'SUCCEEDED'],
    ]);
  }, 60_000);
});
