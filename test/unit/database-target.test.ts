import { describe, expect, it } from 'vitest';
import { databaseTargetFrom, describeDatabaseStart } from '../../bin/cli/runtime-session.ts';
import { UsageError } from '../../functions/core/errors.ts';

describe('Function: databaseTargetFrom', () => {
  it('starts DynamoDB Local when neither variable is set (or both are empty)', () => {
    expect(databaseTargetFrom({})).toEqual({});
    expect(databaseTargetFrom({ LEGION_DYNAMODB_ENDPOINT: '', LEGION_TABLE_NAME: '' })).toEqual({});
  });

  it('reads the endpoint and the table name', () => {
    expect(databaseTargetFrom({ LEGION_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', LEGION_TABLE_NAME: 'legion-dev.v2_a' })).toEqual({
      endpoint: 'http://127.0.0.1:8000',
      tableName: 'legion-dev.v2_a',
    });
  });

  it.each([
    ['an endpoint that is not an http(s) URL', { LEGION_DYNAMODB_ENDPOINT: '127.0.0.1:8000' }, /LEGION_DYNAMODB_ENDPOINT must be an http\(s\) URL .*got "127\.0\.0\.1:8000"/],
    ['a table name DynamoDB refuses', { LEGION_TABLE_NAME: 'my table' }, /LEGION_TABLE_NAME must be 3 to 255 letters, digits, '_', '-' or '\.', got "my table"/],
    ['a table name too short', { LEGION_TABLE_NAME: 'ab' }, /LEGION_TABLE_NAME must be 3 to 255/],
  ])('refuses %s with a UsageError naming the variable', (_, env, message) => {
    expect(() => databaseTargetFrom(env)).toThrow(UsageError);
    expect(() => databaseTargetFrom(env)).toThrow(message);
  });
});

describe('Function: describeDatabaseStart', () => {
  it('says which database a command gets ready', () => {
    expect(describeDatabaseStart(undefined, {})).toBe('Starting DynamoDB Local (in memory)');
    expect(describeDatabaseStart('.legion', {})).toBe('Starting DynamoDB Local (data in .legion)');
    expect(describeDatabaseStart('.legion', { endpoint: 'http://127.0.0.1:8000' })).toBe('Connecting to DynamoDB at http://127.0.0.1:8000');
  });
});
