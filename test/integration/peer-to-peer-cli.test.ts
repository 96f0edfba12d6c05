/**
 * `legion run peer-to-peer` as a user runs it: a real child process of bin/legion.js with the
 * example team (teams/peer-review.yaml), its example input and the scripted model.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('CLI: legion run peer-to-peer', () => {
  it('runs the example team offline and prints the verified, agreed answer as JSON (exit code 0)', async () => {
    const { stdout } = await run(process.execPath, ['bin/legion.js', 'run', 'peer-to-peer', '--json'], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { status: string; pattern: string; team: string; output: { agreed: boolean; verified: boolean; rounds: number } };

    expect(result).toMatchObject({ status: 'SUCCEEDED', pattern: 'peer-to-peer', team: 'peer-review' });
    expect(result.output).toMatchObject({ agreed: true, verified: true, rounds: 2 });
  });

  it('lists the pattern with its one-line summary', async () => {
    const { stdout } = await run(process.execPath, ['bin/legion.js', 'patterns'], { timeout: 30_000 });

    expect(stdout).toMatch(/^peer-to-peer\s+Equal peers propose and critique in rounds/m);
  });
});
