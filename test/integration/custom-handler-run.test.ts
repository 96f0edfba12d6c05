/**
 * A team whose worker runs a custom handler, through the real supervisor-worker ASL and the
 * middy-wrapped agent handler: its answer is the handler's, it is checkpointed like any step, and
 * a result that breaks the worker contract is refused by the same consistency check.
 */
import { describe, expect, it, vi } from 'vitest';
import { loadTeamFile } from '../../functions/core/team.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

const TEAM_FILE = 'test/fixtures/teams/quoting.yaml';

describe('Scenario: a worker with a custom handler', () => {
  it("answers with the handler's result, checkpointed as a step", async () => {
    const team = await loadTeamFile(TEAM_FILE);
    const result = await withTestRuntime({ model: new ScriptedModel() }, (runtime) =>
      runtime.run({ team, input: { request: 'Please quote this sentence.' }, taskId: `custom-${String(Date.now())}` }),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ answer: 'Quoted by hand: "Please quote this sentence."' });
    expect(result.trace.map((entry) => [entry.agent, entry.state])).toEqual([['supervisor', 'Classify'], ['quoter', 'Work'], ['supervisor', 'Synthesize']]);
  });

  it('refuses a result that breaks the worker contract: rolled back, then escalated', async () => {
    const team = await loadTeamFile(TEAM_FILE);
    vi.stubEnv('LEGION_TEST_BREAK_HANDLER', '1');
    try {
      const result = await withTestRuntime({ model: new ScriptedModel() }, (runtime) =>
        runtime.run({ team, input: { request: 'Please quote this sentence.' }, taskId: `custom-broken-${String(Date.now())}` }),
      );
      expect(result.status).toBe('WAITING');
      expect(result.rollbacks.map((rollback) => rollback.reason)).toEqual([expect.stringMatching(/quoter in Work is inconsistent: answer/), expect.stringMatching(/quoter in Work is inconsistent: answer/)]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
