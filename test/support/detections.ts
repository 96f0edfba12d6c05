/**
 * Test support: a detection as the pipeline's loop check reports a writer-editor oscillation, for
 * the tests of the stores and handlers that keep detections.
 */
import type { Detection } from '../../functions/core/contracts/detections.ts';

export const LOOP_DETECTION: Detection = {
  type: 'loop',
  step: 'CheckLoop',
  stepId: 'h2',
  action: 'conflict-rule',
  agents: ['editor', 'writer'],
  details: "editor and writer handed work back and forth (similarity 1.00): conflict rule, editor's instruction binds writer",
};
