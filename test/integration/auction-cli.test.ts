/**
 * `legion run auction` as a user runs it: the CLI in-process (runLegion on captured streams) with the example
 * marketplace (teams/marketplace.yaml), its example input, the scripted model and the local bus.
 */
import { describe, expect, it } from 'vitest';
import type { AuctionOutput } from '../../functions/patterns/auction/contract.ts';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import type { CliOutcome } from '../support/legion-process.ts';

const legion = (...args: string[]): Promise<CliOutcome> => legionInProcess(args);

describe('CLI: legion run auction', () => {
  it('runs the example marketplace offline, with a late and a duplicated bid and a failing winner, and exits 0', async () => {
    // Act: polly's bid arrives twice, quill has no translation skill, lexi's bid is late, and the
    // first winner's model call fails (scripted shortcuts, all four).
    const result = await legion('run', 'auction', '--json', '--inject', 'duplicate-bid:polly', '--inject', 'late-bid:lexi', '--inject', 'fail:RunWinner');

    // Assess: polly won and failed; lexi's late bid was never admitted, so nobody is left: escalated.
    expect(result.status, result.stderr).toBe(1);
    const run = JSON.parse(result.stdout) as RunResult;
    expect(run.status).toBe('WAITING');
    expect(run.approval?.escalation.Error).toBe('AwardsExhaustedError');
    expect(run.auction?.rounds[0]).toMatchObject({ received: 3, admitted: 1, rejected: { duplicate: 1, late: 1 } });
    expect(run.auction?.awards).toEqual([expect.objectContaining({ attempt: 1, bidder: 'polly', status: 'FAILED' })]);
  });

  it('prints the rounds and awards, and the verified answer, for a plain run', async () => {
    // Act
    const result = await legion('run', 'auction', '--quiet');

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/round 1 \(2 s window\): 2 bids received, 2 admitted → AWARDED/);
    expect(result.stderr).toMatch(/award 1: polly \(round 1\) COMPLETED/);
    expect(result.stdout).toMatch(/^\[polly\] .*translation/);
  });

  it('exits 2 naming the bidders when --inject names an agent that is not a bidder', async () => {
    const result = await legion('run', 'auction', '--inject', 'late-bid:auditor');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no bidder "auditor" \(bidders: lexi, polly, quill, atlas\)/);
  });

  it('exits 2 for a bid fault on another pattern', async () => {
    const result = await legion('run', 'pipeline', '--inject', 'duplicate-bid:writer');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/only the auction pattern has bids/);
  });

  it('prints the awarded bidder in the JSON output', async () => {
    const result = await legion('run', 'auction', '--json', '--input', '{"task":"Adapt the launch copy for the French market","requiredCapabilities":["localisation","french"]}');
    expect(result.status, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout) as RunResult;
    // Only lexi has localisation and french.
    expect((run.output as AuctionOutput).awardedTo).toBe('lexi');
  });
});
