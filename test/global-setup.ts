/**
 * Starts one DynamoDB Local (the real jar, in memory) for the whole test run; test files reach it
 * through `inject('dynamoEndpoint')` and keep apart by using their own task ids.
 */
import type { TestProject } from 'vitest/node';
import { DynamoDbLocal } from '../local/dynamodb-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const db = await DynamoDbLocal.start();
  project.provide('dynamoEndpoint', db.endpoint);
  return () => db.stop();
}
