import { describe, expect, it } from 'vitest';
import { progressCheckpointSecondsOf, readAgentConfig, readControlConfig, readPublishOutcomeConfig } from '../../functions/core/config.ts';
import { DEFAULT_MODEL_IDS, DEFAULT_PROGRESS_CHECKPOINT_SECONDS, ENV } from '../../functions/core/contract.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { BUNDLED_SYSTEM_PROMPT, BUNDLED_SYSTEM_PROMPT_MARKER, registerBundledModule } from '../../functions/core/bundled-modules.ts';

const AGENT_SETTINGS = {
  team: 'telecom-support',
  pattern: 'supervisor-worker',
  agent: {
    id: 'supervisor',
    role: 'supervisor',
    description: 'Routes requests.',
    capabilities: ['routing'],
    systemPrompt: 'You route requests.',
  },
  roster: [
    {
      id: 'billing',
      description: 'Bills.',
      capabilities: ['bill'],
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:legion-telecom-support-billing',
    },
  ],
  fallbackAnswer: 'Sorry.',
};

/** The environment CDK gives an agent function (a plain object: process.env is never touched). */
function validEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    [ENV.tableName]: 'legion-checkpoints',
    [ENV.agent]: JSON.stringify(AGENT_SETTINGS),
    [ENV.modelProvider]: 'scripted',
    ...overrides,
  };
  // An override of `undefined` removes the variable, as if CDK had not set it.
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
}

/** A copy of `value` without `keys`. */
function omit(value: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)));
}

