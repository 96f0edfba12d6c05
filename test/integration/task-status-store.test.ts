/**
 * The task status store against DynamoDB Local (the real jar, started once in
 * test/global-setup.ts): counters that add up under concurrent steps, a budget refusal reported
 * first once, totals over a parent, its children and a grandchild, a status recorded only under the
 * execution that runs the task, and the status item kept out of every listing of the task's
 * partition (checkpoints, rollback, detections). Each test uses its own task ids.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import { DetectionLog } from '../../functions/guards/detection-log.ts';
import { TaskStatusError } from '../../functions/core/errors.ts';
import { TaskStatusStore } from '../../functions/observability/task-status-store.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';

const TEAM = 'status-team';
const SUB_TEAM = 'status-sub-team';
const newTask = (): string => `status-${randomUUID()}`;

describe('Class: TaskStatusStore (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let statuses: TaskStatusStore;
  let checkpoints: CheckpointManager;

  onDynamoDbLocal((connected) => {
    client = connected;
  });
  beforeAll(() => {
    const table = { client, tableName: LOCAL_TABLE_NAME, team: TEAM };
    statuses = new TaskStatusStore(table);
    checkpoints = new CheckpointManager(table);
  });

  /** A started task (input, epoch) with its status item, as begin-task leaves it. */
  async function started(store: TaskStatusStore, taskId: string, parent?: { team: string; taskId: string }): Promise<number> {
    const manager = checkpoints.forTeam(store.team);
    const { epoch } = await manager.startTask(taskId, { request: 'x' }, { team: store.team, pattern: 'hierarchical' });
    await store.begin(taskId, { pattern: 'hierarchical', executionName: taskId, parent });
    if (parent) await statuses.forTeam(parent.team).addChild(parent.taskId, { team: store.team, taskId });
    return epoch;
  }

  it('adds up the counters of concurrent steps, and reports only one budget refusal as the first', async () => {
    const taskId = newTask();
    await started(statuses, taskId);

    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        Promise.all([
          statuses.stepStarted(taskId, { state: `Work${String(index)}`, agent: `worker-${String(index)}` }),
          statuses.stepFinished(taskId, { inputTokens: 10, outputTokens: 3, modelCalls: 2 }),
        ]),
      ),
    );
    await statuses.stepFailed(taskId, { inputTokens: 5, outputTokens: 1, modelCalls: 1 });
    const firsts = await Promise.all(Array.from({ length: 8 }, () => statuses.budgetRefused(taskId)));

    expect(firsts.filter(Boolean)).toHaveLength(1);
    expect(await statuses.get(taskId)).toMatchObject({ status: 'RUNNING', stepsDone: 20, inputTokens: 205, outputTokens: 61, modelCalls: 41, budgetRefusals: 8 });
  });

  it('totals a parent with its children and a grandchild: counters added up, checkpoints, rollbacks and detections counted', async () => {
    const parent = newTask();
    const [childA, childB, grandchild] = [newTask(), newTask(), newTask()];
    const sub = statuses.forTeam(SUB_TEAM);
    await started(statuses, parent);
    const epochA = await started(sub, childA, { team: TEAM, taskId: parent });
    await started(sub, childB, { team: TEAM, taskId: parent });
    await started(statuses, grandchild, { team: SUB_TEAM, taskId: childA });
    // A retried start records its child once.
    await statuses.addChild(parent, { team: SUB_TEAM, taskId: childA });
    const usage = { inputTokens: 100, outputTokens: 20, modelCalls: 1 };
    for (const [store, taskId] of [[statuses, parent], [sub, childA], [sub, childB], [statuses, grandchild]] as const) await store.stepFinished(taskId, usage);
    await sub.budgetRefused(childB);
    const subCheckpoints = checkpoints.forTeam(SUB_TEAM);
    for (const state of ['Classify', 'Work']) await subCheckpoints.save({ taskId: childA, epoch: epochA, agent: 'supervisor', stateName: state, state: { state } });
    await subCheckpoints.rollback(childA, { reason: 'test' });
    await new DetectionLog({ client, tableName: LOCAL_TABLE_NAME, team: TEAM }).record(grandchild, { type: 'loop', step: 'CheckLoop', stepId: 'h1', action: 'conflict-rule', agents: ['a', 'b'], details: 'test' });

    expect((await statuses.get(parent))?.children).toEqual([
      { team: SUB_TEAM, taskId: childA },
      { team: SUB_TEAM, taskId: childB },
    ].sort((left, right) => left.taskId.localeCompare(right.taskId)));
    expect((await sub.get(childA))?.parent).toEqual({ team: TEAM, taskId: parent });
    expect(await statuses.totals(parent)).toEqual({ inputTokens: 400, outputTokens: 80, modelCalls: 4, agentSteps: 4, checkpoints: 2, rollbacks: 1, detections: 1, budgetRefusals: 1 });
    expect(await sub.totals(childA)).toMatchObject({ agentSteps: 2, detections: 1 });
  });

  it('keeps the status item out of the checkpoints, restore, rollback and detections of the task', async () => {
    const taskId = newTask();
    const epoch = await started(statuses, taskId);
    await statuses.stepFinished(taskId, { inputTokens: 1, outputTokens: 1, modelCalls: 1 });
    for (const state of ['Classify', 'Work']) await checkpoints.save({ taskId, epoch, agent: 'supervisor', stateName: state, state: { state } });

    expect((await checkpoints.list(taskId)).map((checkpoint) => checkpoint.stateName)).toEqual(['Classify', 'Work']);
    expect((await checkpoints.restore(taskId))?.stateName).toBe('Work');
    expect((await checkpoints.rollback(taskId, { reason: 'test' })).target.stateName).toBe('Classify');
    expect(await new DetectionLog({ client, tableName: LOCAL_TABLE_NAME, team: TEAM }).list(taskId)).toEqual([]);
    expect(await statuses.get(taskId)).toMatchObject({ stepsDone: 1 });
  });

  it('records how an execution ended only under the execution the task runs now, and nothing for a task without a status', async () => {
    const taskId = newTask();
    await started(statuses, taskId);
    await statuses.begin(taskId, { pattern: 'hierarchical', executionName: `${taskId}-resume-1` });

    expect(await statuses.finish(taskId, 'ABORTED', { executionName: taskId })).toBe(false);
    expect(await statuses.waiting(taskId)).toBe(true);
    expect(await statuses.get(taskId)).toMatchObject({ status: 'WAITING', executionName: `${taskId}-resume-1` });
    expect(await statuses.finish(taskId, 'SUCCEEDED', { executionName: `${taskId}-resume-1` })).toBe(true);
    const ended = await statuses.get(taskId);
    expect(ended).toMatchObject({ status: 'SUCCEEDED' });
    expect(ended?.endedAt).toBeDefined();

    const unknown = newTask();
    expect(await statuses.finish(unknown, 'FAILED', { executionName: unknown })).toBe(false);
    expect(await statuses.waiting(unknown)).toBe(false);
    expect(await statuses.addChild(unknown, { team: TEAM, taskId })).toBe(false);
    expect(await statuses.get(unknown)).toBeUndefined();
  });

  it('lists every team\'s tasks, most recently updated first', async () => {
    const [older, newer] = [newTask(), newTask()];
    await started(statuses, older);
    await started(statuses.forTeam(SUB_TEAM), newer);

    const listed = (await statuses.list()).filter((task) => task.taskId === older || task.taskId === newer);

    expect(listed.map((task) => [task.taskId, task.team])).toEqual([
      [newer, SUB_TEAM],
      [older, TEAM],
    ]);
  });

  it('fails a write with TaskStatusError (infrastructure), naming the task', async () => {
    const missing = new TaskStatusStore({ client, tableName: 'no-such-table', team: TEAM });
    await expect(missing.stepStarted('t-1', { state: 'Work', agent: 'billing' })).rejects.toBeInstanceOf(TaskStatusError);
  });
});
