/**
 * Fail closed: an infrastructure error under an agent step (the checkpoint store refusing a write
 * or a read, throttling) must not take the graceful path meant for an agent that failed. The real
 * supervisor-worker ASL in the local runtime, the real handlers, DynamoDB Local; the faults come
 * from a middleware on the runtime's DynamoDB client that answers as AWS would (AccessDenied,
 * throttling) for the requests of one worker's step.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { childTaskId } from '../../functions/patterns/hierarchical/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LocalRuntime } from '../../local/local-runtime.ts';

/** The step of the billing worker, as its checkpoint items and step marker name it. */
const BILLING_STEP = 'Work#billing';
const REQUEST = { request: 'my bill is wrong and my wifi is down' };

/** Which requests of the billing worker's step fail, and how. */
interface Fault {
  /** `write`: PutItem, DeleteItem, TransactWriteItems; `read`: GetItem. */
  requests: 'write' | 'read';
  name: string;
  message: string;
  /** How many matching requests fail before they pass again. @default all */
  times?: number;
}

/** An AWS-shaped service error (it carries `$metadata`, as the SDK's errors do). */
function awsError(name: string, message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

describe('Fail closed: infrastructure errors under a supervisor-worker worker (local runtime, DynamoDB Local)', () => {
  let runtime: LocalRuntime;
  let team: TeamDefinition;
  let fault: Fault | undefined;
  let faults = 0;

  beforeEach(async () => {
    runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    team = await loadTeamFile('teams/telecom-support.yaml');
    fault = undefined;
    faults = 0;
    runtime.db.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const write = 'Item' in input || 'TransactItems' in input || ('Key' in input && !('ConsistentRead' in input) && !('UpdateExpression' in input));
        const read = 'Key' in input && 'ConsistentRead' in input;
        const matches = fault !== undefined && (fault.requests === 'write' ? write : read) && JSON.stringify(input).includes(BILLING_STEP);
        if (fault && matches && (fault.times === undefined || faults < fault.times)) {
          faults += 1;
          throw awsError(fault.name, fault.message);
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectInfrastructureFault' },
    );
  });
  afterEach(() => runtime.stop());

  const run = () => runtime.run({ team, input: REQUEST, taskId: `infra-${randomUUID()}` });

  it('fails the run (not SUCCEEDED with the worker missing) when its checkpoint write is denied', async () => {
    fault = { requests: 'write', name: 'AccessDeniedException', message: 'User: arn:aws:sts::000000000000:assumed-role/legion-billing is not authorized to perform: dynamodb:TransactWriteItems' };

    const result = await run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('CheckpointError');
    expect(result.error?.cause).toMatch(/not authorized to perform/);
    expect(result.output).toBeNull();
    expect(faults).toBe(1); // not retried: a permission does not come back by itself
  });

  it('fails the run with InfrastructureError, naming the AWS error, when reading its step marker is denied', async () => {
    fault = { requests: 'read', name: 'AccessDeniedException', message: 'not authorized to perform: dynamodb:GetItem' };

    const result = await run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('InfrastructureError');
    expect(result.error?.cause).toMatch(/AccessDeniedException/);
    expect(result.output).toBeNull();
  });

  it('retries a throttled checkpoint write, then answers whole', async () => {
    fault = { requests: 'write', name: 'ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded', times: 1 };

    const result = await run();

    expect(result.status).toBe('SUCCEEDED');
    expect(faults).toBe(1);
    const output = result.output as { handledBy: string[]; degraded: unknown[] };
    expect(output.handledBy.sort()).toEqual(['billing', 'technical-support']);
    expect(output.degraded).toEqual([]);
  });

  it('fails the run when throttling outlasts the retries', async () => {
    fault = { requests: 'write', name: 'ThrottlingException', message: 'Rate exceeded' };

    const result = await run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('InfrastructureThrottledError');
    expect(faults).toBe(4); // the first attempt and the three retries the ASL allows
  });
});

describe('Fail closed: an infrastructure error in a hierarchical sub-team (local runtime, DynamoDB Local)', () => {
  it('fails the parent run (no retry, re-plan or roll-up around it) when a sub-team failed on a denied checkpoint write', async () => {
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    try {
      const team = await loadTeamFile('teams/research-hierarchy.yaml');
      const taskId = `infra-hier-${randomUUID()}`;
      // The second sub-team's workers cannot write their checkpoints.
      const child = childTaskId(taskId, 'technical-research', 0, 1);
      runtime.db.client.middlewareStack.add(
        (next) => async (args) => {
          const text = JSON.stringify(args.input);
          if ('TransactItems' in args.input && text.includes(child) && text.includes('Work#')) throw awsError('AccessDeniedException', 'not authorized to perform: dynamodb:TransactWriteItems');
          return next(args);
        },
        { step: 'initialize', name: 'denyChildCheckpoints' },
      );

      const result = await runtime.run({ team, input: { request: 'Should we launch a serverless AI agent platform for mid-sized companies next year?' }, taskId });

      expect(result.status).toBe('FAILED');
      expect(result.error?.error).toBe('InfrastructureError');
      expect(result.error?.cause).toMatch(/failed on Legion's infrastructure: CheckpointError/);
      // The review raised the failure (it finished no step): no retry, no re-plan, no roll-up.
      expect(result.trace.map((step) => step.state)).toEqual(['Decompose']);
    } finally {
      await runtime.stop();
    }
  });

  /** Runs the research hierarchy with the child Begin's start transaction (it claims the child task id) failing as `fail` says. */
  async function runWithChildBeginFault(fail: (attempt: number) => Error | undefined): Promise<{ result: Awaited<ReturnType<LocalRuntime['run']>>; attempts: number }> {
    const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'));
    try {
      const team = await loadTeamFile('teams/research-hierarchy.yaml');
      const taskId = `infra-begin-${randomUUID()}`;
      const child = childTaskId(taskId, 'technical-research', 0, 1);
      let attempts = 0;
      runtime.db.client.middlewareStack.add(
        (next) => async (args) => {
          if ('TransactItems' in args.input && JSON.stringify(args.input).includes(`TASKID#${child}`)) {
            attempts += 1;
            const error = fail(attempts);
            if (error) throw error;
          }
          return next(args);
        },
        { step: 'initialize', name: 'failChildBegin' },
      );
      const result = await runtime.run({ team, input: { request: 'Should we launch a serverless AI agent platform for mid-sized companies next year?' }, taskId });
      return { result, attempts };
    } finally {
      await runtime.stop();
    }
  }

  it("fails the parent run when a sub-team's control function (its Begin) is denied access, though no agent of it ran", async () => {
    const { result, attempts } = await runWithChildBeginFault(() => awsError('AccessDeniedException', 'not authorized to perform: dynamodb:TransactWriteItems'));

    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('InfrastructureError');
    // The child's Begin classified the AWS error (not its raw name); the parent's Review failed closed on it.
    expect(result.error?.cause).toMatch(/sub-team technical failed on Legion's infrastructure: InfrastructureError: Infrastructure failure \(AccessDeniedException\)/);
    expect(result.trace.map((step) => step.state)).toEqual(['Decompose']);
    expect(attempts).toBe(1); // a permission is not retried
  });

  it("retries a sub-team's throttled control function (its Begin), then answers whole", async () => {
    const { result, attempts } = await runWithChildBeginFault((attempt) => (attempt === 1 ? awsError('ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded') : undefined));

    expect(result.status).toBe('SUCCEEDED');
    expect(attempts).toBe(2);
    expect(result.output).toMatchObject({ failedTeams: [], degraded: [] });
  });
});
