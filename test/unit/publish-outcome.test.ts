/**
 * publish-outcome, the target of the execution status-change rule. EventBridge and Step Functions
 * cannot run here, so their clients are small hand-written fakes implementing `send`
 * (aws-sdk-client-mock is not installed): PutEvents records the entries, DescribeExecution answers
 * from a table; the tasks' status items are a recording fake too (the store itself is tested on
 * DynamoDB Local in test/integration/task-status-store.test.ts). The end-to-end path (a real run,
 * the real handler, the local bus) is covered in test/integration/event-triggers.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DescribeExecutionCommand, DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { createPublishOutcomeHandler } from '../../functions/control/publish-outcome.ts';
import { type DeployedMachine, readPublishOutcomeConfig } from '../../functions/core/config.ts';
import { METRICS } from '../../functions/core/contract.ts';
import { type RunTotals, emptyTotals } from '../../functions/core/contracts/run-totals.ts';
import type { StoppedTaskStatus, TaskStatusStore } from '../../functions/observability/task-status-store.ts';
import { ConfigurationError, EventPublishError, InvalidEventError } from '../../functions/core/errors.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { FakeEventBridge } from '../support/fake-event-bridge.ts';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:legion-telecom';
const MACHINES: DeployedMachine[] = [{ team: 'telecom-support', pattern: 'supervisor-worker', stateMachineArn: ARN, isDefault: true }];
const BUS = 'legion-Legion';
const context = { functionName: 'legion-publish-outcome', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const TOTALS: RunTotals = { ...emptyTotals(), inputTokens: 1200, outputTokens: 300, modelCalls: 10, agentSteps: 9, checkpoints: 9, rollbacks: 1 };

/** FAKE of the status items: records how executions ended, and answers every task's totals with TOTALS. */
class FakeTaskStatuses {
  public readonly finished: { team: string; taskId: string; status: StoppedTaskStatus; executionName: string | undefined }[] = [];

  public forTeam(team: string): Pick<TaskStatusStore, 'finish' | 'totals'> {
    return {
      finish: (taskId, status, options) => {
        this.finished.push({ team, taskId, status, executionName: options?.executionName });
        return Promise.resolve(true);
      },
      totals: () => Promise.resolve(TOTALS),
    };
  }
}

class FakeStepFunctions {
  public readonly described: string[] = [];

  public constructor(private readonly executions: Record<string, Partial<DescribeExecutionCommandOutput>> = {}) {}

  public send(command: DescribeExecutionCommand): Promise<DescribeExecutionCommandOutput> {
    const arn = command.input.executionArn ?? '';
    this.described.push(arn);
    return Promise.resolve({ $metadata: {}, ...this.executions[arn] } as DescribeExecutionCommandOutput);
  }
}

function statusChange(detail: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '0',
    id: 'evt-1',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: { executionArn: `${ARN.replace(':stateMachine:', ':execution:')}:t-1`, stateMachineArn: ARN, name: 't-1', status: 'SUCCEEDED', input: '{"request":"hi"}', output: '{"answer":"Done."}', error: null, cause: null, ...detail },
  };
}

