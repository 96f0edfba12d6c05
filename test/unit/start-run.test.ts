/**
 * start-run, the target of the RunRequested rules. Step Functions cannot run here, so the SFN
 * client is a small hand-written fake implementing `send` (aws-sdk-client-mock is not installed);
 * it answers StartExecution as the service documents it for a STANDARD state machine: a new name
 * starts an execution, the same name with the same input while it runs returns that execution, and
 * any other reuse of a name fails with ExecutionAlreadyExists. What runs for real is the handler:
 * the middy chain, validation, team choice, metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ExecutionAlreadyExists, type StartExecutionCommand, type StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { type StartExecutionClient, chooseTeam, createStartRunHandler, taskIdOf } from '../../functions/control/start-run.ts';
import { type DeployedMachine, readStartRunConfig } from '../../functions/core/config.ts';
import { ConfigurationError, InvalidEventError } from '../../functions/core/errors.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';

const arnOf = (team: string): string => `arn:aws:states:eu-west-1:123456789012:stateMachine:legion-${team}`;
const MACHINES: DeployedMachine[] = [
  { team: 'telecom-support', pattern: 'supervisor-worker', stateMachineArn: arnOf('telecom-support'), isDefault: true },
  { team: 'market-research', pattern: 'supervisor-worker', stateMachineArn: arnOf('market-research'), isDefault: false },
  { team: 'content-pipeline', pattern: 'pipeline', stateMachineArn: arnOf('content-pipeline'), isDefault: false },
];

/** StartExecution of a STANDARD state machine, as documented; every execution stays running. */
class FakeStepFunctions implements StartExecutionClient {
  public readonly started: { stateMachineArn: string; name: string; input: string; startDate: Date }[] = [];

