/**
 * A model asking for the same tool call twice in one step is a loop: the tool loop refuses the
 * call, and this reports it like every other detection (stored with the task, counted in
 * `LoopsDetected`, announced as `FailureDetected` when the agent has the bus). One detection per
 * call of a step: a retried or resumed step that repeats the same call finds it stored.
 *
 * @example
 * ```ts
 * await reportRepeatedToolCall({ name: 'lookup_invoice', fingerprint: '9f2c...' }, event, config, deps);
 * ```
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AgentConfig } from '../core/config.ts';
import { METRICS } from '../core/contract.ts';
import type { Detection } from '../core/contracts/detections.ts';
import { agentStepId, reportAgentDetection } from './agent-detections.ts';
import type { RepeatedToolCall } from '../tools/tool-loop.ts';
import type { AgentDependencies } from './agent-dependencies.ts';
import type { StepEnvelope } from './steps/step-definition.ts';

/** The loop detection of a repeated call. */
export function repeatedToolCallDetection(repeat: RepeatedToolCall, event: StepEnvelope, agentId: string): Detection {
  const stepOf = agentStepId(agentId, event.stepId);
  // The call's part is kept whole (two repeats of one step must not share an id): a long step id is cut instead.
  const call = `#${repeat.name}#${repeat.fingerprint.slice(0, 12)}`;
  return {
    type: 'loop',
    step: event.stateName,
    stepId: `${stepOf.slice(0, 200 - call.length)}${call}`,
    action: 'refused-repeat',
    agents: [agentId],
    details: `${agentId} asked for ${repeat.name} again with the same input in one step: not run, the model was told it has the result (the same call once more fails the step)`,
  };
}

/** Reports a repeated call (reportAgentDetection). Without a detection log (an agent run outside a state machine) the loop is still counted. */
export async function reportRepeatedToolCall(repeat: RepeatedToolCall, event: StepEnvelope, config: AgentConfig, deps: AgentDependencies): Promise<void> {
  if (!deps.detections) {
    deps.metrics.addMetric(METRICS.loopsDetected, MetricUnit.Count, 1);
    return;
  }
  await reportAgentDetection(event.taskId, repeatedToolCallDetection(repeat, event, config.agent.id), config, deps, 'tool call loop detected, but its report failed');
}