function configurationErrorOf(env: NodeJS.ProcessEnv): ConfigurationError {
  try {
    readAgentConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected readAgentConfig to throw a ConfigurationError');
}

function problemsOf(error: ConfigurationError): string[] {
  return error.context.problems as string[];
}

describe('Module: config', () => {
  describe('Function: readAgentConfig', () => {
    it('parses a valid environment and applies the agent defaults', () => {
      // Act
      const config = readAgentConfig(validEnv());

      // Assess
      expect(config.tableName).toBe('legion-checkpoints');
      expect(config.team).toBe('telecom-support');
      expect(config.agent).toMatchObject({ id: 'supervisor', role: 'supervisor', modelTier: 'fast', tokenBudget: 4000 });
      expect(config.roster).toEqual(AGENT_SETTINGS.roster);
      expect(config.fallbackAnswer).toBe('Sorry.');
      expect(config.model).toEqual({ provider: 'scripted', modelIds: DEFAULT_MODEL_IDS });
    });

    it('defaults to Bedrock with the default model ids, an empty roster and no fallback answer', () => {
      // Prepare
      const settings = omit(AGENT_SETTINGS, 'roster', 'fallbackAnswer');
      const env = validEnv({ [ENV.modelProvider]: undefined, [ENV.agent]: JSON.stringify(settings) });

      // Act
      const config = readAgentConfig(env);

      // Assess
      expect(config.model.provider).toBe('bedrock');
      expect(config.model.modelIds).toEqual(DEFAULT_MODEL_IDS);
      expect(config.roster).toEqual([]);
      expect(config.fallbackAnswer).toBe('');
    });

    it('reads the model id of every tier from LEGION_MODEL_IDS', () => {
      // Prepare
      const modelIds = { fast: 'model-fast', balanced: 'model-balanced', deep: 'model-deep' };

      // Act
      const config = readAgentConfig(validEnv({ [ENV.modelIds]: JSON.stringify(modelIds) }));

      // Assess
      expect(config.model.modelIds).toEqual(modelIds);
    });

    it('reports a missing table name, naming the variable', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.tableName]: undefined }));

      // Assess
      expect(problemsOf(error)).toEqual(['LEGION_TABLE_NAME is not set']);
      expect(error.message).toContain('LEGION_TABLE_NAME');
    });

    it('treats an empty table name as missing', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.tableName]: '' }));

      // Assess
      expect(problemsOf(error)).toEqual(['LEGION_TABLE_NAME is not set']);
    });

    it('reports a missing LEGION_AGENT', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.agent]: undefined }));

      // Assess
      expect(problemsOf(error)).toEqual(['LEGION_AGENT is not set']);
      expect(error.message).toContain('LEGION_AGENT');
    });

    it('reports LEGION_AGENT that is not JSON', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.agent]: '{team: telecom' }));

      // Assess
      expect(problemsOf(error)).toEqual(['LEGION_AGENT is not valid JSON']);
    });

    it('reports LEGION_AGENT with the wrong shape, with the path of each problem', () => {
      // Prepare
      const settings = { ...AGENT_SETTINGS, agent: { ...AGENT_SETTINGS.agent, id: 'Not Valid' }, roster: [{ id: 'billing' }] };

      // Act
      const error = configurationErrorOf(validEnv({ [ENV.agent]: JSON.stringify(settings) }));

      // Assess
      expect(problemsOf(error)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^LEGION_AGENT: agent\.id: /),
          expect.stringMatching(/^LEGION_AGENT: roster\.0\.functionArn: /),
        ]),
      );
    });

    it('reports an unknown model provider, naming LEGION_MODEL_PROVIDER', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.modelProvider]: 'openai' }));

      // Assess
      expect(problemsOf(error)).toEqual([expect.stringMatching(/^LEGION_MODEL_PROVIDER: .*"bedrock".*"scripted"/)]);
      expect(error.message).toContain('LEGION_MODEL_PROVIDER');
    });

    it('reports LEGION_MODEL_IDS that is not JSON', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.modelIds]: 'fast=haiku' }));

      // Assess
      expect(problemsOf(error)).toEqual(['LEGION_MODEL_IDS is not valid JSON']);
    });

    it('reports LEGION_MODEL_IDS without every tier, naming the variable and the tier', () => {
      // Act
      const error = configurationErrorOf(validEnv({ [ENV.modelIds]: JSON.stringify({ fast: 'model-fast' }) }));

      // Assess
      expect(problemsOf(error)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^LEGION_MODEL_IDS: balanced: /),
          expect.stringMatching(/^LEGION_MODEL_IDS: deep: /),
        ]),
      );
    });

    it('reads the progress checkpoint interval; by default a third of the agent timeout, so that one fires before the timeout', () => {
      // Prepare: the agent has the default timeout of a team definition
      const config = readAgentConfig(validEnv());

      // Assess
      expect(config.agent.timeoutSeconds).toBe(30);
      expect(config.progressCheckpointSeconds).toBe(10);
      expect(config.progressCheckpointSeconds).toBeLessThan(config.agent.timeoutSeconds);
      expect(readAgentConfig(validEnv({ [ENV.progressCheckpointSeconds]: '5' })).progressCheckpointSeconds).toBe(5);
      expect(() => readAgentConfig(validEnv({ [ENV.progressCheckpointSeconds]: 'often' }))).toThrow(/LEGION_PROGRESS_CHECKPOINT_SECONDS/);
    });

    it('caps the default progress checkpoint interval at DEFAULT_PROGRESS_CHECKPOINT_SECONDS for long timeouts', () => {
      // Assess
      expect(progressCheckpointSecondsOf({ agent: { timeoutSeconds: 110 } })).toBe(DEFAULT_PROGRESS_CHECKPOINT_SECONDS);
      expect(progressCheckpointSecondsOf({ agent: { timeoutSeconds: 6 } })).toBe(2);
      for (let timeoutSeconds = 1; timeoutSeconds <= 110; timeoutSeconds += 1) {
        expect(progressCheckpointSecondsOf({ agent: { timeoutSeconds } })).toBeLessThan(timeoutSeconds);
      }
    });

    it('reports every problem at once', () => {
      // Act
      const error = configurationErrorOf({ [ENV.modelProvider]: 'openai' });

      // Assess
      expect(problemsOf(error)).toEqual([
        'LEGION_TABLE_NAME is not set',
        'LEGION_AGENT is not set',
        expect.stringMatching(/^LEGION_MODEL_PROVIDER: /),
      ]);
    });

    it('reads only the environment it is given', () => {
      // Prepare: even if the process had a valid configuration, an empty env object must fail
      const env: NodeJS.ProcessEnv = {};

      // Act
      const error = configurationErrorOf(env);

      // Assess
      expect(problemsOf(error)).toEqual(['LEGION_TABLE_NAME is not set', 'LEGION_AGENT is not set']);
    });
  });
});

