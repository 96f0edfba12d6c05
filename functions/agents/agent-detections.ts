/**
 * How an agent reports a failure mode it detected itself (a deadlock it met leasing resources, a
 * tool call its model repeated): stored with the task, counted, announced on the bus when the agent
 * has one. A failed report is logged, not thrown: what was detected is dealt with either way, and
 * failing the step for its report would throw away the step's work.
 *
 * @example
 * ```ts
 * await reportAgentDetection(taskId, detection, config, deps, 'deadlock detected, but its report failed');
 * ```
 */
import type { AgentConfig } from '../core/config.ts';
import type { Detection } from '../core/contracts/detections.ts';
import { reportDetection } from '../guards/report-detection.ts';
import type { AgentDependencies } from './agent-dependencies.ts';

/** The id of an agent's step in a detection's `stepId`: the agent, and the step's own id when it has one. */
export function agentStepId(agentId: string, stepId: string | undefined): string {
  return stepId === undefined ? agentId : `${agentId}#${stepId}`;
}

export async function reportAgentDetection(taskId: string, detection: Detection, config: AgentConfig, deps: AgentDependencies, failure: string): Promise<void> {
  const { detections } = deps;
  if (!detections) return;
  const reporting = { detections, events: deps.events, eventBusName: config.eventBusName, logger: deps.logger, metrics: deps.metrics };
  await reportDetection({ taskId, team: config.team, pattern: config.pattern }, detection, reporting).catch((error: unknown) => {
    deps.logger.error(failure, { taskId, detection, error: error as Error });
  });
}
