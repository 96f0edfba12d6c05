/**
 * The tool-call journal against DynamoDB Local (started once in test/global-setup.ts): a call is
 * found again by its step, tool and input (whatever the order of the input's keys), the first
 * record of a call wins, a task's calls list by step and order, and a record altered in the table
 * is refused (and kept). Each test uses its own task ids.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOOL_CALL_SK_PREFIX, taskItemKey } from '../../functions/core/contract.ts';
import { CheckpointError } from '../../functions/core/errors.ts';
import { ToolCallJournal, type ToolCallRecord, callFingerprint } from '../../functions/tools/tool-call-journal.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';
import { rejectionOf } from '../support/rejection.ts';

const TEAM = 'journal-test';
const OTHER_TEAM = 'journal-test-other';
const newTask = (): string => `tool-journal-${randomUUID()}`;

function call(taskId: string, overrides: Partial<ToolCallRecord> = {}): ToolCallRecord {
  return {
    taskId,
    stepKey: 'Work#billing',
    name: 'lookup_invoice',
    input: { invoiceId: 'INV-1042', period: 'October' },
    content: '{"total":"€45.00"}',
    isError: false,
    durationMs: 12,
    order: 0,
    ...overrides,
  };
}

describe('Class: ToolCallJournal (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let journal: ToolCallJournal;
  onDynamoDbLocal((connected) => {
    client = connected;
  });
  beforeAll(() => {
    journal = new ToolCallJournal({ client, tableName: LOCAL_TABLE_NAME, team: TEAM });
  });

  describe('Method: recall', () => {
    it('finds a recorded call by its step, tool and input, whatever the order of the input keys', async () => {
      const taskId = newTask();
      await journal.record(call(taskId, { durationMs: 12.6, order: 2 }));

      const recalled = await journal.recall({ taskId, stepKey: 'Work#billing', name: 'lookup_invoice', input: { period: 'October', invoiceId: 'INV-1042' } });

      expect(recalled).toEqual({
        taskId,
        stepKey: 'Work#billing',
        name: 'lookup_invoice',
        input: { invoiceId: 'INV-1042', period: 'October' },
        content: '{"total":"€45.00"}',
        isError: false,
        durationMs: 13,
        order: 2,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
      });
    });

    it('keeps a failed call as failed', async () => {
      const taskId = newTask();
      await journal.record(call(taskId, { content: 'the billing system timed out', isError: true }));

      expect(await journal.recall(call(taskId))).toMatchObject({ content: 'the billing system timed out', isError: true });
    });

    it('does not find a call with another input, step or tool, nor another task’s or team’s', async () => {
      const taskId = newTask();
      await journal.record(call(taskId));
      const other = new ToolCallJournal({ client, tableName: LOCAL_TABLE_NAME, team: OTHER_TEAM });

      expect(await journal.recall(call(taskId, { input: { invoiceId: 'INV-1043', period: 'October' } }))).toBeUndefined();
      expect(await journal.recall(call(taskId, { input: { invoiceId: 'INV-1042' } }))).toBeUndefined();
      expect(await journal.recall(call(taskId, { stepKey: 'Work#technical-support' }))).toBeUndefined();
      expect(await journal.recall(call(taskId, { name: 'refund_invoice' }))).toBeUndefined();
      expect(await journal.recall(call(newTask()))).toBeUndefined();
      expect(await other.recall(call(taskId))).toBeUndefined();
      expect(await journal.recall(call(taskId))).toBeDefined();
    });

    it('refuses a record whose body was altered, naming the tool and step, and keeps the item', async () => {
      const taskId = newTask();
      const recorded = call(taskId);
      await journal.record(recorded);
      const Key = taskItemKey(TEAM, taskId, `${TOOL_CALL_SK_PREFIX}${recorded.stepKey}#${callFingerprint(recorded.name, recorded.input)}`);
      const altered = JSON.stringify({ content: '{"total":"€0.00"}', isError: false });
      await client.send(
        new UpdateCommand({
          TableName: LOCAL_TABLE_NAME,
          Key,
          UpdateExpression: 'SET #body = :body',
          ConditionExpression: 'attribute_exists(#body)',
          ExpressionAttributeNames: { '#body': 'body' },
          ExpressionAttributeValues: { ':body': altered },
        }),
      );

      const error = await rejectionOf(journal.recall(recorded));

      expect(error).toBeInstanceOf(CheckpointError);
      expect(error).toMatchObject({ taskId });
      expect(error.message).toContain('tool lookup_invoice');
      expect(error.message).toContain('step Work#billing');
      const { Item } = await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key, ConsistentRead: true }));
      expect(Item?.body).toBe(altered);
      // Still refused, not healed or dropped by the first refusal.
      await expect(journal.recall(recorded)).rejects.toBeInstanceOf(CheckpointError);
    });
  });

  describe('Method: record', () => {
    it('returns the first record when the same call is recorded again: the first writer wins', async () => {
      const taskId = newTask();
      const first = await journal.record(call(taskId, { content: 'first result', durationMs: 5 }));

      const second = await journal.record(call(taskId, { input: { period: 'October', invoiceId: 'INV-1042' }, content: 'second result', durationMs: 900, isError: true }));

      expect(second).toEqual(first);
      expect(second).toMatchObject({ content: 'first result', isError: false, durationMs: 5 });
      expect(await journal.recall(call(taskId))).toMatchObject({ content: 'first result', isError: false });
      expect(await journal.list(taskId)).toHaveLength(1);
    });

    it('gives two concurrent records of one call the same result', async () => {
      const taskId = newTask();

      const [a, b] = await Promise.all([journal.record(call(taskId, { content: 'from run A' })), journal.record(call(taskId, { content: 'from run B' }))]);

      expect(a.content).toBe(b.content);
      expect((await journal.recall(call(taskId)))?.content).toBe(a.content);
    });
  });

  describe('Method: list', () => {
    it("gives a task's calls by step, then in the order the step made them, without other tasks' or teams'", async () => {
      const taskId = newTask();
      const otherTask = newTask();
      const other = new ToolCallJournal({ client, tableName: LOCAL_TABLE_NAME, team: OTHER_TEAM });
      // Written out of order, each with another input (another item).
      await journal.record(call(taskId, { stepKey: 'Work#technical-support', name: 'line_status', input: { line: 1 }, order: 1 }));
      await journal.record(call(taskId, { stepKey: 'Work#billing', input: { invoiceId: 'INV-1043' }, order: 1 }));
      await journal.record(call(taskId, { stepKey: 'Work#technical-support', name: 'line_status', input: { line: 2 }, order: 0 }));
      await journal.record(call(taskId, { stepKey: 'Work#billing', input: { invoiceId: 'INV-1042' }, order: 0 }));
      await journal.record(call(otherTask, { stepKey: 'Work#billing', input: { invoiceId: 'INV-9999' } }));
      await other.record(call(taskId, { stepKey: 'Work#billing', input: { invoiceId: 'INV-8888' } }));

      const listed = await journal.list(taskId);

      expect(listed.map(({ stepKey, name, input, order }) => ({ stepKey, name, input, order }))).toEqual([
        { stepKey: 'Work#billing', name: 'lookup_invoice', input: { invoiceId: 'INV-1042' }, order: 0 },
        { stepKey: 'Work#billing', name: 'lookup_invoice', input: { invoiceId: 'INV-1043' }, order: 1 },
        { stepKey: 'Work#technical-support', name: 'line_status', input: { line: 2 }, order: 0 },
        { stepKey: 'Work#technical-support', name: 'line_status', input: { line: 1 }, order: 1 },
      ]);
      expect(listed.every((record) => record.taskId === taskId)).toBe(true);
      expect(await journal.list(newTask())).toEqual([]);
      expect((await other.list(taskId)).map((record) => record.input)).toEqual([{ invoiceId: 'INV-8888' }]);
    });
  });
});
