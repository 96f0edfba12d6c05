/**
 * The Bedrock grant of an agent: exactly the model it is configured to call. A foundation model id
 * is one ARN; a cross-Region inference profile is the profile, plus its foundation model in any
 * Region but only through that profile; an application inference profile ARN likewise, for any
 * foundation model it routes to.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentSettingsFor } from '../../functions/core/agent-settings.ts';
import { DEFAULT_MODEL_IDS } from '../../functions/core/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { AgentFunction } from '../../lib/agent-function.ts';
import { grantModelInvocation } from '../../lib/bedrock-access.ts';
import { cdkJsonContext } from './synth.ts';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const SONNET_PROFILE = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const APP_PROFILE = 'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123';

interface Statement {
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

function newStack(): Stack {
  const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'Standalone', { env: ENV });
}

/** The Bedrock statements of every policy in the stack, with their ARNs rendered (the partition is aws). */
function bedrockStatements(stack: Stack): Statement[] {
  const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
  const statements = policies.flatMap((policy) => (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
  return JSON.parse(JSON.stringify(statements.filter((statement) => JSON.stringify(statement.Action).includes('bedrock:')), (_key, value: unknown) => render(value))) as Statement[];
}

/** `{ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ...]] }` as the string it becomes. */
function render(value: unknown): unknown {
  if (value && typeof value === 'object' && 'Fn::Join' in value) {
    const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.map((part) => (typeof part === 'string' ? part : (part as { Ref?: string }).Ref === 'AWS::Partition' ? 'aws' : JSON.stringify(part))).join(separator);
  }
  return value;
}

describe('Function: grantModelInvocation', () => {
  function grantsFor(modelId: string): Statement[] {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    grantModelInvocation(role, role, modelId);
    return bedrockStatements(stack);
  }

  it("grants a foundation model id in the stack's Region, nothing else", () => {
    expect(grantsFor('anthropic.claude-3-haiku-20240307-v1:0')).toEqual([
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: 'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0' },
    ]);
  });

  it('grants a cross-Region inference profile, and its foundation model in any Region only through that profile', () => {
    const profileArn = `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/${SONNET_PROFILE}`;
    expect(grantsFor(SONNET_PROFILE)).toEqual([
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: profileArn },
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: 'arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
      },
    ]);
  });

  it('grants an application inference profile ARN, and the foundation models it routes to only through it', () => {
    expect(grantsFor(APP_PROFILE)).toEqual([
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: APP_PROFILE },
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: 'arn:aws:bedrock:*::foundation-model/*',
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': APP_PROFILE } },
      },
    ]);
  });

  it("grants a cross-Region profile given as an ARN, and only the one foundation model it routes to", () => {
    const arn = `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/${SONNET_PROFILE}`;
    expect(grantsFor(arn)).toEqual([
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: arn },
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: 'arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': arn } },
      },
    ]);
  });

  it('grants a provisioned model ARN alone', () => {
    const provisioned = 'arn:aws:bedrock:eu-west-1:123456789012:provisioned-model/xyz';
    expect(grantsFor(provisioned)).toEqual([{ Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: provisioned }]);
  });
});

describe('Class: AgentFunction', () => {
  describe('Feature: model grant', () => {
    let team: TeamDefinition;

    beforeAll(async () => {
      team = await loadTeamFile(PATTERNS['supervisor-worker'].exampleTeamFile);
    });

    function grantedModels(agentId: string, ownModel: string | undefined, modelIds = DEFAULT_MODEL_IDS): string[] {
      const stack = newStack();
      const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const withOwn: TeamDefinition = { ...team, agents: team.agents.map((agent) => (agent.id === agentId && ownModel ? { ...agent, model: ownModel } : agent)) };
      const settings = agentSettingsFor(withOwn, agentId, (id) => `arn:aws:lambda:eu-west-1:123456789012:function:${id}`);
      new AgentFunction(stack, 'Agent', { settings, table, modelIds });
      return bedrockStatements(stack).flatMap((statement) => statement.Resource);
    }

    it("grants its tier's model when the agent names none", () => {
      const tier = team.agents.find((agent) => agent.id === 'billing')?.modelTier ?? 'fast';
      expect(grantedModels('billing', undefined, { ...DEFAULT_MODEL_IDS, [tier]: 'anthropic.claude-3-haiku-20240307-v1:0' })).toEqual([
        'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
      ]);
    });

    it("grants the agent's own model instead of its tier's", () => {
      expect(grantedModels('billing', SONNET_PROFILE)).toEqual([
        `arn:aws:bedrock:eu-west-1:123456789012:inference-profile/${SONNET_PROFILE}`,
        'arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
      ]);
    });

    it('grants the configured inference profile of its tier', () => {
      const tier = team.agents.find((agent) => agent.id === 'billing')?.modelTier ?? 'fast';
      const modelIds = { ...DEFAULT_MODEL_IDS, [tier]: 'us.amazon.nova-pro-v1:0' };
      expect(grantedModels('billing', undefined, modelIds)).toEqual([
        'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0',
        'arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0',
      ]);
    });
  });
});
