import { describe, expect, it } from 'vitest';
import { repeatedToolCallDetection } from '../../functions/agents/tool-loop-detection.ts';
import { callFingerprint } from '../../functions/tools/tool-call-journal.ts';

describe('Function: repeatedToolCallDetection', () => {
  const event = { step: 'work', taskId: 't-1', stateName: 'Work' };

  it('is a loop detection of the state, named after the agent, the tool and the call, refused-repeat', () => {
    const fingerprint = callFingerprint('lookup_invoice', { invoiceId: 'INV-1042' });

    expect(repeatedToolCallDetection({ name: 'lookup_invoice', fingerprint }, event, 'billing')).toEqual({
      type: 'loop',
      step: 'Work',
      stepId: `billing#lookup_invoice#${fingerprint.slice(0, 12)}`,
      action: 'refused-repeat',
      agents: ['billing'],
      details: expect.stringMatching(/^billing asked for lookup_invoice again with the same input in one step: not run/) as unknown,
    });
  });

  it('keeps two calls of a step with the longest step id apart, within the 200 characters of a stepId', () => {
    const long = { ...event, stepId: 'x'.repeat(200) };
    const ids = [{ id: 1 }, { id: 2 }].map((input) => repeatedToolCallDetection({ name: 'lookup', fingerprint: callFingerprint('lookup', input) }, long, 'billing').stepId);

    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(200);
  });
});
