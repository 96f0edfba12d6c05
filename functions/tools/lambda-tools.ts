/**
 * A tool that is a Lambda function of the user's: the team definition describes it (name,
 * description, input schema) and gives its ARN; each call invokes it synchronously with
 * `{ tool, input, idempotencyKey }` ({@link LambdaToolEvent}) and gives the model what it returns.
 *
 * Failures:
 * - the function failing (it threw, or it timed out: Lambda's `FunctionError`) is the tool's
 *   failure, which goes back to the model as a tool error, like any tool's;
 * - Lambda refusing or failing the invocation (no permission, no such function, throttling after
 *   the SDK's retries, the service unreachable) is Legion's setup or infrastructure failing: an
 *   `InfrastructureError` (throttling: `InfrastructureThrottledError`, which the state machines
 *   retry), so that a model never answers without a tool it was meant to have.
 *
 * In AWS the agent's role may invoke exactly the functions its tools name (CDK grants it). The call
 * goes to the function's own region (from its ARN). Locally it goes to AWS with the caller's
 * credentials, or wherever `AWS_ENDPOINT_URL_LAMBDA` points.
 *
 * @example
 * ```ts
 * const tool = lambdaTool({ lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', name: 'lookup_plan',
 *   description: "A customer's plan", inputSchema: { type: 'object', properties: { customerId: { type: 'string' } } } });
 * await tool.call({ customerId: 'C-7' }, { signal, idempotencyKey: 't-1:Work#billing:ab12' });
 * ```
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { AWS_THROTTLING_ERRORS } from '../core/contract.ts';
import { InfrastructureError, InfrastructureThrottledError } from '../core/errors.ts';
import type { ToolSource } from '../core/team-schema.ts';
import { type Tool, type ToolCallContext, toolOutputText } from './tool.ts';

/** What the function receives on each call. */
export interface LambdaToolEvent {
  /** The tool's name in the team definition (one function may serve several tools). */
  tool: string;
  /** The model's input, checked against the tool's `inputSchema`. */
  input: Record<string, unknown>;
  /** The same on every attempt at this call of this step: do side effects once per key. */
  idempotencyKey: string;
}

export type LambdaToolSource = Extract<ToolSource, { lambda: string }>;

/** One client per region for every Lambda tool of the process (a client holds its connections). */
const clients = new Map<string, LambdaClient>();

/** A function is invoked in its own region: the one its ARN names, whatever the agent's. */
function clientFor(functionArn: string): LambdaClient {
  const region = functionArn.split(':')[3] ?? '';
  let client = clients.get(region);
  if (!client) {
    client = new LambdaClient({ region });
    clients.set(region, client);
  }
  return client;
}

/** The tool a `{ lambda: ARN, ... }` entry of an agent's `tools` describes. */
export function lambdaTool(source: LambdaToolSource, client?: LambdaClient): Tool {
  const { lambda: functionArn, name, description, inputSchema } = source;
  const lambda = client ?? clientFor(functionArn);
  return {
    spec: { name, description, inputSchema },
    call: async (input, context) => invoke(lambda, { functionArn, name }, input, context),
  };
}

async function invoke(client: LambdaClient, tool: { functionArn: string; name: string }, input: Record<string, unknown>, context: ToolCallContext): Promise<string> {
  const event: LambdaToolEvent = { tool: tool.name, input, idempotencyKey: context.idempotencyKey };
  let output;
  try {
    output = await client.send(new InvokeCommand({ FunctionName: tool.functionArn, Payload: JSON.stringify(event) }), { abortSignal: context.signal });
  } catch (error) {
    // The caller's own timeout: a tool error like any other, not Lambda failing.
    if (context.signal.aborted) throw error;
    throw invocationFailure(error as Error, tool);
  }
  const text = output.Payload ? Buffer.from(output.Payload).toString('utf8') : '';
  if (output.FunctionError) throw new Error(functionErrorMessage(text, output.FunctionError));
  return toolOutputText(parsePayload(text));
}

function invocationFailure(error: Error, tool: { functionArn: string; name: string }): InfrastructureError {
  const reason = `tool ${tool.name}: Lambda function ${tool.functionArn} could not be invoked: ${error.message}`;
  if ((AWS_THROTTLING_ERRORS as readonly string[]).includes(error.name)) return new InfrastructureThrottledError(error.name, reason, { cause: error });
  return new InfrastructureError(error.name === 'Error' ? 'LambdaToolUnavailable' : error.name, reason, { cause: error });
}

/** Lambda's error payload (`errorType`, `errorMessage`), or the raw text when it is not one. */
function functionErrorMessage(text: string, kind: string): string {
  const payload = parsePayload(text) as { errorType?: unknown; errorMessage?: unknown } | null;
  if (payload && typeof payload === 'object' && typeof payload.errorMessage === 'string') {
    return `${typeof payload.errorType === 'string' ? payload.errorType : kind}: ${payload.errorMessage}`;
  }
  return `${kind}: ${text.slice(0, 500)}`;
}

/** A function's result is JSON; a function that returned nothing gives an empty payload. */
function parsePayload(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
