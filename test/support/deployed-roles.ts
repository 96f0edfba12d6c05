/**
 * Test support: the identity policies of each Lambda role in a synthesized Legion stack, with
 * every CloudFormation intrinsic resolved to a concrete ARN in a fixed fake account and region, so
 * that an IAM policy simulator can evaluate calls against them. Each role is found by the local
 * function that stands in for its Lambda (`legion-<team>-<agent>`, `legion-control-<name>`, ...).
 *
 * @example
 * ```ts
 * const { stack } = buildApp({ teams });
 * const deployment = new Deployment(stack);
 * deployment.roleOf('legion-telecom-support-billing')?.policies; // [{ name, document: { Statement: [...] } }]
 * deployment.tableArn('legion-checkpoints'); // 'arn:aws:dynamodb:us-east-1:123456789012:table/legion-checkpoints'
 * ```
 */
import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { CONTROL_FUNCTIONS } from '../../functions/core/contract.ts';
import { AuctionTeam } from '../../lib/auction-team.ts';
import { Stack } from 'aws-cdk-lib';
import type { Legion } from '../../lib/legion.ts';
import type { LegionStack } from '../../lib/legion-stack.ts';
import { LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { logicalIdOf, referencedIds, resourcesOf, type Resource, type TemplateJson } from '../infra/synth.ts';

/** The fake account and region every ARN of the deployment is resolved in. */
export const FAKE_ACCOUNT = '123456789012';
export const FAKE_REGION = 'us-east-1';

/** The ARN of a Bedrock cross-Region inference profile in the fake deployment's region and account. */
export function inferenceProfileArn(profileId: string): string {
  return `arn:aws:bedrock:${FAKE_REGION}:${FAKE_ACCOUNT}:inference-profile/${profileId}`;
}

/** A policy statement as IAM reads it, intrinsics resolved. */
export interface PolicyStatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** One identity policy of a role, intrinsics resolved. */
export interface ResolvedPolicy {
  /** The logical id of the AWS::IAM::Policy (or `<role>/<name>` for a policy inline in the role). */
  name: string;
  document: { Version: string; Statement: PolicyStatementJson[] };
}

/** The execution role of one deployed Lambda function. */
export interface DeployedRole {
  /** The local function that runs the same handler. */
  functionName: string;
  roleLogicalId: string;
  roleArn: string;
  policies: ResolvedPolicy[];
  /** Set for an agent's role: its team and agent id. */
  agent?: { team: string; agentId: string };
}

export class Deployment {
  public readonly template: TemplateJson;
  /** Each role, by the local function name of its Lambda. */
  public readonly roles = new Map<string, DeployedRole>();
  private readonly checkpointTableId: string;
  private readonly stateMachineIds = new Map<string, string>();

  /** @param source - a LegionStack, or the Legion of a stack of one's own */
  public constructor(source: LegionStack | Legion) {
    const stack = 'legion' in source ? source.legion : source;
    this.template = Template.fromStack(Stack.of(stack)).toJSON() as TemplateJson;
    this.checkpointTableId = logicalIdOf(stack.checkpoints.table);
    for (const [teamName, team] of Object.entries(stack.teams)) {
      this.stateMachineIds.set(teamName, logicalIdOf(team.stateMachine));
      for (const [agentId, agent] of Object.entries(team.agents)) this.addRole(`legion-${teamName}-${agentId}`, agent.role, { team: teamName, agentId });
      if (team instanceof AuctionTeam) this.addRole(`legion-${teamName}-collect-bid`, team.collector.role);
    }
    for (const name of CONTROL_FUNCTIONS) {
      const role = stack.control.functions[name].role;
      if (!role) throw new Error(`control function ${name} has no role`);
      this.addRole(`legion-control-${name}`, role);
    }
    this.addRole('legion-control-approval-keeper', stack.approvalKeeper.function.role);
    this.addRole('legion-control-publish-outcome', stack.events.publishOutcome.role);
  }

  /** The deployed role of the Lambda a local function stands in for. */
  public roleOf(functionName: string): DeployedRole | undefined {
    return this.roles.get(functionName);
  }

  /** The ARN of a table (the checkpoint table has the local table's name), or of one of its indexes. */
  public tableArn(table: string, index?: string): string {
    return `arn:aws:dynamodb:${FAKE_REGION}:${FAKE_ACCOUNT}:table/${table}${index ? `/index/${index}` : ''}`;
  }

  /** The ARN of the Legion event bus (the local runtime's bus stands in for it, whatever its name). */
  public eventBusArn(): string {
    const buses = Object.keys(resourcesOf(this.template, 'AWS::Events::EventBus'));
    if (buses.length !== 1) throw new Error(`expected one event bus in the stack, found ${buses.length}`);
    return this.resolveText({ 'Fn::GetAtt': [buses[0], 'Arn'] });
  }

  /** The ARN of a team's state machine. */
  public stateMachineArn(team: string): string {
    const id = this.stateMachineIds.get(team);
    if (!id) throw new Error(`team ${team} is not deployed`);
    return this.resolveText({ Ref: id });
  }

  /** The ARN of a Bedrock foundation model in the deployment's region. */
  public foundationModelArn(modelId: string): string {
    return `arn:aws:bedrock:${FAKE_REGION}::foundation-model/${modelId}`;
  }

  /** The ARN of a Bedrock cross-Region inference profile in the deployment's region and account. */
  public inferenceProfileArn(profileId: string): string {
    return inferenceProfileArn(profileId);
  }

  /** An intrinsic (or a structure holding some) with every Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split resolved. */
  public resolve(value: unknown): unknown {
    return resolveIntrinsics(value, (id) => this.refOf(id), (id, attribute) => this.attributeOf(id, attribute));
  }

  private resolveText(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private resolveDocument(value: unknown): ResolvedPolicy['document'] {
    return this.resolve(value) as ResolvedPolicy['document'];
  }

  private addRole(functionName: string, role: iam.IRole, agent?: DeployedRole['agent']): void {
    const roleLogicalId = logicalIdOf(role);
    const roleResource = this.resource(roleLogicalId);
    const attached = Object.entries(resourcesOf(this.template, 'AWS::IAM::Policy'))
      .filter(([, policy]) => referencedIds(policy.Properties?.Roles).includes(roleLogicalId))
      .map(([id, policy]) => ({ name: id, document: this.resolveDocument(policy.Properties?.PolicyDocument) }));
    const inline = ((roleResource.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]).map((policy) => ({
      name: `${roleLogicalId}/${policy.PolicyName}`,
      document: this.resolveDocument(policy.PolicyDocument),
    }));
    const managed = ((roleResource.Properties?.ManagedPolicyArns ?? []) as unknown[]).map((arn) => {
      const [policyId] = referencedIds(arn);
      const policy = policyId === undefined ? undefined : this.template.Resources[policyId];
      // An AWS managed policy's document is not in the template: it cannot be checked here.
      if (!policy || policy.Type !== 'AWS::IAM::ManagedPolicy') throw new Error(`role of ${functionName} has a managed policy the template does not define: ${JSON.stringify(arn)}`);
      return { name: policyId ?? '', document: this.resolveDocument(policy.Properties?.PolicyDocument) };
    });
    this.roles.set(functionName, {
      functionName,
      roleLogicalId,
      roleArn: `arn:aws:iam::${FAKE_ACCOUNT}:role/${roleLogicalId}`,
      policies: [...attached, ...inline, ...managed],
      ...(agent ? { agent } : {}),
    });
  }

  private resource(id: string): Resource {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`no resource ${id} in the template`);
    return resource;
  }

  /** What `Ref` returns for each resource type Legion's policies refer to. */
  private refOf(id: string): string {
    const resource = this.resource(id);
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return id === this.checkpointTableId ? LOCAL_TABLE_NAME : id;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:${id}`;
      case 'AWS::Events::EventBus':
        return this.resolveText(resource.Properties?.Name);
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${FAKE_REGION}:${FAKE_ACCOUNT}:${id}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${id}`;
      default:
        return id;
    }
  }

  /** What `Fn::GetAtt` returns: ARNs in the fake account, other attributes as `<id>.<attribute>`. */
  private attributeOf(id: string, attribute: string): string {
    const resource = this.resource(id);
    if (attribute !== 'Arn') return `${id}.${attribute}`;
    const base = `${FAKE_REGION}:${FAKE_ACCOUNT}`;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return this.tableArn(this.refOf(id));
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${base}:event-bus/${this.refOf(id)}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${base}:function:${id}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${base}:log-group:${id}:*`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${base}:${id}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${base}:key/${id}`;
      case 'AWS::StepFunctions::StateMachine':
        return this.refOf(id);
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${FAKE_ACCOUNT}:role/${id}`;
      default:
        throw new Error(`no fake ARN for ${resource.Type} (${id}): add one to Deployment.attributeOf`);
    }
  }
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': FAKE_REGION,
  'AWS::AccountId': FAKE_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Legion',
};

/** Resolves the intrinsics CDK writes into policies, recursively; throws on any other. */
function resolveIntrinsics(
  value: unknown,
  ref: (id: string) => string,
  getAtt: (id: string, attribute: string) => string,
): unknown {
  const again = (inner: unknown): unknown => resolveIntrinsics(inner, ref, getAtt);
  const text = (inner: unknown): string => {
    const resolved = again(inner);
    if (typeof resolved !== 'string') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  };
  if (Array.isArray(value)) return value.map(again);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const [key] = Object.keys(object);
  if (Object.keys(object).length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
    const argument = object[key];
    switch (key) {
      case 'Ref': {
        const id = String(argument);
        return PSEUDO_PARAMETERS[id] ?? ref(id);
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = (typeof argument === 'string' ? argument.split('.') : argument) as [string, string];
        return getAtt(id, attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown[]];
        return parts.map(text).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = argument as [number | string, unknown];
        const items = again(list) as unknown[];
        return items[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, source] = argument as [string, unknown];
        return text(source).split(separator);
      }
      case 'Fn::Sub': {
        const [template, variables] = (typeof argument === 'string' ? [argument, {}] : argument) as [string, Record<string, unknown>];
        return template.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
          if (name in variables) return text(variables[name]);
          if (PSEUDO_PARAMETERS[name] !== undefined) return PSEUDO_PARAMETERS[name];
          const [id = '', attribute] = name.split('.');
          return attribute ? getAtt(id, attribute) : ref(id);
        });
      }
      default:
        throw new Error(`cannot resolve ${key} in ${JSON.stringify(value)}: add it to resolveIntrinsics`);
    }
  }
  return Object.fromEntries(Object.entries(object).map(([name, inner]) => [name, again(inner)]));
}

