/**
 * `--inject checkpoint-failures:<rate>`: which checkpoint saves fail (deterministic), what they
 * throw (what the real store throws on a throttled DynamoDB, classified as a retryable
 * InfrastructureThrottledError), and how the option is parsed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { CheckpointError, InfrastructureThrottledError, UsageError } from '../../functions/core/errors.ts';
import { classifyInfrastructureError } from '../../functions/core/infrastructure-errors.ts';
import { parseInjections } from '../../bin/cli/inject.ts';
import { CheckpointWriteFaults, ThrottledCheckpointManager } from '../../local/checkpoint-faults.ts';

function failingSaves(failureRate: number, saves: number): number[] {
  const writes = new CheckpointWriteFaults({ failureRate });
  return Array.from({ length: saves }, (_, index) => index + 1).filter(() => writes.nextFails());
}

describe('Class: CheckpointWriteFaults', () => {
  it.each([
    [0.2, [1, 6, 11, 16]],
    [0.25, [1, 5, 9, 13, 17]],
    [0.5, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]],
    [0.05, [1]],
  ])('rate %d: the first save fails, then one in every 1/rate', (rate, expected) => {
    expect(failingSaves(rate, 20)).toEqual(expected);
  });

  it('fails every save at rate 1', () => {
    expect(failingSaves(1, 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails exactly round(n · rate) of n saves, up to one', () => {
    const writes = new CheckpointWriteFaults({ failureRate: 0.3 });
    for (let index = 0; index < 100; index += 1) writes.nextFails();

    expect(writes).toMatchObject({ attempts: 100, failures: 30 });
  });

  it.each([0, -0.1, 1.5, Number.NaN])('refuses the rate %d', (failureRate) => {
    expect(() => new CheckpointWriteFaults({ failureRate })).toThrow(RangeError);
  });
});

describe('Class: ThrottledCheckpointManager', () => {
  // Never called: a save that fails on purpose fails before any request.
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));

  it('throws what the real store throws on ProvisionedThroughputExceededException, and the agent classifies it as retryable throttling', async () => {
    const store = new ThrottledCheckpointManager({ client, tableName: 'legion-checkpoints', team: 'telecom-support' }, new CheckpointWriteFaults({ failureRate: 1 }));

    const failure = await store.save({ taskId: 't-1', agent: 'billing', stateName: 'Work', state: {} }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(CheckpointError);
    expect((failure as CheckpointError).cause).toMatchObject({ name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    expect((failure as Error).message).toMatch(/^Checkpoint of task t-1 failed: allocating a sequence: The level of configured provisioned throughput/);
    const classified = classifyInfrastructureError(failure);
    expect(classified).toBeInstanceOf(InfrastructureThrottledError);
    expect(classified?.name).toBe('InfrastructureThrottledError');
  });

  it('keeps failing saves for another team (one count for the runtime)', async () => {
    const writes = new CheckpointWriteFaults({ failureRate: 1 });
    const store = new ThrottledCheckpointManager({ client, tableName: 'legion-checkpoints', team: 'a' }, writes).forTeam('b');

    await expect(store.save({ taskId: 't-2', agent: 'x', stateName: 'Work', state: {} })).rejects.toThrow(CheckpointError);
    expect(store.team).toBe('b');
    expect(writes.attempts).toBe(1);
  });
});

describe('Function: parseInjections (checkpoint-failures)', () => {
  it.each([
    ['checkpoint-failures:0.2', 0.2],
    ['checkpoint-failures:1', 1],
    ['checkpoint-failures:.05', 0.05],
  ])('%s', (value, failureRate) => {
    expect(parseInjections([value], 'supervisor-worker')).toEqual({ checkpointFaults: { failureRate } });
  });

  it('combines with other injections', () => {
    expect(parseInjections(['checkpoint-failures:0.5', 'inconsistent:Classify'], 'supervisor-worker')).toMatchObject({
      checkpointFaults: { failureRate: 0.5 },
      modelFaults: [{ kind: 'off-contract', stateName: 'Classify', times: 1 }],
    });
  });

  it.each([
    ['checkpoint-failures', /needs a rate/],
    ['checkpoint-failures:', /needs a rate/],
    ['checkpoint-failures:0', /above 0 and at most 1 .*got "0"/],
    ['checkpoint-failures:1.5', /above 0 and at most 1 .*got "1.5"/],
    ['checkpoint-failures:-0.2', /got "-0.2"/],
    ['checkpoint-failures:20%', /got "20%"/],
    ['checkpoint-failures:abc', /got "abc"/],
  ])('refuses %s', (value, message) => {
    expect(() => parseInjections([value], 'supervisor-worker')).toThrow(UsageError);
    expect(() => parseInjections([value], 'supervisor-worker')).toThrow(message);
  });

  it('refuses it twice', () => {
    expect(() => parseInjections(['checkpoint-failures:0.2', 'checkpoint-failures:0.5'], 'supervisor-worker')).toThrow(/may be given once/);
  });
});
