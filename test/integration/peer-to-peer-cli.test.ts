/**
 * `legion run peer-to-peer` as a user runs it: the CLI in-process (runLegion on captured streams) with the
 * example team (teams/peer-review.yaml), its example input and the scripted model.
 */
import { describe, expect, it } from 'vitest';
import { legionInProcess } from '../support/legion-in-process.ts';

describe('CLI: legion run peer-to-peer', () => {
  it('runs the example team offline and prints the verified, agreed answer as JSON (exit code 0)', async () => {
    const { status, stdout, stderr } = await legionInProcess(['run', 'peer-to-peer', '--json']);
    expect(status, stderr).toBe(0);
    const result = JSON.parse(stdout) as { status: string; pattern: string; team: string; output: { agreed: boolean; verified: boolean; rounds: number } };

    expect(result).toMatchObject({ status: 'SUCCEEDED', pattern: 'peer-to-peer', team: 'peer-review' });
    expect(result.output).toMatchObject({ agreed: true, verified: true, rounds: 2 });
  });

  it('lists the pattern with its one-line summary', async () => {
    const { status, stdout } = await legionInProcess(['patterns']);
    expect(status).toBe(0);

    expect(stdout).toMatch(/^peer-to-peer\s+Equal peers propose and critique in rounds/m);
  });
});
