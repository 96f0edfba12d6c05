/**
 * Checkpoint writes that fail on purpose, as a throttled DynamoDB table makes them fail (`--inject
 * checkpoint-failures:<rate>`, a scripted shortcut): a fraction of the agents' checkpoint saves
 * throw what the real store throws when DynamoDB answers ProvisionedThroughputExceededException
 * (after the SDK's own retries): a CheckpointError caused by that exception. The agent's checkpoint
 * middleware counts it (CheckpointFailures), the classify-errors middleware turns it into
 * InfrastructureThrottledError, and the state machine retries the step (at once locally).
 *
 * Deterministic, no randomness: the n-th save of the runtime fails when ceil(n·rate) > ceil((n−1)·rate),
 * so the first save fails, then one in every 1/rate (rate 0.2: saves 1, 6, 11...). Nothing is
 * written by a failed save, so the retried step saves as if it were the first time.
 *
 * @example
 * ```ts
 * const writes = new CheckpointWriteFaults({ failureRate: 0.2 });
 * deps.checkpoints = new ThrottledCheckpointManager({ client, tableName, team }, writes);
 * ```
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { type Checkpoint, type CheckpointInput, CheckpointManager, type CheckpointManagerOptions } from '../functions/recovery/checkpoint-manager.ts';
import { CheckpointError } from '../functions/core/errors.ts';

/** A scripted fault of the checkpoint store. */
export interface CheckpointFaults {
  /** The fraction of checkpoint saves that fail, above 0 and at most 1. */
  failureRate: number;
}

/** Counts the saves of a runtime and says which fail; shared by every agent (and nested team) of it. */
export class CheckpointWriteFaults {
  /** Saves attempted so far. */
  public attempts = 0;
  /** Saves failed on purpose so far. */
  public failures = 0;
  public readonly failureRate: number;

  /** @throws {RangeError} when the rate is not above 0 and at most 1 */
  public constructor(faults: CheckpointFaults) {
    if (!(faults.failureRate > 0 && faults.failureRate <= 1)) throw new RangeError(`failureRate must be above 0 and at most 1, got ${faults.failureRate}`);
    this.failureRate = faults.failureRate;
  }

  /** Counts a save; true when it must fail. */
  public nextFails(): boolean {
    this.attempts += 1;
    // A hair below each whole number, so that 3 × 0.1 (0.30000000000000004) does not round up.
    const ceil = (value: number): number => Math.ceil(value - 1e-9);
    const fails = ceil(this.attempts * this.failureRate) > ceil((this.attempts - 1) * this.failureRate);
    if (fails) this.failures += 1;
    return fails;
  }
}

/** What DynamoDB answers a throttled request with, once the SDK's retries are spent. */
function throughputExceeded(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({
    message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. (injected: checkpoint-failures)',
    $metadata: { httpStatusCode: 400, attempts: 3 },
  });
}

/** A checkpoint store whose saves fail when its {@link CheckpointWriteFaults} say so; reads are untouched. */
export class ThrottledCheckpointManager extends CheckpointManager {
  public constructor(
    private readonly managerOptions: CheckpointManagerOptions,
    private readonly writes: CheckpointWriteFaults,
  ) {
    super(managerOptions);
  }

  /** @throws {CheckpointError} caused by ProvisionedThroughputExceededException, for the saves that fail */
  public override async save(input: CheckpointInput): Promise<Checkpoint> {
    if (this.writes.nextFails()) {
      // The first write of a save allocates its sequence number: the real store's message for a failure there.
      const cause = throughputExceeded();
      throw new CheckpointError(input.taskId, `allocating a sequence: ${cause.message}`, { cause });
    }
    return super.save(input);
  }

  public override forTeam(team: string): CheckpointManager {
    return team === this.team ? this : new ThrottledCheckpointManager({ ...this.managerOptions, team }, this.writes);
  }
}
