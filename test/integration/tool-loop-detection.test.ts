/**
 * A model that asks for the same tool call twice in one step, in a full local run (the telecom
 * team on a local OpenAI-compatible server that scripts the model's turns): the repeat is not run,
 * and it is a `loop` detection of the run like any other (stored with the task, listed in the
 * run's `detections`), while the run still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../local/local-runtime.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import { type OpenAiCompatibleServer, chatCompletion, startOpenAiCompatibleServer, toolCallCompletion } from '../support/openai-compatible-server.ts';

const LOOKUP = { id: 'call-1', type: 'function' as const, function: { name: 'lookup_invoice', arguments: '{"invoiceId":"INV-1042"}' } };

describe('Feature: a repeated tool call is a loop detection', () => {
  let server: OpenAiCompatibleServer;
  beforeAll(async () => {
    server = await startOpenAiCompatibleServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses the repeat, records it once as a loop detection of the run (refused-repeat), and the run answers', async () => {
    server.enqueue(
      { status: 200, json: chatCompletion('m', '{"intents": ["billing"]}') },
      { status: 200, json: toolCallCompletion('m', [LOOKUP]) },
      // The same call again, its arguments in the same order: the loop.
      { status: 200, json: toolCallCompletion('m', [{ ...LOOKUP, id: 'call-2' }]) },
      { status: 200, json: chatCompletion('m', 'Invoice INV-1042 is 58.40 EUR, paid.') },
    );

    const outcome = await legionInProcess(['run', 'supervisor-worker', '--model', 'openai-compatible', '--model-base-url', server.baseUrl, '--model-id', 'm', '--json', '--quiet']);

    expect(outcome.status, outcome.stderr).toBe(0);
    const result = JSON.parse(outcome.stdout) as RunResult;
    expect(result.status).toBe('SUCCEEDED');
    expect(result.detections).toEqual([
      expect.objectContaining({ type: 'loop', action: 'refused-repeat', agents: ['billing'], stepId: expect.stringMatching(/^billing(#.+)?#lookup_invoice#[0-9a-f]{12}$/) as unknown }),
    ]);
    const toolResults = server.requests[3]?.body.messages.filter((message) => message.role === 'tool') ?? [];
    expect(toolResults.map((message) => message.content)).toEqual([
      expect.stringContaining('INV-1042') as unknown,
      expect.stringMatching(/^Error: Not run again: lookup_invoice was already called with this input/) as unknown,
    ]);
  }, 60_000);
});