describe('Function: publish-outcome', () => {
  let events: FakeEventBridge;
  let sfn: FakeStepFunctions;
  let telemetry: TelemetrySink;
  let statuses: FakeTaskStatuses;
  let handler: ReturnType<typeof createPublishOutcomeHandler>;

  function build(executions: Record<string, Partial<DescribeExecutionCommandOutput>> = {}): void {
    events = new FakeEventBridge();
    sfn = new FakeStepFunctions(executions);
    telemetry = new TelemetrySink();
    statuses = new FakeTaskStatuses();
    const logger = new Logger({ serviceName: 'legion-publish-outcome' });
    const metrics = new Metrics({ namespace: 'Legion', serviceName: 'legion-publish-outcome' });
    telemetry.attach(logger, metrics);
    handler = createPublishOutcomeHandler({ events, sfn, eventBusName: BUS, machines: MACHINES, statuses, logger, metrics });
  }
  beforeEach(() => {
    build();
  });

  const details = (): unknown[] => events.entries.map((entry): unknown => JSON.parse(entry.Detail ?? '{}'));

  it('puts RunSucceeded on the Legion bus with the task id, team, a summary of the answer and the totals of the run', async () => {
    await handler(statusChange({}), context);

    expect(events.entries).toMatchObject([{ Source: 'legion', DetailType: 'RunSucceeded', EventBusName: BUS }]);
    expect(details()).toEqual([{ taskId: 't-1', pattern: 'supervisor-worker', team: 'telecom-support', status: 'SUCCEEDED', summary: 'Done.', totals: TOTALS }]);
    expect(telemetry.metricValues('RunOutcomesPublished')).toEqual([1]);
    expect(sfn.described).toEqual([]);
  });

  it.each([
    ['FAILED', 'ClassificationFailed', 'RunFailed', 'FAILED'],
    ['FAILED', 'RollbackLimitExceededError', 'RunEscalated', 'ESCALATED'],
    ['TIMED_OUT', null, 'RunFailed', 'TIMED_OUT'],
    ['ABORTED', null, 'RunFailed', 'ABORTED'],
  ])('puts the outcome of a %s execution (error %s) as %s', async (status, error, detailType, outcomeStatus) => {
    await handler(statusChange({ status, output: null, error, cause: error ? 'why' : null }), context);

    expect(events.entries[0]?.DetailType).toBe(detailType);
    expect(details()[0]).toMatchObject({ taskId: 't-1', status: outcomeStatus, totals: TOTALS });
    expect(statuses.finished).toEqual([{ team: 'telecom-support', taskId: 't-1', status: outcomeStatus, executionName: 't-1' }]);
  });

  it('counts the run in RunsCompleted with the dimension sets [service, team, status] and [service]', async () => {
    await handler(statusChange({ status: 'FAILED', output: null, error: 'RollbackLimitExceededError', cause: 'why' }), context);

    const [emf] = telemetry.emf.filter((record) => METRICS.runsCompleted in record);
    const directive = (emf?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } | undefined)?.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe(METRICS.namespace);
    expect(directive?.Dimensions).toEqual(expect.arrayContaining([['service', 'team', 'status'], ['service']]));
    expect(emf).toMatchObject({ [METRICS.runsCompleted]: 1, team: 'telecom-support', status: 'ESCALATED' });
  });

  it('records how a resume execution left the task it resumed, under the resume execution', async () => {
    await handler(statusChange({ name: 't-1-resume-abc', status: 'ABORTED', output: null, input: '{"resume":{"taskId":"t-1"}}' }), context);
    expect(statuses.finished).toEqual([{ team: 'telecom-support', taskId: 't-1', status: 'ABORTED', executionName: 't-1-resume-abc' }]);
  });

  it('says in RunSucceeded which parts of a degraded answer are missing, and counts the run as degraded', async () => {
    const output = { answer: 'Technical support: ...', degraded: [{ agentId: 'billing', reason: 'ModelInvocationError' }] };
    await handler(statusChange({ output: JSON.stringify(output) }), context);

    expect(details()).toMatchObject([{ status: 'SUCCEEDED', degraded: [{ agentId: 'billing', reason: 'ModelInvocationError' }] }]);
    expect(telemetry.metricValues('DegradedRuns')).toEqual([1]);
  });

  it('leaves degraded out of a whole answer (an empty list) and does not count it', async () => {
    await handler(statusChange({ output: JSON.stringify({ answer: 'Done.', degraded: [] }) }), context);

    expect(details()).toEqual([{ taskId: 't-1', pattern: 'supervisor-worker', team: 'telecom-support', status: 'SUCCEEDED', summary: 'Done.', totals: TOTALS }]);
    expect(telemetry.metricValues('DegradedRuns')).toEqual([]);
  });

  it('reports a resume execution under the task it resumed', async () => {
    await handler(statusChange({ name: 't-1-resume-abc', input: '{"resume":{"taskId":"t-1"}}' }), context);
    expect(details()[0]).toMatchObject({ taskId: 't-1' });
  });

  it('publishes nothing for a nested execution (its parent run reports), but records how its task ended and counts it', async () => {
    const result = await handler(statusChange({ name: 'child-uuid', input: JSON.stringify({ nestedTask: { taskId: 'child', parentTaskId: 'parent', parentTeam: 'research-hierarchy' } }) }), context);
    expect(result).toEqual({ published: false, reason: 'nested execution' });
    expect(events.entries).toEqual([]);
    expect(statuses.finished).toEqual([{ team: 'telecom-support', taskId: 'child', status: 'SUCCEEDED', executionName: 'child-uuid' }]);
    expect(telemetry.metricValues(METRICS.runsCompleted)).toEqual([1]);
  });

  it('reads input and output with DescribeExecution when the event left them out (too large)', async () => {
    const executionArn = `${ARN.replace(':stateMachine:', ':execution:')}:t-1`;
    build({ [executionArn]: { input: '{"resume":{"taskId":"big-task"}}', output: '{"answer":"From describe."}' } });

    await handler(statusChange({ input: null, output: null }), context);

    expect(sfn.described).toEqual([executionArn]);
    expect(details()[0]).toMatchObject({ taskId: 'big-task', summary: 'From describe.' });
  });

  it('throws EventPublishError when EventBridge refuses the entry, so Lambda retries it (and does not count the run yet)', async () => {
    events.failWith = 'InternalException';
    await expect(handler(statusChange({}), context)).rejects.toThrow(EventPublishError);
    expect(telemetry.metricValues(METRICS.runsCompleted)).toEqual([]);
  });

  it.each([
    ['a state machine that is not Legion\'s', { stateMachineArn: `${ARN}-other` }, /not one of Legion's state machines/],
    ['a status that is not final', { status: 'RUNNING' }, /RUNNING is not a final status/],
    ['no execution name', { name: '' }, /detail.name/],
  ])('refuses %s with an InvalidEventError', async (_name, detail, message) => {
    const call = handler(statusChange(detail), context);
    await expect(call).rejects.toThrow(InvalidEventError);
    await expect(call).rejects.toThrow(message);
    expect(events.entries).toEqual([]);
  });
});

describe('Function: readPublishOutcomeConfig', () => {
  it('reads the bus, the machines and the table', () => {
    const config = readPublishOutcomeConfig({ LEGION_EVENT_BUS_NAME: BUS, LEGION_STATE_MACHINES: JSON.stringify(MACHINES), LEGION_TABLE_NAME: 'legion-checkpoints' });
    expect(config).toEqual({ eventBusName: BUS, machines: MACHINES, tableName: 'legion-checkpoints' });
  });

  it('names every missing variable', () => {
    expect(() => readPublishOutcomeConfig({})).toThrow(ConfigurationError);
    expect(() => readPublishOutcomeConfig({})).toThrow(/LEGION_EVENT_BUS_NAME is not set; LEGION_STATE_MACHINES is not set; LEGION_TABLE_NAME is not set/);
  });
});
