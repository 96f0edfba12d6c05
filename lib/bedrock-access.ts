/**
 * The IAM grant that lets a function call one Bedrock model, and nothing more. Converse needs
 * `bedrock:InvokeModel` on what the request names; a cross-Region inference profile (which current
 * Claude models on Bedrock require) also needs it on the foundation model the profile routes to, in
 * every Region the profile may route to. That second statement is scoped by the
 * `bedrock:InferenceProfileArn` condition: the foundation model may be invoked only through the
 * configured profile, never directly.
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { bedrockModelTarget } from '../functions/models/bedrock-model-id.ts';

const INVOKE = ['bedrock:InvokeModel'];

/**
 * Grants `grantee` (a construct's function) the right to invoke `modelId`: a foundation model id, an
 * inference profile id or an ARN.
 *
 * @example
 * ```ts
 * grantModelInvocation(agentFunction, agentFunction.function, 'us.anthropic.claude-sonnet-4-5-20250929-v1:0');
 * ```
 */
export function grantModelInvocation(scope: Construct, grantee: iam.IGrantable, modelId: string): void {
  const stack = Stack.of(scope);
  const target = bedrockModelTarget(modelId);
  if (target.kind === 'foundation-model') {
    iam.Grant.addToPrincipal({ grantee, actions: INVOKE, resourceArns: [foundationModelArn(stack, target.modelId, stack.region)] });
    return;
  }
  const profileArn = target.kind === 'arn' ? target.arn : target.arn ?? stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: target.profileId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  iam.Grant.addToPrincipal({ grantee, actions: INVOKE, resourceArns: [profileArn] });
  // An ARN that is no inference profile (a provisioned model) routes nowhere else.
  if (target.kind === 'arn' && !/:(application-)?inference-profile\//.test(target.arn)) return;
  const routedTo = foundationModelArn(stack, target.kind === 'arn' ? '*' : target.foundationModelId, '*');
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: INVOKE, resources: [routedTo], conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } } }),
  );
  Validations.of(scope).acknowledge({
    // cdk-nag names a resource with its pseudo parameters written out.
    id: `AwsSolutions-IAM5[Resource::${routedTo.replace(stack.partition, '<AWS::Partition>')}]`,
    reason: 'An inference profile routes to its foundation model in several Regions; the statement allows it only through the configured profile (bedrock:InferenceProfileArn).',
  });
}

function foundationModelArn(stack: Stack, modelId: string, region: string): string {
  return stack.formatArn({ service: 'bedrock', region, account: '', resource: 'foundation-model', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
}