describe('Function: readAgentConfig', () => {
  describe('Feature: a system prompt bundled with the function code', () => {
    const bundledEnv = validEnv({ [ENV.agent]: JSON.stringify({ ...AGENT_SETTINGS, agent: { ...AGENT_SETTINGS.agent, systemPrompt: BUNDLED_SYSTEM_PROMPT_MARKER } }) });

    it('takes the prompt the bundle registered in place of the marker', () => {
      const longPrompt = 'You route requests. '.repeat(200);
      registerBundledModule(BUNDLED_SYSTEM_PROMPT, { systemPrompt: longPrompt });
      try {
        expect(readAgentConfig(bundledEnv).agent.systemPrompt).toBe(longPrompt);
      } finally {
        // The unit project shares one module graph per worker: leave no prompt behind.
        registerBundledModule(BUNDLED_SYSTEM_PROMPT, {});
      }
    });

    it('takes the tools the bundle registered in place of the empty list of the environment, checked like a team file', () => {
      const tools = [{ lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', name: 'lookup_plan', description: 'A plan.', inputSchema: { type: 'object' } }];
      registerBundledModule(BUNDLED_SYSTEM_PROMPT, { systemPrompt: 'You route requests.', tools });
      try {
        expect(readAgentConfig(bundledEnv).agent.tools).toEqual(tools);
        registerBundledModule(BUNDLED_SYSTEM_PROMPT, { systemPrompt: 'You route requests.', tools: [{ lambda: 'lookup-plan' }] });
        expect(problemsOf(configurationErrorOf(bundledEnv))).toEqual([expect.stringMatching(/^the tools bundled with the function code are not valid: 0: .+ \(deploy the function again\)$/)]);
      } finally {
        registerBundledModule(BUNDLED_SYSTEM_PROMPT, {});
      }
    });

    it('fails closed, naming the variable, when the bundle registered no prompt', () => {
      expect(problemsOf(configurationErrorOf(bundledEnv))).toEqual([
        `${ENV.agent}: the system prompt is bundled with the function code, but the bundle registers none (deploy the function again)`,
      ]);
    });
  });
});

describe('Function: readAgentConfig', () => {
  describe('Feature: openai-compatible model provider', () => {
    const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:legion/model-api-key-AbCdEf';

    it('reads the base URL and the API key secret', () => {
      const config = readAgentConfig(validEnv({ [ENV.modelProvider]: 'openai-compatible', [ENV.modelBaseUrl]: 'https://llm.example.com/v1', [ENV.modelApiKeySecret]: SECRET_ARN }));
      expect(config.model).toMatchObject({ provider: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', apiKeySecretArn: SECRET_ARN });
    });

    it('names the variable when the base URL is missing, and when the secret is not an ARN', () => {
      expect(problemsOf(configurationErrorOf(validEnv({ [ENV.modelProvider]: 'openai-compatible' })))).toEqual([`${ENV.modelBaseUrl}: openai-compatible needs the API base URL`]);
      const problems = problemsOf(configurationErrorOf(validEnv({ [ENV.modelProvider]: 'openai-compatible', [ENV.modelBaseUrl]: 'https://llm.example.com/v1', [ENV.modelApiKeySecret]: 'legion/model-api-key' })));
      expect(problems).toEqual([`${ENV.modelApiKeySecret}: must be a Secrets Manager secret ARN`]);
    });
  });
});

describe('Module: config', () => {
  describe('Feature: LEGION_TTL_DAYS', () => {
    const machines = JSON.stringify([{ team: 't', pattern: 'pipeline', stateMachineArn: 'arn:x' }]);
    const publishEnv = (ttl?: string): NodeJS.ProcessEnv => ({ [ENV.tableName]: 'legion-checkpoints', [ENV.eventBusName]: 'legion', [ENV.stateMachines]: machines, ...(ttl === undefined ? {} : { [ENV.ttlDays]: ttl }) });

    it('gives every writer of task items the days CDK set, and the stores their own default when it set none', () => {
      expect(readAgentConfig(validEnv({ [ENV.ttlDays]: '30' })).retentionDays).toBe(30);
      expect(readControlConfig({ [ENV.tableName]: 'legion-checkpoints', [ENV.ttlDays]: '30' }).retentionDays).toBe(30);
      expect(readPublishOutcomeConfig(publishEnv('30')).retentionDays).toBe(30);
      expect(readAgentConfig(validEnv()).retentionDays).toBeUndefined();
      expect(readControlConfig({ [ENV.tableName]: 'legion-checkpoints' }).retentionDays).toBeUndefined();
      expect(readPublishOutcomeConfig(publishEnv()).retentionDays).toBeUndefined();
    });

    it('fails closed on a value that is not a whole number of days, naming the variable and the value', () => {
      const problem = `${ENV.ttlDays} must be a whole number of days, 1 or more (got "0")`;
      expect(problemsOf(configurationErrorOf(validEnv({ [ENV.ttlDays]: '0' })))).toEqual([problem]);
      expect(() => readControlConfig({ [ENV.tableName]: 'legion-checkpoints', [ENV.ttlDays]: '0' })).toThrow(ConfigurationError);
      expect(() => readPublishOutcomeConfig(publishEnv('seven'))).toThrow(/LEGION_TTL_DAYS must be a whole number of days, 1 or more \(got "seven"\)/);
    });
  });
});
