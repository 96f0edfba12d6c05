/**
 * Every `legion:*` CDK context value of the stack, read and checked in one place: what
 * `cdk deploy -c key=value` (strings) or `cdk.json` (typed values) says, as LegionStack props. A
 * prop given in code wins over its context value. A value that does not fit is refused at synth,
 * naming the key, what it got and what it takes. (`legion:teams`, which the CDK app reads to load
 * the team files, is lib/context-teams.ts.)
 *
 * | key | takes | default |
 * | --- | --- | --- |
 * | `legion:modelProvider` | `bedrock`, `openai-compatible`, `scripted` | `bedrock` |
 * | `legion:modelIds` | see functions/models/model-ids.ts | DEFAULT_MODEL_IDS |
 * | `legion:modelBaseUrl` | an http(s) URL (openai-compatible) | none |
 * | `legion:modelApiKeySecret` | a Secrets Manager secret name or ARN | none |
 * | `legion:agentReservedConcurrency` | a positive integer | none |
 * | `legion:logRetentionDays` | one of CloudWatch's retention periods in days | 30 |
 * | `legion:logExecutionData` | `true` or `false` | `false` |
 * | `legion:logModelIo` | `true` or `false` | `false` |
 * | `legion:alarms`, `legion:alarmEmail` | see functions/observability/alarms.ts | none |
 *
 * @example
 * ```ts
 * const settings = readLegionContext(app.node); // { modelProvider: 'bedrock', logExecutionData: false, ... }
 * ```
 */
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { z } from 'zod';
import { MODEL_PROVIDERS } from '../functions/core/config.ts';
import { type ModelTier, PATTERN_NAMES, type PatternName } from '../functions/core/contract.ts';
import { MODEL_IDS_CONTEXT, modelIdsFromContext } from '../functions/models/model-ids.ts';
import { ALARM_EMAIL_CONTEXT, ALARM_OVERRIDES_CONTEXT, type AlarmOverride, parseAlarmEmail, parseAlarmOverrides } from '../functions/observability/alarms.ts';
import type { ModelProviderName } from './agent-function.ts';

/** The keys, as `cdk deploy -c` takes them. */
export const LEGION_CONTEXT = {
  modelProvider: 'legion:modelProvider',
  modelBaseUrl: 'legion:modelBaseUrl',
  modelApiKeySecret: 'legion:modelApiKeySecret',
  agentReservedConcurrency: 'legion:agentReservedConcurrency',
  logRetentionDays: 'legion:logRetentionDays',
  logExecutionData: 'legion:logExecutionData',
  logModelIo: 'legion:logModelIo',
  ttlDays: 'legion:ttlDays',
  eventRules: 'legion:eventRules',
} as const;

/** What the context says, with the defaults filled in where Legion has one. */
export interface LegionContextSettings {
  modelProvider: ModelProviderName;
  modelBaseUrl?: string | undefined;
  modelApiKeySecret?: string | undefined;
  agentReservedConcurrency?: number | undefined;
  logRetention: logs.RetentionDays;
  logExecutionData: boolean;
  logModelIo: boolean;
  /** Days a task's items are kept before DynamoDB's TTL may delete them; undefined: CHECKPOINT_TABLE.retentionDays. */
  ttlDays?: number | undefined;
  /** The patterns whose RunRequested rule exists (for the patterns of the teams deployed). */
  eventRules: readonly PatternName[];
  /** `legion:modelIds` over DEFAULT_MODEL_IDS (functions/models/model-ids.ts). */
  modelIds: Record<ModelTier, string>;
  /** `legion:alarms` (functions/observability/alarms.ts). */
  alarmOverrides: Record<string, AlarmOverride>;
  /** `legion:alarmEmail`. */
  alarmEmail?: string | undefined;
}

/** What a TTL in days must be, for the context and for a Legion's `ttlDays` prop alike. */
export const TTL_DAYS_RULE = 'must be a whole number of days, 1 or more';
export function isTtlDays(days: number): boolean {
  return Number.isInteger(days) && days >= 1;
}