  public send(command: StartExecutionCommand): Promise<StartExecutionCommandOutput> {
    const { stateMachineArn = '', name = '', input = '{}' } = command.input;
    const existing = this.started.find((execution) => execution.stateMachineArn === stateMachineArn && execution.name === name);
    if (existing && existing.input !== input) {
      return Promise.reject(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${name}'`, $metadata: {} }));
    }
    const execution = existing ?? { stateMachineArn, name, input, startDate: new Date() };
    if (!existing) this.started.push(execution);
    return Promise.resolve({ $metadata: {}, executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`, startDate: execution.startDate });
  }
}

const context = { functionName: 'legion-start-run', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function runRequested(detail: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: '0', id: 'a1b2c3d4-0000-4000-8000-000000000001', source: 'legion', 'detail-type': 'RunRequested', time: new Date(Date.now() - 1000).toISOString(), detail, ...extra };
}

describe('Function: start-run', () => {
  let sfn: FakeStepFunctions;
  let telemetry: TelemetrySink;
  let handler: ReturnType<typeof createStartRunHandler>;

  beforeEach(() => {
    sfn = new FakeStepFunctions();
    telemetry = new TelemetrySink();
    const logger = new Logger({ serviceName: 'legion-start-run' });
    const metrics = new Metrics({ namespace: 'Legion', serviceName: 'legion-start-run' });
    telemetry.attach(logger, metrics);
    handler = createStartRunHandler({ sfn, machines: MACHINES, logger, metrics });
  });

  it("starts the pattern's default team with the idempotency key as execution name and the input as JSON", async () => {
    const result = await handler(runRequested({ pattern: 'supervisor-worker', input: { request: 'hi' }, idempotencyKey: 'ticket-1' }), context);

    expect(result).toMatchObject({ status: 'STARTED', taskId: 'ticket-1', team: 'telecom-support', pattern: 'supervisor-worker' });
    expect(sfn.started).toMatchObject([{ stateMachineArn: arnOf('telecom-support'), name: 'ticket-1', input: '{"request":"hi"}' }]);
    expect(telemetry.metricValues('RunsRequested')).toEqual([1]);
  });

  it('starts the team the request names', async () => {
    await handler(runRequested({ pattern: 'supervisor-worker', team: 'market-research', input: {} }), context);
    expect(sfn.started[0]?.stateMachineArn).toBe(arnOf('market-research'));
  });

  it('names the execution after the event id without a key, so a redelivered event starts nothing new', async () => {
    const event = runRequested({ pattern: 'pipeline', input: { brief: 'b' } });
    const first = await handler(event, context);
    await handler(event, context);

    expect(first.taskId).toBe('run-a1b2c3d4-0000-4000-8000-000000000001');
    expect(sfn.started).toHaveLength(1);
  });

  it('reports a repeat with the same key and another input as a duplicate, counted, without throwing', async () => {
    await handler(runRequested({ pattern: 'pipeline', input: { brief: 'one' }, idempotencyKey: 'k-1' }), context);
    const repeat = await handler(runRequested({ pattern: 'pipeline', input: { brief: 'two' }, idempotencyKey: 'k-1' }), context);

    expect(repeat).toMatchObject({ status: 'DUPLICATE', taskId: 'k-1' });
    expect(sfn.started).toHaveLength(1);
    expect(telemetry.metricValues('DuplicateRunRequests')).toEqual([1]);
  });

  it('reports a later request with the same key and input, while the first run is running, as a duplicate', async () => {
    await handler(runRequested({ pattern: 'pipeline', input: { brief: 'one' }, idempotencyKey: 'k-2' }), context);
    const later = runRequested({ pattern: 'pipeline', input: { brief: 'one' }, idempotencyKey: 'k-2' }, { id: 'second-event', time: new Date(Date.now() + 2000).toISOString() });

    await expect(handler(later, context)).resolves.toMatchObject({ status: 'DUPLICATE' });
    expect(sfn.started).toHaveLength(1);
  });

  it.each([
    ['no input', { pattern: 'pipeline' }, /detail.input: required/],
    ['a bad key', { pattern: 'pipeline', input: {}, idempotencyKey: 'has space' }, /detail.idempotencyKey/],
    ['a pattern without a team', { pattern: 'auction', input: {} }, /no team of pattern "auction" is deployed/],
    ['a team of another pattern', { pattern: 'pipeline', team: 'telecom-support', input: {} }, /"telecom-support" is not a deployed team of pattern pipeline \(deployed: content-pipeline\)/],
  ])('refuses %s with an InvalidEventError, starting nothing', async (_name, detail, message) => {
    const call = handler(runRequested(detail), context);
    await expect(call).rejects.toThrow(InvalidEventError);
    await expect(call).rejects.toThrow(message);
    expect(sfn.started).toEqual([]);
  });

  it('refuses an event of another detail-type', async () => {
    await expect(handler(runRequested({ pattern: 'pipeline', input: {} }, { 'detail-type': 'RunSucceeded' }), context)).rejects.toThrow(/detail-type/);
  });

  it('lets other Step Functions errors through, so Lambda retries them', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const failing = createStartRunHandler({
      sfn: { send: () => Promise.reject(throttled) },
      machines: MACHINES,
      logger: new Logger({ serviceName: 't' }),
      metrics: new Metrics({ namespace: 'Legion', serviceName: 't' }),
    });
    await expect(failing(runRequested({ pattern: 'pipeline', input: {} }), context)).rejects.toBe(throttled);
  });
});

describe('Function: chooseTeam', () => {
  it('asks for a team when a pattern has several and no default', () => {
    const machines = MACHINES.map((machine) => ({ ...machine, isDefault: false }));
    expect(() => chooseTeam(machines, { pattern: 'supervisor-worker' })).toThrow(/detail.team: required, pattern supervisor-worker has several teams \(telecom-support, market-research\)/);
  });

  it("takes a pattern's only team without a default", () => {
    expect(chooseTeam(MACHINES, { pattern: 'pipeline' }).team).toBe('content-pipeline');
  });
});

describe('Function: taskIdOf', () => {
  it('keeps only characters an execution name may have', () => {
    expect(taskIdOf({ id: 'a:b/c', detail: { pattern: 'p', input: {} } })).toBe('run-a-b-c');
  });
});

describe('Function: readStartRunConfig', () => {
  it('reads the machines, defaulting isDefault to false', () => {
    const config = readStartRunConfig({ LEGION_STATE_MACHINES: JSON.stringify([{ team: 't', pattern: 'pipeline', stateMachineArn: 'arn:x' }]) });
    expect(config.machines).toEqual([{ team: 't', pattern: 'pipeline', stateMachineArn: 'arn:x', isDefault: false }]);
  });

  it.each([
    [{}, /LEGION_STATE_MACHINES is not set/],
    [{ LEGION_STATE_MACHINES: '[' }, /LEGION_STATE_MACHINES is not valid JSON/],
    [{ LEGION_STATE_MACHINES: '[{"team":"t"}]' }, /LEGION_STATE_MACHINES: 0.pattern/],
  ])('names what is wrong (%o)', (env, message) => {
    expect(() => readStartRunConfig(env)).toThrow(ConfigurationError);
    expect(() => readStartRunConfig(env)).toThrow(message);
  });
});
