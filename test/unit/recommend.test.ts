/** `legion recommend`: the decision table, answer parsing, and the command as a user runs it. */
import { describe, expect, it } from 'vitest';
import { DECISION_TABLE, type TaskProfile, profileFrom, recommendPattern } from '../../bin/cli/recommend.ts';
import { PATTERN_NAMES } from '../../functions/core/contract.ts';
import { UsageError } from '../../functions/core/errors.ts';
import { runLegion } from '../../bin/cli/legion-program.ts';
import { capturedIo } from '../support/captured-io.ts';

const base: TaskProfile = { complexity: 'medium', flow: 'many-roles', dynamic: false, decentralised: false };

describe('Function: recommendPattern', () => {
  it.each<[string, Partial<TaskProfile>, string]>([
    ['decentralised wins over everything', { decentralised: true, dynamic: true, flow: 'single', complexity: 'high' }, 'peer-to-peer'],
    ['dynamic allocation', { dynamic: true, flow: 'single' }, 'auction'],
    ['a single fixed flow', { flow: 'single', complexity: 'high' }, 'pipeline'],
    ['a complex task over many roles', { complexity: 'high' }, 'hierarchical'],
    ['a simple task over many roles', { complexity: 'low' }, 'supervisor-worker'],
    ['a medium task over many roles', {}, 'supervisor-worker'],
  ])('%s → %s', (_case, overrides, expected) => {
    expect(recommendPattern({ ...base, ...overrides }).pattern).toBe(expected);
  });

  it('recommends only patterns the table knows, and every profile gets one', () => {
    const profiles = (['low', 'medium', 'high'] as const).flatMap((complexity) =>
      (['single', 'many-roles'] as const).flatMap((flow) =>
        [true, false].flatMap((dynamic) => [true, false].map((decentralised) => ({ complexity, flow, dynamic, decentralised }))),
      ),
    );
    const recommended = new Set(profiles.map((profile) => recommendPattern(profile).pattern));
    expect([...recommended].sort()).toEqual(DECISION_TABLE.map((row) => row.pattern).sort());
  });

  it('names an available pattern to use instead of one this version does not have', () => {
    const recommendation = recommendPattern({ ...base, dynamic: true });
    const available = (PATTERN_NAMES as readonly string[]).includes('auction');
    expect(recommendation.available).toBe(available);
    if (!available) expect(PATTERN_NAMES).toContain(recommendation.fallback);
  });
});

describe('Function: profileFrom', () => {
  it('turns yes/no answers into booleans', () => {
    expect(profileFrom({ complexity: 'low', flow: 'single', dynamic: 'yes', decentralised: 'no' })).toEqual({
      complexity: 'low',
      flow: 'single',
      dynamic: true,
      decentralised: false,
    });
  });

  it('names every missing or invalid answer with its allowed values', () => {
    expect(() => profileFrom({ complexity: 'extreme', dynamic: 'maybe' })).toThrow(UsageError);
    expect(() => profileFrom({ complexity: 'extreme', dynamic: 'maybe' })).toThrow(
      'legion recommend: --complexity must be low | medium | high, got "extreme"; --flow is missing (single | many-roles); --dynamic must be yes | no, got "maybe"; --decentralised is missing (yes | no)',
    );
  });
});

describe('CLI: legion recommend', () => {
  // In-process, stdin not a terminal (as in a pipe): the command cannot ask.
  const legion = async (...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => {
    const captured = capturedIo();
    const status = await runLegion(['recommend', ...args], captured.io);
    return { status, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('prints the recommendation as JSON', async () => {
    const result = await legion('--complexity', 'low', '--flow', 'single', '--dynamic', 'no', '--decentralised', 'no', '--json');
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ pattern: 'pipeline', reason: expect.stringContaining('validation gate') as unknown });
  });

  it('exits 2 naming the missing answers when it cannot ask (no terminal)', async () => {
    const result = await legion('--complexity', 'high');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--flow is missing/);
  });
});
