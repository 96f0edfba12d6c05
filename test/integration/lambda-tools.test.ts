/**
 * Lambda tools with the real `@aws-sdk/client-lambda`, pointed at a local server that answers the
 * Invoke operation as Lambda does (test/support/lambda-invoke-server.ts): the event a function
 * gets, its result given to the model, a function's error given back as a tool error, and Lambda
 * refusing or throttling the call failing the step closed. Only Lambda itself is stood in for.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError, InfrastructureThrottledError } from '../../functions/core/errors.ts';
import { AgentToolbox } from '../../functions/tools/agent-toolbox.ts';
import { type LambdaToolSource, lambdaTool } from '../../functions/tools/lambda-tools.ts';
import type { Tool } from '../../functions/tools/tool.ts';
import { ToolCaller } from '../../functions/tools/tool-caller.ts';
import { type LambdaInvokeServer, startLambdaInvokeServer } from '../support/lambda-invoke-server.ts';

const PLAN_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan';
const SOURCE: LambdaToolSource = {
  lambda: PLAN_ARN,
  name: 'lookup_plan',
  description: "A customer's plan and its changes.",
  inputSchema: { type: 'object', properties: { customerId: { type: 'string' } }, required: ['customerId'] },
};
const USE = { id: 'call-1', name: 'lookup_plan', input: { customerId: 'C-7' } };

describe('Function: lambdaTool', () => {
  let server: LambdaInvokeServer;
  let client: LambdaClient;
  const caller = new ToolCaller({ callTimeoutMs: 5_000 });

  beforeAll(async () => {
    server = await startLambdaInvokeServer({
      [PLAN_ARN]: (event) => ({ plan: 'Unlimited 5G', since: '2026-11-03', asked: event }),
      'arn:aws:lambda:us-east-1:123456789012:function:broken': () => {
        throw new RangeError('customer C-7 has no plan');
      },
    });
    client = new LambdaClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });
  beforeEach(() => {
    server.invocations.length = 0;
  });

  it('offers the model the name, description and schema of the team definition', () => {
    expect(lambdaTool(SOURCE, client).spec).toEqual({ name: SOURCE.name, description: SOURCE.description, inputSchema: SOURCE.inputSchema });
  });

  it("invokes the function with the tool's name, the input and the call's idempotency key, and gives back its result as JSON text", async () => {
    const text = await lambdaTool(SOURCE, client).call({ customerId: 'C-7' }, { signal: new AbortController().signal, idempotencyKey: 't-1:Work#billing:ab12' });

    const event = { tool: 'lookup_plan', input: { customerId: 'C-7' }, idempotencyKey: 't-1:Work#billing:ab12' };
    expect(server.invocations).toEqual([{ functionName: PLAN_ARN, event, signedRegion: 'us-east-1' }]);
    expect(JSON.parse(text)).toEqual({ plan: 'Unlimited 5G', since: '2026-11-03', asked: event });
  });

  it("gives a function's error back to the model as a tool error, with Lambda's error type and message", async () => {
    const broken = lambdaTool({ ...SOURCE, lambda: 'arn:aws:lambda:us-east-1:123456789012:function:broken' }, client);

    expect(await caller.call(broken, USE)).toEqual({ content: 'Tool lookup_plan failed: RangeError: customer C-7 has no plan', isError: true });
  });

  it('fails the step closed with an InfrastructureError naming the tool and the function when Lambda refuses the call (no permission)', async () => {
    server.refuseNext(403, 'AccessDeniedException', 'User is not authorized to perform: lambda:InvokeFunction');

    const error = await caller.call(lambdaTool(SOURCE, client), USE).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error).not.toBeInstanceOf(InfrastructureThrottledError);
    expect((error as InfrastructureError).originalName).toBe('AccessDeniedException');
    expect((error as Error).message).toMatch(/tool lookup_plan: Lambda function arn:aws:lambda:us-east-1:123456789012:function:lookup-plan could not be invoked: User is not authorized/);
  });

  it('fails the step with an InfrastructureThrottledError (which the state machines retry) when Lambda throttles the call', async () => {
    server.refuseNext(429, 'TooManyRequestsException', 'Rate exceeded');

    const error = await caller.call(lambdaTool(SOURCE, client), USE).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(InfrastructureThrottledError);
    expect((error as InfrastructureError).originalName).toBe('TooManyRequestsException');
  });

  it('fails closed when the function does not exist', async () => {
    const missing = lambdaTool({ ...SOURCE, lambda: 'arn:aws:lambda:us-east-1:123456789012:function:gone' }, client);

    await expect(caller.call(missing, USE)).rejects.toThrow(/Infrastructure failure \(ResourceNotFoundException\): tool lookup_plan: Lambda function .*:function:gone could not be invoked/);
  });
});

describe('Class: AgentToolbox', () => {
  describe('Method: tools', () => {
    const saved = { ...process.env };
    let server: LambdaInvokeServer;
    beforeAll(async () => {
      server = await startLambdaInvokeServer({ [PLAN_ARN]: () => 'Unlimited 5G' });
      // The SDK's own setting for a service's endpoint: how a local run reaches a stand-in for Lambda.
      Object.assign(process.env, { AWS_ENDPOINT_URL_LAMBDA: server.endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    });
    afterAll(async () => {
      process.env = saved;
      await server.close();
    });

    it("loads a Lambda tool of the team definition, which calls the function at the endpoint the environment names, in the function's own region", async () => {
      const toolbox = new AgentToolbox([SOURCE]);
      const tools = await toolbox.tools();

      expect(tools.map((tool) => tool.spec.name)).toEqual(['lookup_plan']);
      expect(await new ToolCaller({ callTimeoutMs: 5_000 }).call(tools[0] as Tool, USE)).toEqual({ content: 'Unlimited 5G', isError: false });
      // The process is in eu-west-1; the function's ARN says us-east-1.
      expect(server.invocations.map((invocation) => invocation.signedRegion)).toEqual(['us-east-1']);
    });
  });
});
