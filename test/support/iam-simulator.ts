/**
 * Test support: evaluates one AWS call against a role's identity policies with an offline IAM
 * policy simulator (`@cloud-copilot/iam-simulate`), and says which statement was missing when the
 * role would refuse it. Also lists what a role grants, to find grants no call uses.
 *
 * @example
 * ```ts
 * const verdict = await simulateCall(role, { action: 'dynamodb:DeleteItem', resourceArn: tableArn, context: { 'dynamodb:LeadingKeys': ['TEAM#t#TASK#1'] } });
 * if (!verdict.allowed) console.log(verdict.why);
 * ```
 */
import { type RunSimulationResults, type Simulation, type StatementExplain, runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { FAKE_ACCOUNT, type DeployedRole, type PolicyStatementJson } from './deployed-roles.ts';

/** A call as IAM sees it. */
export interface IamRequest {
  action: string;
  resourceArn: string;
  /** Condition keys and their values (e.g. `dynamodb:LeadingKeys`). */
  context: Record<string, string[]>;
}

export type Verdict = { allowed: true } | { allowed: false; why: string };

/** One action on one resource pattern that a role's Allow statement grants. */
export interface Grant {
  policy: string;
  /** The statement's Sid, or its position in the policy. */
  statement: string;
  action: string;
  resource: string;
  condition?: PolicyStatementJson['Condition'];
}

/**
 * Step Functions' SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat have no resource type in
 * the Service Authorization Reference, so the simulator's validation asks for `*`. AWS does
 * authorize them against the state machine whose execution issued the token (an AccessDenied
 * names that ARN; see aws/aws-cdk#8486), and Legion grants them on its machines only: these are
 * evaluated without the validation.
 */
const UNVALIDATED_ACTIONS = new Set(['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']);

/** Whether the role's identity policies allow the call; if not, why (the statements that came closest). */
export async function simulateCall(role: DeployedRole, request: IamRequest): Promise<Verdict> {
  const simulation: Simulation = {
    request: {
      principal: role.roleArn,
      action: request.action,
      resource: { resource: request.resourceArn, accountId: FAKE_ACCOUNT },
      contextVariables: request.context,
    },
    identityPolicies: role.policies.map((policy) => ({ name: policy.name, policy: policy.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  if (UNVALIDATED_ACTIONS.has(request.action)) {
    const result = runUnsafeSimulation(simulation, {});
    return result === 'Allowed' ? { allowed: true } : { allowed: false, why: closestGrants(role, request.action) };
  }
  const result: RunSimulationResults = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') throw new Error(`the simulator refused the request ${JSON.stringify(request)}: ${result.errors.message} ${JSON.stringify(result.errors)}`);
  if (result.overallResult === 'Allowed') return { allowed: true };
  if (result.resultType !== 'single') return { allowed: false, why: `${result.overallResult} (wildcard resource)` };
  const identity = result.result.analysis.identityAnalysis;
  const sameAction = (identity?.unmatchedStatements ?? []).filter((statement) => statement.actionMatch);
  if (sameAction.length === 0) return { allowed: false, why: `no statement of the role allows ${request.action} (${closestGrants(role, request.action)})` };
  return { allowed: false, why: sameAction.map((statement) => describeMiss(statement.policyId, statement.explain)).join('; ') };
}

/** Every action on every resource the role's Allow statements grant. */
export function grantsOf(role: DeployedRole): Grant[] {
  return role.policies.flatMap((policy) =>
    policy.document.Statement.flatMap((statement, index) => {
      if (statement.Effect !== 'Allow') return [];
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      return actions.flatMap((action) =>
        resources.map((resource) => ({
          policy: policy.name,
          statement: statement.Sid ?? String(index),
          action,
          resource,
          ...(statement.Condition ? { condition: statement.Condition } : {}),
        })),
      );
    }),
  );
}

/** IAM's wildcard match (`*` any run, `?` one character); actions ignore case, resources do not. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function describeMiss(policy: string, explain: StatementExplain): string {
  const resources = [explain.resources ?? []].flat();
  const parts = [`statement ${explain.identifier} of ${policy} allows the action`];
  if (!explain.resourceMatch) parts.push(`but only on ${resources.map((resource) => resource.resource).join(', ')}`);
  for (const condition of [explain.conditions ?? []].flat()) {
    if (condition.matches) continue;
    const values = [condition.values].flat().map((value) => value.value);
    const missing = condition.failedBecauseMissing ? ' (the key is missing from the request)' : '';
    parts.push(`and its condition ${condition.operator} ${condition.conditionKeyValue} ${JSON.stringify(values)} fails for ${JSON.stringify(condition.unmatchedValues ?? [])}${missing}`);
  }
  return parts.join(' ');
}

function closestGrants(role: DeployedRole, action: string): string {
  const resources = grantsOf(role)
    .filter((grant) => wildcardMatch(grant.action, action, true))
    .map((grant) => grant.resource);
  return resources.length === 0 ? `the role grants ${action} nowhere` : `the role grants ${action} on ${resources.join(', ')} only`;
}
