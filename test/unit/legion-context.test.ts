import { App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_IDS, PATTERN_NAMES } from '../../functions/core/contract.ts';
import { readLegionContext } from '../../lib/legion-context.ts';

const contextOf = (context: Record<string, unknown>) => readLegionContext(new App({ context }).node);

describe('Function: readLegionContext', () => {
  it('gives the defaults for an empty context: Bedrock, a month of logs, no execution data, no model calls logged, the stores\' TTL, every event rule', () => {
    expect(contextOf({})).toEqual({ modelProvider: 'bedrock', logRetention: logs.RetentionDays.ONE_MONTH, logExecutionData: false, logModelIo: false, eventRules: [...PATTERN_NAMES], modelIds: DEFAULT_MODEL_IDS, alarmOverrides: {} });
  });

  it('reads values as `cdk deploy -c` gives them (strings) and as cdk.json does (typed)', () => {
    expect(contextOf({
      'legion:modelProvider': 'openai-compatible',
      'legion:modelBaseUrl': 'https://llm.example.com/v1',
      'legion:modelApiKeySecret': 'legion/model-api-key',
      'legion:agentReservedConcurrency': '5',
      'legion:logRetentionDays': '7',
      'legion:logExecutionData': 'true',
      'legion:logModelIo': true,
      'legion:modelIds': 'fast=small,deep=big',
      'legion:alarms': { CheckpointFailureRate: { threshold: 10 } },
      'legion:alarmEmail': 'ops@example.com',
      'legion:ttlDays': '30',
      'legion:eventRules': 'pipeline, auction',
    })).toEqual({
      modelProvider: 'openai-compatible',
      modelBaseUrl: 'https://llm.example.com/v1',
      modelApiKeySecret: 'legion/model-api-key',
      agentReservedConcurrency: 5,
      logRetention: logs.RetentionDays.ONE_WEEK,
      logExecutionData: true,
      logModelIo: true,
      modelIds: { ...DEFAULT_MODEL_IDS, fast: 'small', deep: 'big' },
      alarmOverrides: { CheckpointFailureRate: { threshold: 10 } },
      alarmEmail: 'ops@example.com',
      ttlDays: 30,
      eventRules: ['pipeline', 'auction'],
    });
    expect(contextOf({ 'legion:ttlDays': 90, 'legion:eventRules': ['supervisor-worker'] })).toMatchObject({ ttlDays: 90, eventRules: ['supervisor-worker'] });
    expect(contextOf({ 'legion:eventRules': 'none' }).eventRules).toEqual([]);
    expect(contextOf({ 'legion:eventRules': 'all' }).eventRules).toEqual([...PATTERN_NAMES]);
  });

  it('refuses a TTL that is not a whole number of days, and an event rule of no pattern, naming the key and the value', () => {
    expect(() => contextOf({ 'legion:ttlDays': '0' })).toThrow('context legion:ttlDays must be a whole number of days, 1 or more (got "0")');
    expect(() => contextOf({ 'legion:ttlDays': '1.5' })).toThrow(/legion:ttlDays must be a whole number of days/);
    expect(() => contextOf({ 'legion:ttlDays': true })).toThrow(/legion:ttlDays must be a whole number of days, 1 or more \(got true\)/);
    expect(() => contextOf({ 'legion:ttlDays': 'thirty' })).toThrow(/legion:ttlDays must be a whole number of days/);
    expect(() => contextOf({ 'legion:eventRules': ' , ' })).toThrow(/legion:eventRules must be all, none, or pattern names/);
    expect(() => contextOf({ 'legion:eventRules': 'pipeline,piplene' })).toThrow(/context legion:eventRules must be all, none, or pattern names \(supervisor-worker, .*\) \(got "pipeline,piplene"\)/);
  });

  it('refuses every value that does not fit at once, naming each key, what it got and what it takes', () => {
    expect(() => contextOf({ 'legion:modelProvider': 'gpt', 'legion:agentReservedConcurrency': '0', 'legion:logRetentionDays': 8, 'legion:logModelIo': 'on' })).toThrow(
      new RegExp([
        '^Invalid Legion context: context legion:modelProvider must be bedrock, openai-compatible or scripted \\(got "gpt"\\)',
        'context legion:agentReservedConcurrency must be a positive integer \\(got "0"\\)',
        "context legion:logRetentionDays must be one of CloudWatch's retention periods: 1, 3, 5, .* \\(got 8\\)",
        'context legion:logModelIo must be true or false \\(got "on"\\)$',
      ].join('; ')),
    );
  });
});
