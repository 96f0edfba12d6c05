/**
 * Every item a DynamoDB query finds, across its pages (lib-dynamodb's paginator), for the stores
 * that read a whole partition or a prefix of it.
 *
 * @example
 * ```ts
 * const items = await queryItems(client, { TableName, KeyConditionExpression: '#pk = :pk', ... });
 * ```
 */
import { type DynamoDBDocumentClient, type QueryCommandInput, paginateQuery } from '@aws-sdk/lib-dynamodb';

export async function queryItems(client: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateQuery({ client }, input)) items.push(...(page.Items ?? []));
  return items;
}