/** `-c key=true` arrives as a string, cdk.json's `true` as a boolean. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((text) => text === 'true')], { error: 'must be true or false' });

/** CloudWatch's retention periods in days (INFINITE, 9999, left out: logs are never kept forever by context). */
const RETENTION_DAYS: readonly logs.RetentionDays[] = Object.values(logs.RetentionDays).filter((days): days is logs.RetentionDays => typeof days === 'number' && days !== logs.RetentionDays.INFINITE);

const ContextSchema = z.object({
  modelProvider: z.enum(MODEL_PROVIDERS, { error: `must be ${MODEL_PROVIDERS.join(', ').replace(/, (?=[^,]*$)/, ' or ')}` }).default('bedrock'),
  modelBaseUrl: z.string({ error: 'must be a URL' }).optional(),
  modelApiKeySecret: z.string({ error: 'must be a Secrets Manager secret name or ARN' }).min(1, 'must be a Secrets Manager secret name or ARN').optional(),
  agentReservedConcurrency: z.coerce.number({ error: 'must be a positive integer' }).int('must be a positive integer').min(1, 'must be a positive integer').optional(),
  logRetentionDays: z.coerce
    .number({ error: 'must be a number of days' })
    .refine((days) => (RETENTION_DAYS as readonly number[]).includes(days), `must be one of CloudWatch's retention periods: ${RETENTION_DAYS.join(', ')}`)
    .default(30),
  logExecutionData: flag.default(false),
  logModelIo: flag.default(false),
  ttlDays: z.union([z.number(), z.string()], { error: TTL_DAYS_RULE }).transform(Number).pipe(z.number({ error: TTL_DAYS_RULE }).refine(isTtlDays, TTL_DAYS_RULE)).optional(),
  eventRules: z
    .union([z.string(), z.array(z.string())], { error: `must be all, none, or pattern names (${PATTERN_NAMES.join(', ')})` })
    .transform((value) => patternList(value))
    .pipe(z.array(z.enum(PATTERN_NAMES, { error: `must be all, none, or pattern names (${PATTERN_NAMES.join(', ')})` })))
    .default([...PATTERN_NAMES]),
});

/** `all`, `none`, `pipeline,auction` (from `-c`) or a list (from cdk.json); an empty text is no answer (say `none`). */
function patternList(value: string | string[]): string[] {
  const names = (Array.isArray(value) ? value : value.split(',')).map((name) => name.trim()).filter((name) => name.length > 0);
  if (!Array.isArray(value) && names.length === 0) return [value];
  if (names.length === 1 && names[0] === 'all') return [...PATTERN_NAMES];
  if (names.length === 1 && names[0] === 'none') return [];
  return names;
}

/** The retention period of a number of days that is one (checked by the schema). */
function retentionOf(days: number): logs.RetentionDays {
  const found = RETENTION_DAYS.find((period) => (period as number) === days);
  if (found === undefined) throw new Error(`internal: ${String(days)} days is not a CloudWatch retention period`);
  return found;
}

/**
 * Reads the `legion:*` context of a construct's tree.
 *
 * @throws Error naming every key whose value does not fit
 */
export function readLegionContext(node: Node): LegionContextSettings {
  const raw = Object.fromEntries(Object.entries(LEGION_CONTEXT).map(([field, key]) => [field, node.tryGetContext(key) as unknown]));
  const parsed = ContextSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0]) as keyof typeof LEGION_CONTEXT;
      return `context ${LEGION_CONTEXT[field]} ${issue.message} (got ${JSON.stringify(raw[field])})`;
    });
    throw new Error(`Invalid Legion context: ${problems.join('; ')}`);
  }
  const { logRetentionDays, ...settings } = parsed.data;
  const alarmEmail = parseAlarmEmail(node.tryGetContext(ALARM_EMAIL_CONTEXT));
  return {
    ...settings,
    logRetention: retentionOf(logRetentionDays),
    // Their own parsers (they also read cdk.json objects) throw errors that name the key the same way.
    modelIds: modelIdsFromContext(node.tryGetContext(MODEL_IDS_CONTEXT)),
    alarmOverrides: parseAlarmOverrides(node.tryGetContext(ALARM_OVERRIDES_CONTEXT)),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
  };
}
