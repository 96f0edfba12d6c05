/**
 * Test support: connects a describe block to the DynamoDB Local of the test run (started once by
 * test/global-setup.ts) before its tests, hands over the document client, and disconnects after.
 *
 * @example
 * ```ts
 * let client: DynamoDBDocumentClient;
 * onDynamoDbLocal((connected) => { client = connected; });
 * ```
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, inject } from 'vitest';
import { DynamoDbLocal } from '../../local/dynamodb-local.ts';

export function onDynamoDbLocal(connected: (client: DynamoDBDocumentClient) => void): void {
  let db: DynamoDbLocal | undefined;
  beforeAll(async () => {
    db = await DynamoDbLocal.connect(inject('dynamoEndpoint'));
    connected(db.documentClient());
  });
  afterAll(async () => {
    await db?.stop();
  });
}
