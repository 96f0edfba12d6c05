/**
 * Test support: a local HTTP server that answers the Lambda Invoke operation
 * (`POST /2015-03-31/functions/{FunctionName}/invocations`, restJson1) as Lambda would, so that
 * tests can point the real `@aws-sdk/client-lambda` at it. Each function is a test-given handler of
 * the event; a handler that throws is a function error (`X-Amz-Function-Error: Unhandled` with
 * Lambda's error payload), and a queued AWS error answers the next invocation instead.
 *
 * @example
 * ```ts
 * const server = await startLambdaInvokeServer({ [arn]: (event) => ({ plan: 'Unlimited' }) });
 * const client = new LambdaClient({ endpoint: server.endpoint, region: 'us-east-1', credentials });
 * ```
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LambdaHandler = (event: unknown) => unknown;

export interface LambdaInvocation {
  functionName: string;
  event: unknown;
  /** The region the request was signed for (from its SigV4 credential scope). */
  signedRegion: string | undefined;
}

export interface LambdaInvokeServer {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  invocations: LambdaInvocation[];
  /** The next invocation is refused with this AWS error (a status and an error type). */
  refuseNext(status: number, errorType: string, message: string): void;
  close(): Promise<void>;
}

export async function startLambdaInvokeServer(functions: Record<string, LambdaHandler>): Promise<LambdaInvokeServer> {
  const invocations: LambdaInvocation[] = [];
  const refusals: { status: number; errorType: string; message: string }[] = [];
  const server = createServer((request, response) => {
    void answer(request, response);
  });
  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const functionName = decodeURIComponent(/^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1] ?? '');
    const refusal = refusals.shift();
    if (refusal) {
      send(response, refusal.status, { 'x-amzn-errortype': refusal.errorType }, { Type: 'User', Message: refusal.message });
      return;
    }
    const handler = functions[functionName];
    if (!handler) {
      send(response, 404, { 'x-amzn-errortype': 'ResourceNotFoundException' }, { Type: 'User', Message: `Function not found: ${functionName}` });
      return;
    }
    const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const signedRegion = /Credential=[^/]+\/\d{8}\/([^/]+)\/lambda\//.exec(request.headers.authorization ?? '')?.[1];
    invocations.push({ functionName, event, signedRegion });
    try {
      send(response, 200, { 'x-amz-executed-version': '$LATEST' }, await handler(event));
    } catch (error) {
      send(response, 200, { 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' }, { errorType: (error as Error).name, errorMessage: (error as Error).message, trace: [] });
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    refuseNext: (status, errorType, message) => refusals.push({ status, errorType, message }),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => { resolve(); });
    }),
  };
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body === undefined ? '' : JSON.stringify(body));
}
