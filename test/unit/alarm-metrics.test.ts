/**
 * The EMF an agent prints carries what the alarms of functions/observability/alarms.ts watch: namespace
 * Legion, the dimension set [service] alone (service = METRICS_SERVICE) besides [service, team,
 * agent], on every invocation (Powertools clears request dimensions when it publishes).
 */
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAgentHandler } from '../../functions/agents/agent.ts';
import { AGGREGATE_DIMENSIONS, alarmDefinition } from '../../functions/observability/alarms.ts';
import type { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import type { AgentConfig } from '../../functions/core/config.ts';
import { METRICS, METRICS_SERVICE } from '../../functions/core/contract.ts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { agentDependencies } from '../support/agent-doubles.ts';
import { agentConfigOf, loadTelecomTeam } from '../support/telecom.ts';

type Emf = { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;

/** TEST DOUBLE: a checkpoint store whose saves succeed. */
const savingCheckpoints = { save: (checkpoint: { state: unknown }) => Promise.resolve({ stepKey: undefined, state: JSON.stringify(checkpoint.state ?? null) }) } as unknown as CheckpointManager;

describe('Function: createAgentHandler (metrics)', () => {
  let supervisor: AgentConfig;

  beforeAll(async () => {
    supervisor = agentConfigOf(await loadTelecomTeam(), 'supervisor');
  });

  it('emits the alarms\' series ([service] alone) and the per-agent one on every invocation', async () => {
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS_SERVICE });
    const printed: Emf[] = [];
    // Capture what would be printed, then clear as Powertools does after publishing.
    metrics.publishStoredMetrics = (): Metrics => {
      printed.push(JSON.parse(JSON.stringify(metrics.serializeMetrics())) as Emf);
      metrics.clearMetrics();
      metrics.clearDimensions();
      return metrics;
    };
    const deps = { ...agentDependencies(new ScriptedModel()), metrics, checkpoints: savingCheckpoints };
    const handler = createAgentHandler(supervisor, deps);
    const event = { taskId: 'task-emf-1', step: 'classify', stateName: 'Classify', input: { request: 'Why is my bill so high?', conversation: [] } };
    for (const taskId of ['task-emf-1', 'task-emf-2']) await handler({ ...event, taskId }, {} as Context);

    expect(printed).toHaveLength(2);
    const written = alarmDefinition('CheckpointFailureRate').metrics.find((metric) => metric.id === 'written');
    if (!written) throw new Error('CheckpointFailureRate reads no "written" metric');
    for (const emf of printed) {
      const directive = emf._aws.CloudWatchMetrics[0];
      if (!directive) throw new Error('no EMF directive');
      expect(directive.Namespace).toBe(written.namespace);
      expect(directive.Dimensions).toContainEqual(Object.keys(AGGREGATE_DIMENSIONS));
      expect(directive.Dimensions).toContainEqual(['service', 'team', 'agent']);
      expect(emf.service).toBe(AGGREGATE_DIMENSIONS.service);
      expect(emf).toMatchObject({ team: supervisor.team, agent: supervisor.agent.id });
      expect(directive.Metrics.map((metric) => metric.Name)).toContain(written.metricName);
    }
  });
});
