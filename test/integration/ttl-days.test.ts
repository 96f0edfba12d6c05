/**
 * LEGION_TTL_DAYS (`legion:ttlDays`) reaches the stores the Lambda handlers build: an agent's (from
 * its configuration) and the control functions' (from their environment, as in AWS) write
 * `expiresAt` that many days ahead. The configuration readers and the CDK side have tests of their
 * own (config.test.ts, legion-settings.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAgentDependencies } from '../../functions/agents/agent-dependencies.ts';
import { createControlDependencies } from '../../functions/control/control-dependencies.ts';
import { CHECKPOINT_TABLE, ENV, taskItemKey } from '../../functions/core/contract.ts';
import { DETECTION_SK_PREFIX, type DetectionLog } from '../../functions/guards/detection-log.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { unusedModel } from '../support/agent-doubles.ts';
import { LOOP_DETECTION as LOOP } from '../support/detections.ts';
import { onDynamoDbLocal } from '../support/dynamodb-local.ts';
import { agentConfigOf, loadTelecomTeam } from '../support/telecom.ts';

const DAYS = 30;

describe('Feature: LEGION_TTL_DAYS', () => {
  let client: DynamoDBDocumentClient;
  onDynamoDbLocal((connected) => {
    client = connected;
  });

  /** Records a detection and answers whether its expiresAt is DAYS days after the moment it was written. */
  async function expiresAfterDays(log: Pick<DetectionLog, 'record'>, team: string): Promise<{ expiresAt: unknown; earliest: number; latest: number }> {
    const taskId = `ttl-${randomUUID()}`;
    const before = Date.now();
    await log.record(taskId, LOOP);
    const after = Date.now();
    const sortKey = `${DETECTION_SK_PREFIX}${LOOP.type}#${LOOP.step}#${LOOP.stepId}`;
    const { Item } = await client.send(new GetCommand({ TableName: LOCAL_TABLE_NAME, Key: taskItemKey(team, taskId, sortKey) }));
    const ahead = DAYS * 86_400;
    return { expiresAt: Item?.[CHECKPOINT_TABLE.ttlAttribute], earliest: Math.floor(before / 1000) + ahead, latest: Math.floor(after / 1000) + ahead };
  }

  it("reaches an agent's stores from its configuration", async () => {
    const team = await loadTelecomTeam();
    const config = { ...agentConfigOf(team, 'billing'), tableName: LOCAL_TABLE_NAME, retentionDays: DAYS };
    const { detections } = createAgentDependencies(config, { documentClient: client, model: unusedModel });
    if (!detections) throw new Error('the billing worker (it has tools) has no detection log');

    const { expiresAt, earliest, latest } = await expiresAfterDays(detections, team.name);

    expect(expiresAt).toBeGreaterThanOrEqual(earliest);
    expect(expiresAt).toBeLessThanOrEqual(latest);
  });

  describe('in a control function, from its environment', () => {
    const variables = {
      [ENV.tableName]: LOCAL_TABLE_NAME,
      [ENV.ttlDays]: String(DAYS),
      AWS_ENDPOINT_URL_DYNAMODB: '',
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    const saved: Record<string, string | undefined> = {};

    beforeAll(() => {
      variables.AWS_ENDPOINT_URL_DYNAMODB = inject('dynamoEndpoint');
      for (const [name, value] of Object.entries(variables)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
    });
    afterAll(() => {
      // Reflect.deleteProperty: the variables a test added must go, not stay as "undefined".
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    });

    it('reaches the stores every control function shares', async () => {
      const { detections } = createControlDependencies('legion-ttl-test');

      const { expiresAt, earliest, latest } = await expiresAfterDays(detections.forTeam('ttl-team'), 'ttl-team');

      expect(expiresAt).toBeGreaterThanOrEqual(earliest);
      expect(expiresAt).toBeLessThanOrEqual(latest);
    });
  });
});
