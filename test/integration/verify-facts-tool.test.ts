/**
 * A verifier whose source of truth is a tool (its `factsTool`), in a full peer-to-peer run on the
 * real ASL and the middy-wrapped handlers: the tool's facts, not the input's, decide whether the
 * agreed answer is verified, and the call is recorded in the Verify step's trace.
 */
import { describe, expect, it } from 'vitest';
import { loadTeamFile } from '../../functions/core/team.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { withTestRuntime } from '../support/local-runtime.ts';

describe('Scenario: a facts tool as the verifier\'s source of truth', () => {
  it('flags the agreed answer the tool contradicts, although it matches the input', async () => {
    const team = await loadTeamFile('test/fixtures/teams/peer-review-facts-tool.yaml');
    const result = await withTestRuntime({ model: new ScriptedModel() }, (runtime) =>
      runtime.run({ team, input: team.example, taskId: `facts-tool-${String(Date.now())}` }),
    );

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ verified: false, hallucination: true });
    expect(result.detections).toEqual([
      expect.objectContaining({ type: 'hallucination', step: 'Verify', details: expect.stringContaining('encryptionAtRest="required" (tool fact_lookup: "optional")') as unknown }),
    ]);
    const verify = result.trace.find((entry) => entry.state === 'Verify');
    expect(verify?.toolCalls).toEqual([expect.objectContaining({ name: 'fact_lookup', input: { facts: ['dataClassification', 'encryptionAtRest'] }, ok: true })]);
  });
});
