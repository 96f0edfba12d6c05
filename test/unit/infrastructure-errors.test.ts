/**
 * Which errors under an agent step are infrastructure failures (the run must fail) and which are
 * the agent's own (its graceful path stays): classifyInfrastructureError, and the names it gives
 * to the state machines.
 */
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { INFRASTRUCTURE_ERRORS } from '../../functions/shared/contract.ts';
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
  ScriptedFailureError,
  StaleWriterError,
} from '../../functions/shared/errors.ts';
import { classifyInfrastructureError } from '../../functions/shared/infrastructure-errors.ts';

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
