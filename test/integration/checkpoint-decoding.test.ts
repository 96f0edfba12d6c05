/**
 * Property-based tests (fast-check) of how the checkpoint store reads what it finds stored: a
 * checkpoint or a task input corrupted in any attribute (a bit flip on disk, a hand edit, a bug of
 * an older writer) is answered by restore, list, describeTask and resumeTask with a result or with a
 * CheckpointError, never a raw TypeError/SyntaxError; and reading changes nothing stored but the
 * validity flag of a checkpoint found corrupt. Against DynamoDB Local (the shared instance).
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager, checksumOf, verifyCheckpoint } from '../../functions/recovery/checkpoint-manager.ts';
import { TASK_INPUT_SK, checkpointSortKey, taskItemKey } from '../../functions/core/contract.ts';
import { LegionError } from '../../functions/core/errors.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

const TEAM = 'telecom-support';
/** Each run costs about ten DynamoDB requests (more when a write is slow on a shared machine): enough runs to find the holes, in seconds. */
const RUNS = { numRuns: 30 };

type Item = Record<string, unknown>;

/** Values DynamoDB can store in an attribute, chosen to break a decoder: text, numbers, booleans, null, binary, lists, maps. */
const storedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: fc.constantFrom('\u001b', '\u0000', '"', '{', '}', 'a', 'é', '1', ' '), maxLength: 20 }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  // Decimals DynamoDB can store (it refuses magnitudes below 1e-130, which fc.double would give).
  fc.integer().map((value) => value / 1000),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(gzipSync('{"step":"tampered"}'), gzipSync('not json'), gzipSync('{"step":1}').subarray(0, 12)),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** One attribute of a stored item changed or removed; or a state and a checksum changed together, so the checksum still verifies. */
function corruptionOf(attributes: readonly string[]): fc.Arbitrary<(item: Item) => Item> {
  return fc.oneof(
    fc.tuple(fc.constantFrom(...attributes), fc.option(storedValue, { nil: undefined })).map(
      ([attribute, value]) =>
        (item: Item): Item =>
          value === undefined ? Object.fromEntries(Object.entries(item).filter(([key]) => key !== attribute)) : { ...item, [attribute]: value },
    ),
    fc.string({ maxLength: 30 }).map(
      (text) =>
        (item: Item): Item =>
          'input' in item ? { ...item, input: text, checksum: checksumOf(text) } : { ...item, encoding: 'json', state: text, checksum: checksumOf(text) },
    ),
  );
}

/** A clear error: one of Legion's, naming what is wrong, with no stack trace in its message. */
function expectClearError(error: unknown): void {
  expect(error).toBeInstanceOf(LegionError);
  expect((error as Error).message).toMatch(/^Checkpoint of task .+ failed: ./);
  expect((error as Error).message).not.toMatch(/\n\s+at /);
}

async function settle<T>(work: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    return { ok: false, error };
  }
}

describe('Class: CheckpointManager (decoding what is stored, DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let manager: CheckpointManager;
  onDynamoDbLocal((connected) => {
    client = connected;
  });
  beforeAll(() => {
    // A low gzip threshold: some generated states are stored gzipped, so both encodings are read.
    manager = new CheckpointManager({ client, tableName: LOCAL_TABLE_NAME, team: TEAM, compressAboveBytes: 48 });
  });

  const read = async (key: Item): Promise<Item | undefined> => (await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: key, ConsistentRead: true }))).Item;
  const put = (item: Item): Promise<unknown> => client.send(new PutCommand({ TableName: LOCAL_TABLE_NAME, Item: item }));
  /** An item without the attributes a reader may set when it finds a checkpoint corrupt. */
  const content = (item: Item | undefined): Item => Object.fromEntries(Object.entries(item ?? {}).filter(([key]) => key !== 'valid' && key !== 'invalidReason'));

  const checkpointAttributes = ['state', 'stateGzip', 'encoding', 'checksum', 'sequence', 'valid', 'kind', 'epoch', 'stepKey', 'agent', 'stateName', 'taskId', 'tokens', 'durationMs', 'createdAt', 'expiresAt', 'storedBytes'];

  it('restores the last checkpoint that verifies and lists them all, whatever one stored checkpoint holds; only its validity changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 2 }), corruptionOf(checkpointAttributes), async (state, corrupt) => {
        // Prepare: a valid checkpoint, then the one that gets corrupted
        const taskId = `decode-${randomUUID()}`;
        await manager.save({ taskId, agent: 'billing', stateName: 'Work', state: { step: 1 } });
        await manager.save({ taskId, agent: 'billing', stateName: 'Work', state });
        const first = taskItemKey(TEAM, taskId, checkpointSortKey(1));
        const second = taskItemKey(TEAM, taskId, checkpointSortKey(2));
        await put({ ...corrupt((await read(second)) ?? {}), ...second });
        const [firstBefore, secondBefore] = [await read(first), await read(second)];

        // Act
        const restored = await settle(manager.restore(taskId));
        const listed = await settle(manager.list(taskId));

        // Assess: a result, or a clear error
        if (restored.ok) {
          if (restored.value) {
            expect(verifyCheckpoint(restored.value)).toBe(true);
            expect(() => JSON.parse(restored.value?.state ?? '') as unknown).not.toThrow();
          }
        } else {
          expectClearError(restored.error);
        }
        if (!listed.ok) expectClearError(listed.error);
        // Nothing stored changed but the corrupt checkpoint's validity
        expect(await read(first)).toEqual(firstBefore);
        expect(content(await read(second))).toEqual(content(secondBefore));
      }),
      RUNS,
    );
  });

  it("describes or resumes a task whatever its stored input holds, or answers a CheckpointError; the input is not changed", async () => {
    await fc.assert(
      fc.asyncProperty(corruptionOf(['input', 'checksum', 'team', 'pattern', 'createdAt', 'expiresAt']), async (corrupt) => {
        // Prepare
        const taskId = `decode-input-${randomUUID()}`;
        await manager.startTask(taskId, { request: 'my bill is wrong' }, { team: TEAM, pattern: 'supervisor-worker' });
        const key = taskItemKey(TEAM, taskId, TASK_INPUT_SK);
        await put({ ...corrupt((await read(key)) ?? {}), ...key });
        const before = await read(key);

        // Act
        const described = await settle(manager.describeTask(taskId));
        const resumed = await settle(manager.resumeTask(taskId));

        // Assess
        if (!described.ok) expectClearError(described.error);
        if (!resumed.ok) expectClearError(resumed.error);
        expect(await read(key)).toEqual(before);
      }),
      RUNS,
    );
  });
});
