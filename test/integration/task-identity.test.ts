/**
 * Task identity from trusted sources only, and team isolation in one table (issue 12, defects 3
 * and 4): the real begin-task function and the real stores against DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type BeginTaskEvent, beginTask } from '../../functions/control/begin-task.ts';
import { ApprovalStore } from '../../functions/approvals/approval-store.ts';
import { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import { CHECKPOINT_TABLE, UNSCOPED_TEAM, taskOwnerKey, taskPartition, teamPartitionPrefix } from '../../functions/core/contract.ts';
import { InvalidTaskIdError, TaskOwnedByAnotherTeamError } from '../../functions/core/errors.ts';
import { RunRequestedDetailSchema } from '../../functions/core/events.ts';
import { childTaskId } from '../../functions/core/task-id.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

const newTask = (): string => `id-${randomUUID()}`;

describe('Feature: task identity and team isolation (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  /** begin-task's dependencies as its Lambda builds them: stores for every team, scoped per call. */
  function deps() {
    const table = { client, tableName: LOCAL_TABLE_NAME, team: UNSCOPED_TEAM };
    return {
      checkpoints: new CheckpointManager(table),
      approvals: new ApprovalStore(table),
      logger: new Logger({ serviceName: 'task-identity-test', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Legion', serviceName: 'task-identity-test' }),
    };
  }

  function begin(overrides: Partial<BeginTaskEvent>): BeginTaskEvent {
    return { step: 'begin', stateName: 'Begin', team: 'telecom-support', pattern: 'supervisor-worker', executionName: newTask(), input: { request: 'my bill is wrong' }, ...overrides };
  }

  async function ownerOf(taskId: string): Promise<unknown> {
    return (await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: taskOwnerKey(taskId), ConsistentRead: true }))).Item;
  }

  describe('Function: beginTask', () => {
    it('refuses a nestedTask forged in the input (the reported attack): no task is stored under the forged id', async () => {
      const attempt = beginTask(begin({ executionName: 'attacker', input: { request: 'bill', nestedTask: { taskId: 'victim#x/y', parentTaskId: 'p', parentTeam: 'research' } } }), deps());

      await expect(attempt).rejects.toBeInstanceOf(InvalidTaskIdError);
      await expect(attempt).rejects.toThrow(/not a task id that task p derives/);
      expect(await ownerOf('victim#x/y')).toBeUndefined();
    });

    it('refuses a correctly derived child id whose parent task does not exist (squatting a child id ahead of its parent)', async () => {
      const parent = newTask();
      const child = childTaskId(parent, 'telecom-support', 0, 0);

      await expect(beginTask(begin({ input: { request: 'x', nestedTask: { taskId: child, parentTaskId: parent, parentTeam: 'research-hierarchy' } } }), deps())).rejects.toThrow(
        new RegExp(`parent ${parent} is not a hierarchical task of team research-hierarchy`),
      );
      expect(await ownerOf(child)).toBeUndefined();
    });

    it('starts a child derived from an existing hierarchical parent for this team, and refuses it for another parent team or another sub-team', async () => {
      const parent = newTask();
      await beginTask(begin({ team: 'research-hierarchy', pattern: 'hierarchical', executionName: parent, input: { request: 'plan' } }), deps());
      const child = childTaskId(parent, 'telecom-support', 1, 2);
      const nested = (team: string, parentTeam: string) =>
        begin({ team, executionName: `${child}-${randomUUID()}`, input: { request: 'x', nestedTask: { taskId: child, parentTaskId: parent, parentTeam } } });

      await expect(beginTask(nested('telecom-support', 'telecom-support'), deps())).rejects.toThrow(/is not a hierarchical task of team telecom-support/);
      // Another team claiming the child id of a live parent (squatting it ahead of the parent's own start).
      await expect(beginTask(nested('other-team', 'research-hierarchy'), deps())).rejects.toThrow(/not a task id that task .* derives for team other-team/);
      const started = await beginTask(nested('telecom-support', 'research-hierarchy'), deps());

      expect(started).toMatchObject({ taskId: child, resumed: false });
      expect(await ownerOf(child)).toMatchObject({ team: 'telecom-support' });
    });

    it('refuses an execution name outside the root rule: a child id (dots) cannot be started directly', async () => {
      const squatted = childTaskId(newTask(), 'telecom-support', 0, 0);

      await expect(beginTask(begin({ executionName: squatted }), deps())).rejects.toBeInstanceOf(InvalidTaskIdError);
      expect(await ownerOf(squatted)).toBeUndefined();
    });

    it('refuses another team a task id already owned, starting or resuming, and leaves the owner\'s input as it was', async () => {
      const taskId = newTask();
      await beginTask(begin({ executionName: taskId }), deps());

      const start = beginTask(begin({ team: 'other-team', executionName: taskId }), deps());
      await expect(start).rejects.toBeInstanceOf(TaskOwnedByAnotherTeamError);
      await expect(start).rejects.toThrow(/belongs to team telecom-support, not other-team/);
      await expect(beginTask(begin({ team: 'other-team', executionName: newTask(), input: { resume: { taskId } } }), deps())).rejects.toBeInstanceOf(TaskOwnedByAnotherTeamError);
      expect(await ownerOf(taskId)).toMatchObject({ team: 'telecom-support', pattern: 'supervisor-worker' });
      expect(await deps().checkpoints.forTeam('telecom-support').describeTask(taskId)).toMatchObject({ input: { request: 'my bill is wrong' } });
    });
  });

  describe('Class: CheckpointManager (team-scoped keys)', () => {
    it('keeps a team\'s items under its own prefix, invisible to another team\'s store', async () => {
      const taskId = newTask();
      const telecom = new CheckpointManager({ client, tableName: LOCAL_TABLE_NAME, team: 'telecom-support' });
      const other = telecom.forTeam('other-team');
      await telecom.startTask(taskId, { request: 'x' }, { team: 'telecom-support', pattern: 'supervisor-worker' });
      await telecom.save({ taskId, agent: 'billing', stateName: 'Work', state: { answer: 'a' } });

      const items = await client.send(
        new QueryCommand({ TableName: LOCAL_TABLE_NAME, KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': CHECKPOINT_TABLE.partitionKey }, ExpressionAttributeValues: { ':pk': taskPartition('telecom-support', taskId) } }),
      );

      expect(taskPartition('telecom-support', taskId).startsWith(teamPartitionPrefix('telecom-support'))).toBe(true);
      expect(items.Items?.map((item) => String(item[CHECKPOINT_TABLE.sortKey]))).toEqual(expect.arrayContaining(['HEAD', 'INPUT', 'CP#0000000001']));
      expect(await other.list(taskId)).toEqual([]);
      expect(await other.describeTask(taskId)).toBeUndefined();
    });

    it('fails closed when a store serving every team is used before being scoped to one', async () => {
      const unscoped = new CheckpointManager({ client, tableName: LOCAL_TABLE_NAME, team: UNSCOPED_TEAM });

      await expect(unscoped.list(newTask())).rejects.toThrow(/before being scoped to a team/);
    });
  });

  describe('Schema: RunRequested detail', () => {
    it('refuses an input that sets nestedTask or resume, and an idempotency key outside the root rule, naming each', () => {
      const forged = RunRequestedDetailSchema.safeParse({ pattern: 'supervisor-worker', input: { request: 'bill', nestedTask: { taskId: 'victim', parentTaskId: 'p' } } });
      const dotted = RunRequestedDetailSchema.safeParse({ pattern: 'supervisor-worker', input: { request: 'bill' }, idempotencyKey: 'a.12345678.0.0' });

      expect(forged.success).toBe(false);
      expect(forged.error?.issues.map((issue) => issue.message).join()).toMatch(/"nestedTask" is set by Legion for nested executions only/);
      expect(dotted.success).toBe(false);
      expect(dotted.error?.issues[0]?.path).toEqual(['idempotencyKey']);
      // A resume through an event would take a live task over (its epoch raised): refused too.
      const resume = RunRequestedDetailSchema.safeParse({ pattern: 'supervisor-worker', input: { resume: { taskId: 'victim' } } });
      expect(resume.error?.issues.map((issue) => issue.message).join()).toMatch(/"resume" resumes a task/);
    });
  });
});
