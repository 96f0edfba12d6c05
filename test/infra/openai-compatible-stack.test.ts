/**
 * A stack whose agents call an OpenAI-compatible server: every agent is told the server and the
 * secret holding its key (never the key), may read that secret only, and gets no Bedrock grant;
 * a stack without the server's URL is refused at synth, naming the agent.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { type Statement, TELECOM_TEAM_FILE, actionsOf, buildApp } from './synth.ts';

const BASE_URL = 'https://llm.example.com/v1';

describe('Class: LegionStack', () => {
  describe('Feature: openai-compatible model provider', () => {
    let team: TeamDefinition;
    /** The stack with the key's secret (synthesized once: the first two tests read it). */
    let withKey: Template;
    beforeAll(async () => {
      team = await loadTeamFile(TELECOM_TEAM_FILE);
      withKey = synthesized('legion/model-api-key');
    });

    function synthesized(modelApiKeySecret?: string): Template {
      const { stack } = buildApp({ teams: [team], modelProvider: 'openai-compatible', modelBaseUrl: BASE_URL, modelIds: { fast: 'llama3.2', balanced: 'llama3.2', deep: 'qwen2.5:14b' }, ...(modelApiKeySecret ? { modelApiKeySecret } : {}) });
      return Template.fromStack(stack);
    }

    function agentFunctions(template: Template): Record<string, unknown>[] {
      return Object.values(template.findResources('AWS::Lambda::Function'))
        .map((fn) => (fn.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {})
        .filter((variables) => ENV.agent in variables);
    }

    function statements(template: Template): Statement[] {
      return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
    }

    it('tells every agent the provider, the server and the secret, and grants no Bedrock model', () => {
      const template = withKey;
      const agents = agentFunctions(template);
      expect(agents).toHaveLength(team.agents.length);
      for (const variables of agents) {
        expect(variables[ENV.modelProvider]).toBe('openai-compatible');
        expect(variables[ENV.modelBaseUrl]).toBe(BASE_URL);
        expect(JSON.stringify(variables[ENV.modelApiKeySecret])).toContain('secret:legion/model-api-key');
      }
      expect(statements(template).flatMap(actionsOf).filter((action) => action.startsWith('bedrock:'))).toEqual([]);
    });

    it('lets each agent read the key secret, and that secret only', () => {
      const template = withKey;
      const reads = statements(template).filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'));
      expect(reads).toHaveLength(team.agents.length);
      for (const statement of reads) expect(JSON.stringify(statement.Resource)).toMatch(/secret:legion\/model-api-key-\?\?\?\?\?\?/);
    });

    it('sends no key and grants no secret when none is given', () => {
      const template = synthesized();
      for (const variables of agentFunctions(template)) expect(variables).not.toHaveProperty(ENV.modelApiKeySecret);
      expect(statements(template).flatMap(actionsOf).filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    });

    it('refuses to synthesize without the base URL, naming the agent and the context value', () => {
      expect(() => buildApp({ teams: [team], modelProvider: 'openai-compatible' })).toThrow(
        /Agent "\S+" of team "telecom-support": the openai-compatible base URL is not set \(context legion:modelBaseUrl\)/,
      );
    });
  });
});
