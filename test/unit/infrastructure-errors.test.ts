/**
 * Which errors under an agent step are infrastructure failures (the run must fail) and which are
 * the agent's own (its graceful path stays): classifyInfrastructureError, and the names it gives
 * to the state machines.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTROL_KEPT_ERRORS, createControlHandler } from '../../functions/control/control-handler.ts';
import { INFRASTRUCTURE_ERRORS, UNSCOPED_TEAM, teamPartitionPrefix } from '../../functions/core/contract.ts';
import {
  AgentOutputError,
  BudgetExceededError,
  CheckpointError,
  CheckpointTooLargeError,
  ConfigurationError,
  EventPublishError,
  InfrastructureError,
  InfrastructureThrottledError,
  ModelInvocationError,
  NoValidBidsError,
  NoValidCheckpointError,
  RollbackLimitExceededError,
  ScriptedFailureError,
  StaleWriterError,
  TaskConflictError,
} from '../../functions/core/errors.ts';
import { classifyInfrastructureError } from '../../functions/core/infrastructure-errors.ts';

const aws = (name: string, extra: Record<string, unknown> = {}): DynamoDBServiceException =>
  Object.assign(new DynamoDBServiceException({ name, message: `${name} happened`, $fault: 'client', $metadata: {} }), extra);

describe('Function: classifyInfrastructureError', () => {
  it.each([
    ['a model that failed', new ModelInvocationError('m', 'down', { cause: aws('ThrottlingException') })],
    ['an injected model fault', new ScriptedFailureError('Work')],
    ['an output the step refused', new AgentOutputError('billing', 'empty')],
    ['a refused model call (budget)', new BudgetExceededError('t', 'billing', 'agent', 1, 2, 2)],
    ['a bug in a step', new TypeError('cannot read properties of undefined')],
    ['something that is not an Error', 'oops'],
  ])('leaves %s to the agent failure path', (_label, error) => {
    expect(classifyInfrastructureError(error)).toBeUndefined();
  });

  it.each(['AccessDeniedException', 'UnrecognizedClientException', 'ResourceNotFoundException', 'ValidationException'])('raises an AWS %s of a store as InfrastructureError, naming it', (name) => {
    const classified = classifyInfrastructureError(aws(name));
    expect(classified).toBeInstanceOf(InfrastructureError);
    expect(classified?.name).toBe('InfrastructureError');
    expect(classified?.message).toContain(name);
    expect((classified as InfrastructureError).originalName).toBe(name);
  });

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'TransactionConflictException'])('raises %s as InfrastructureThrottledError (retried by the state machines)', (name) => {
    expect(classifyInfrastructureError(aws(name))?.name).toBe('InfrastructureThrottledError');
  });

  it('sees throttling behind a checkpoint error and in a cancelled transaction', () => {
    const wrapped = new CheckpointError('t', 'writing checkpoint 3', { cause: aws('ProvisionedThroughputExceededException') });
    expect(classifyInfrastructureError(wrapped)).toBeInstanceOf(InfrastructureThrottledError);
    const cancelled = aws('TransactionCanceledException', { CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] });
    expect(classifyInfrastructureError(cancelled)?.name).toBe('InfrastructureThrottledError');
    const collided = aws('TransactionCanceledException', { CancellationReasons: [{ Code: 'ConditionalCheckFailed' }] });
    expect(classifyInfrastructureError(collided)?.name).toBe('InfrastructureError');
  });

  it('keeps the names the state machines match, and wraps the other Legion infrastructure errors', () => {
    const stale = new StaleWriterError('t', 1);
    const denied = new CheckpointError('t', 'writing checkpoint 3', { cause: aws('AccessDeniedException') });
    const config = new ConfigurationError(['TABLE_NAME is missing']);
    expect(classifyInfrastructureError(stale)).toBe(stale);
    expect(classifyInfrastructureError(denied)).toBe(denied);
    expect(classifyInfrastructureError(config)).toBe(config);
    expect(classifyInfrastructureError(new CheckpointTooLargeError('t', 1, 1, 0))?.name).toBe('InfrastructureError');
    expect(classifyInfrastructureError(new EventPublishError('bus', 'FailureDetected', 'refused'))?.name).toBe('InfrastructureError');
  });

  it('only ever raises names the state machines catch as infrastructure errors', () => {
    const samples = [aws('AccessDeniedException'), aws('ThrottlingException'), new StaleWriterError('t', 1), new CheckpointTooLargeError('t', 1, 1, 0), new ConfigurationError([])];
    for (const sample of samples) expect(INFRASTRUCTURE_ERRORS).toContain(classifyInfrastructureError(sample)?.name);
  });
});

describe('Function: teamPartitionPrefix', () => {
  it('refuses a store that was never scoped to a team with a ConfigurationError, an infrastructure failure', () => {
    let thrown: unknown;
    try {
      teamPartitionPrefix(UNSCOPED_TEAM);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toMatch(/before being scoped to a team/);
    expect(classifyInfrastructureError(thrown)).toBe(thrown);
  });
});

describe('Function: createControlHandler (the errors a control function raises)', () => {
  const context = { functionName: 'legion-rollback-task', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
  const telemetry = { logger: new Logger({ serviceName: 't', logLevel: 'SILENT' }), metrics: new Metrics({ namespace: 'Legion', serviceName: 't' }) };
  const failingWith = (error: unknown, options?: { classifyErrors?: boolean }) => createControlHandler('rollback-task', z.object({}), () => Promise.reject(error as Error), telemetry, options);

  it.each([
    ['AccessDeniedException', 'InfrastructureError'],
    ['ResourceNotFoundException', 'InfrastructureError'],
    ['ProvisionedThroughputExceededException', 'InfrastructureThrottledError'],
    ['ThrottlingException', 'InfrastructureThrottledError'],
  ])('raises an AWS %s of a store as %s, as an agent step would, so the state machines retry or fail on it', async (name, raised) => {
    await expect(failingWith(aws(name))({}, context)).rejects.toMatchObject({ name: raised, originalName: name });
  });

  it('sees throttling behind a cancelled transaction and a checkpoint error', async () => {
    const cancelled = aws('TransactionCanceledException', { CancellationReasons: [{ Code: 'ThrottlingError' }] });
    await expect(failingWith(cancelled)({}, context)).rejects.toMatchObject({ name: 'InfrastructureThrottledError' });
    const wrapped = new CheckpointError('t', 'rolling back', { cause: aws('RequestLimitExceeded') });
    await expect(failingWith(wrapped)({}, context)).rejects.toMatchObject({ name: 'InfrastructureThrottledError' });
  });

  it.each([
    new RollbackLimitExceededError('t', 3, 3),
    new NoValidBidsError('t', 2, {}),
    new TaskConflictError('t'),
    new NoValidCheckpointError('t', 'fewer than two valid checkpoints'),
    new EventPublishError('bus', 'FailureDetected', 'refused'),
    new StaleWriterError('t', 1),
  ])('keeps the name of $name, which the state machines, the CLI or the callers match', async (error) => {
    await expect(failingWith(error)({}, context)).rejects.toBe(error);
  });

  it('keeps only task-state errors and refused events by name', () => {
    expect([...CONTROL_KEPT_ERRORS]).toEqual(['TaskConflictError', 'TaskNotFoundError', 'TaskOwnedByAnotherTeamError', 'NoValidCheckpointError', 'EventPublishError']);
  });

  it('lets the errors through unchanged when told not to classify (a function no state machine invokes)', async () => {
    const throttled = aws('ThrottlingException');
    await expect(failingWith(throttled, { classifyErrors: false })({}, context)).rejects.toBe(throttled);
  });
});
