/**
 * Calibrated confidence: evidence from the claim checks sets it, agreement never raises it, and a
 * confident agreement on claims that failed verification is a detection.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIDENCE_THRESHOLD, UNCHECKED_PRIOR, calibrateConfidence } from '../../functions/guards/calibrated-confidence.ts';
import { CHECK_STATUSES, type CheckStatus } from '../../functions/guards/fact-check.ts';

const checks = (...statuses: CheckStatus[]): { status: CheckStatus }[] => statuses.map((status) => ({ status }));

/** Every list of up to three checks: the evidence cases of the property tests. */
function everyCheckList(): { status: CheckStatus }[][] {
  const lists: CheckStatus[][] = [[]];
  for (let length = 1; length <= 3; length++) {
    const previous = lists.filter((list) => list.length === length - 1);
    for (const list of previous) for (const status of CHECK_STATUSES) lists.push([...list, status]);
  }
  return lists.map((list) => checks(...list));
}

describe('Function: calibrateConfidence', () => {
  it('takes the agreement from supporters out of voters, with the default threshold', () => {
    const confidence = calibrateConfidence({ checks: checks('confirmed'), supporters: 2, voters: 4 });

    expect(confidence).toEqual({ agreement: 0.5, calibrated: 1, threshold: DEFAULT_CONFIDENCE_THRESHOLD, verified: true, detection: false });
    expect(DEFAULT_CONFIDENCE_THRESHOLD).toBe(0.7);
  });

  it.each([
    { statuses: ['confirmed', 'confirmed'], calibrated: 1 },
    { statuses: ['confirmed', 'unknown-fact'], calibrated: 0.5 },
    { statuses: ['confirmed', 'confirmed', 'unknown-fact', 'unknown-fact'], calibrated: 0.5 },
    { statuses: ['unknown-fact'], calibrated: 0 },
    { statuses: ['confirmed', 'confirmed', 'contradicted'], calibrated: 0 },
    { statuses: [], calibrated: UNCHECKED_PRIOR },
  ] as { statuses: CheckStatus[]; calibrated: number }[])('calibrates $statuses to $calibrated', ({ statuses, calibrated }) => {
    expect(calibrateConfidence({ checks: checks(...statuses), supporters: 3, voters: 3 }).calibrated).toBe(calibrated);
  });

  it('keeps an unchecked result below the threshold: no claim is neither verified nor a failed verification', () => {
    const confidence = calibrateConfidence({ checks: [], supporters: 5, voters: 5 });

    expect(confidence.calibrated).toBeLessThan(confidence.threshold);
    expect(confidence).toMatchObject({ verified: false, detection: false });
  });

  it('detects a unanimous agreement on a contradicted claim, and on a claim the source of truth does not have', () => {
    expect(calibrateConfidence({ checks: checks('confirmed', 'contradicted'), supporters: 3, voters: 3 })).toEqual({
      agreement: 1,
      calibrated: 0,
      threshold: 0.7,
      verified: false,
      detection: true,
    });
    expect(calibrateConfidence({ checks: checks('unknown-fact'), supporters: 3, voters: 3 }).detection).toBe(true);
  });

  it('does not detect below the threshold, and detects from the threshold on', () => {
    const contradicted = checks('contradicted');

    expect(calibrateConfidence({ checks: contradicted, supporters: 2, voters: 3 }).detection).toBe(false);
    expect(calibrateConfidence({ checks: contradicted, supporters: 7, voters: 10 }).detection).toBe(true);
    expect(calibrateConfidence({ checks: contradicted, supporters: 2, voters: 3, threshold: 0.6 }).detection).toBe(true);
  });

  it('never detects a verified result, however strong the agreement', () => {
    expect(calibrateConfidence({ checks: checks('confirmed', 'confirmed'), supporters: 9, voters: 9 })).toMatchObject({ verified: true, detection: false });
  });

  describe('Property: agreement never raises the calibrated confidence', () => {
    it.each([1, 2, 3, 5, 8])('with %i voters, more supporters never increase calibrated, for every list of up to three checks', (voters) => {
      for (const evidence of everyCheckList()) {
        const calibrated = Array.from({ length: voters + 1 }, (_, supporters) => calibrateConfidence({ checks: evidence, supporters, voters }).calibrated);
        for (let supporters = 1; supporters <= voters; supporters++) {
          expect(calibrated[supporters], `${JSON.stringify(evidence)}: ${supporters} of ${voters}`).toBeLessThanOrEqual(calibrated[supporters - 1] ?? Number.NaN);
        }
      }
    });

    it('a contradicted claim keeps calibrated at 0 for every agreement, and a failed verification is detected once agreement reaches the threshold', () => {
      for (const evidence of everyCheckList().filter((list) => list.some((check) => check.status === 'contradicted'))) {
        for (let supporters = 0; supporters <= 10; supporters++) {
          const confidence = calibrateConfidence({ checks: evidence, supporters, voters: 10 });
          expect(confidence.calibrated).toBe(0);
          expect(confidence.detection).toBe(supporters / 10 >= 0.7);
        }
      }
    });

    it('calibrated never exceeds the share of claims confirmed (when there are claims)', () => {
      for (const evidence of everyCheckList().filter((list) => list.length > 0)) {
        const confirmed = evidence.filter((check) => check.status === 'confirmed').length / evidence.length;
        expect(calibrateConfidence({ checks: evidence, supporters: 1, voters: 1 }).calibrated).toBeLessThanOrEqual(confirmed);
      }
    });
  });

  it.each([
    { supporters: 4, voters: 3 },
    { supporters: -1, voters: 3 },
    { supporters: 1.5, voters: 3 },
    { supporters: 0, voters: 0 },
  ])('refuses supporters $supporters of $voters voters', (counts) => {
    expect(() => calibrateConfidence({ checks: [], ...counts })).toThrow(RangeError);
  });

  it('refuses a threshold outside 0..1', () => {
    expect(() => calibrateConfidence({ checks: [], supporters: 1, voters: 1, threshold: 1.5 })).toThrow(/threshold must be from 0 to 1/);
  });
});
