import { describe, expect, it } from 'vitest';
import { ToolCallLimitError, ToolLoopError } from '../../functions/core/errors.ts';
import type { ConversationMessage, ModelProvider, ModelReply, ModelRequest, TokenUsage, ToolResult, ToolUse } from '../../functions/models/model-provider.ts';
import type { Tool, ToolCallContext } from '../../functions/tools/tool.ts';
import { type ToolCallJournal, type ToolCallKey, type ToolCallRecord, callFingerprint } from '../../functions/tools/tool-call-journal.ts';
import { type ToolCallReport, type ToolLoopOptions, ToolLoop } from '../../functions/tools/tool-loop.ts';

/** TEST DOUBLE: a model that gives queued replies, in order, and records the requests it got. */
class QueuedModel implements ModelProvider {
  public readonly requests: ModelRequest[] = [];

  public constructor(
    private readonly replies: ModelReply[],
    /** Runs when the model is called, before it replies (to look at the world as the model sees it). */
    private readonly onConverse?: (request: ModelRequest, index: number) => void,
  ) {}

  public converse(request: ModelRequest): Promise<ModelReply> {
    this.requests.push(request);
    this.onConverse?.(request, this.requests.length - 1);
    const reply = this.replies.shift();
    return reply ? Promise.resolve(reply) : Promise.reject(new Error('the queued model has no reply left'));
  }
}

/**
 * TEST DOUBLE: the tool-call journal in memory, keyed as ToolCallJournal keys its items (step,
 * tool, and the callFingerprint of the input); as the real one, `record` returns the record that
 * was there first. The real journal is tested against DynamoDB Local in the integration and
 * scenario tests.
 */
class MemoryJournal implements Pick<ToolCallJournal, 'recall' | 'record'> {
  public readonly records = new Map<string, ToolCallRecord>();

  public static keyOf(key: ToolCallKey): string {
    return `${key.taskId}#${key.stepKey}#${callFingerprint(key.name, key.input)}`;
  }

  public recall(key: ToolCallKey): Promise<ToolCallRecord | undefined> {
    return Promise.resolve(this.records.get(MemoryJournal.keyOf(key)));
  }

  public record(call: ToolCallRecord): Promise<ToolCallRecord> {
    const first = this.records.get(MemoryJournal.keyOf(call));
    if (first) return Promise.resolve(first);
    this.records.set(MemoryJournal.keyOf(call), call);
    return Promise.resolve(call);
  }
}

/** TEST DOUBLE: a tool that records its calls and answers with `run`. */
function fakeTool(name: string, run: (input: Record<string, unknown>, context: ToolCallContext) => Promise<string> = (input) => Promise.resolve(`${name}: ${JSON.stringify(input)}`)) {
  const calls: { input: Record<string, unknown>; context: ToolCallContext }[] = [];
  const tool: Tool = {
    spec: { name, description: `The ${name} tool.`, inputSchema: { type: 'object', properties: {} } },
    call: (input, context) => {
      calls.push({ input, context });
      return run(input, context);
    },
  };
  return { tool, calls };
}

const usage = (inputTokens: number, outputTokens: number): TokenUsage => ({ inputTokens, outputTokens });

function askingFor(toolUses: ToolUse[], tokens = usage(10, 2), text = ''): ModelReply {
  return { text, toolUses, stopReason: 'tool_use', modelId: 'queued-test-double', usage: tokens };
}

function answering(text: string, tokens = usage(10, 2)): ModelReply {
  return { text, stopReason: 'end_turn', modelId: 'queued-test-double', usage: tokens };
}

const use = (id: string, name: string, input: Record<string, unknown>): ToolUse => ({ id, name, input });

const REQUEST: ModelRequest = {
  modelTier: 'fast',
  system: 'You are a test agent.',
  prompt: 'What is the status of order 7?',
  maxTokens: 200,
  script: { kind: 'answer', agentId: 'billing', request: 'order 7', instruction: 'Answer.' },
  agentId: 'billing',
};

function loopOver(model: ModelProvider, tools: readonly Tool[], options: Partial<ToolLoopOptions> = {}): ToolLoop {
  return new ToolLoop(model, {
    toolbox: { tools: () => Promise.resolve(tools) },
    agentId: 'billing',
    maxToolCalls: 8,
    callTimeoutMs: 5_000,
    ...options,
  });
}

/** The tool results the model got in the user turn of the given request. */
function toolResultsIn(request: ModelRequest | undefined): readonly ToolResult[] {
  const last = request?.messages?.at(-1);
  if (!last || !('toolResults' in last)) throw new Error('the request does not end with tool results');
  return last.toolResults;
}

describe('Class: ToolLoop', () => {
  describe('Method: converse', () => {
    it('runs the tool the model asks for, hands back its result as an assistant turn and a user turn, and returns the final answer with the usage of both rounds', async () => {
      // Prepare
      const lookup = fakeTool('lookup', () => Promise.resolve('order 7 is shipped'));
      const model = new QueuedModel([askingFor([use('u1', 'lookup', { orderId: 7 })], usage(100, 20), 'Let me look.'), answering('It is shipped.', usage(150, 30))]);
      const reports: ToolCallReport[] = [];

      // Act
      const reply = await loopOver(model, [lookup.tool], { onCall: (report) => reports.push(report) }).converse(REQUEST);

      // Assess
      expect(reply).toEqual({ text: 'It is shipped.', stopReason: 'end_turn', modelId: 'queued-test-double', usage: { inputTokens: 250, outputTokens: 50 } });
      expect(lookup.calls.map((call) => call.input)).toEqual([{ orderId: 7 }]);
      expect(model.requests).toHaveLength(2);
      expect(model.requests[0]).toEqual({ ...REQUEST, messages: [], tools: [lookup.tool.spec] });
      expect(model.requests[1]).toEqual({
        ...REQUEST,
        tools: [lookup.tool.spec],
        messages: [
          { role: 'assistant', text: 'Let me look.', toolUses: [use('u1', 'lookup', { orderId: 7 })] },
          { role: 'user', toolResults: [{ toolUseId: 'u1', content: 'order 7 is shipped', isError: false }] },
        ],
      });
      expect(reports).toEqual([{ name: 'lookup', input: { orderId: 7 }, durationMs: expect.any(Number) as number, ok: true, restored: false, repeated: false }]);
    });

    it('keeps the turns the request already has before the turns of its own rounds, and runs the tools of one reply in the model’s order', async () => {
      // Prepare
      const order: string[] = [];
      const first = fakeTool('first', () => {
        order.push('first');
        return Promise.resolve('one');
      });
      const second = fakeTool('second', () => {
        order.push('second');
        return Promise.resolve('two');
      });
      const earlier: ConversationMessage[] = [
        { role: 'assistant', text: '', toolUses: [use('old', 'first', { n: 0 })] },
        { role: 'user', toolResults: [{ toolUseId: 'old', content: 'zero', isError: false }] },
      ];
      const model = new QueuedModel([askingFor([use('b', 'second', {}), use('a', 'first', { n: 1 })]), answering('done')]);

      // Act
      await loopOver(model, [first.tool, second.tool]).converse({ ...REQUEST, messages: earlier });

      // Assess
      expect(order).toEqual(['second', 'first']);
      expect(model.requests[0]?.messages).toEqual(earlier);
      expect(model.requests[1]?.messages?.slice(0, 2)).toEqual(earlier);
      expect(toolResultsIn(model.requests[1])).toEqual([
        { toolUseId: 'b', content: 'two', isError: false },
        { toolUseId: 'a', content: 'one', isError: false },
      ]);
    });

    it('calls the inner model once, with the request unchanged, for an agent without tools', async () => {
      // Prepare
      const model = new QueuedModel([askingFor([use('u1', 'lookup', {})], usage(7, 3))]);

      // Act
      const reply = await loopOver(model, []).converse(REQUEST);

      // Assess
      expect(model.requests).toHaveLength(1);
      expect(model.requests[0]).toBe(REQUEST);
      expect(reply).toEqual(askingFor([use('u1', 'lookup', {})], usage(7, 3)));
    });

    it('hands the error of a tool that throws to the model as a tool error, and goes on with the step', async () => {
      // Prepare
      const broken = fakeTool('broken', () => Promise.reject(new Error('billing system unavailable')));
      const model = new QueuedModel([askingFor([use('u1', 'broken', { id: 1 })]), answering('I could not look it up.')]);
      const reports: ToolCallReport[] = [];

      // Act
      const reply = await loopOver(model, [broken.tool], { onCall: (report) => reports.push(report) }).converse(REQUEST);

      // Assess
      expect(reply.text).toBe('I could not look it up.');
      expect(toolResultsIn(model.requests[1])).toEqual([{ toolUseId: 'u1', content: 'Tool broken failed: billing system unavailable', isError: true }]);
      expect(reports).toEqual([expect.objectContaining({ name: 'broken', ok: false, restored: false, repeated: false })]);
    });

    it('abandons a tool that takes longer than callTimeoutMs, aborts its signal and tells the model it timed out', async () => {
      // Prepare: the tool never answers by itself
      const slow = fakeTool('slow', () => new Promise<string>(() => undefined));
      const model = new QueuedModel([askingFor([use('u1', 'slow', {})]), answering('It took too long.')]);

      // Act
      const reply = await loopOver(model, [slow.tool], { callTimeoutMs: 20 }).converse(REQUEST);

      // Assess
      expect(reply.text).toBe('It took too long.');
      expect(slow.calls[0]?.context.signal.aborted).toBe(true);
      expect(toolResultsIn(model.requests[1])).toEqual([{ toolUseId: 'u1', content: expect.stringMatching(/^Tool slow failed: .*timed out after 20 ms/) as string, isError: true }]);
    });

    it('does not abort the signal of a tool that answers in time', async () => {
      // Prepare
      const quick = fakeTool('quick');
      const model = new QueuedModel([askingFor([use('u1', 'quick', {})]), answering('done')]);

      // Act
      await loopOver(model, [quick.tool], { callTimeoutMs: 1_000 }).converse(REQUEST);

      // Assess
      expect(quick.calls[0]?.context.signal.aborted).toBe(false);
      expect(toolResultsIn(model.requests[1])[0]?.isError).toBe(false);
    });

    it('tells the model when it asks for a tool that does not exist, listing the tools it has', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const refund = fakeTool('refund');
      const model = new QueuedModel([askingFor([use('u1', 'delete_account', { id: 1 })]), answering('done')]);

      // Act
      await loopOver(model, [lookup.tool, refund.tool]).converse(REQUEST);

      // Assess
      expect(toolResultsIn(model.requests[1])).toEqual([{ toolUseId: 'u1', content: 'No tool is named delete_account. The tools are: lookup, refund.', isError: true }]);
      expect(lookup.calls).toHaveLength(0);
      expect(refund.calls).toHaveLength(0);
    });

    it('does not run the same call again (same tool, same input with its keys in another order), tells the model so, and reports it as repeated', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([
        askingFor([use('u1', 'lookup', { customer: 'c-1', month: 'october' })]),
        askingFor([use('u2', 'lookup', { month: 'october', customer: 'c-1' })]),
        answering('done'),
      ]);
      const reports: ToolCallReport[] = [];

      // Act
      const reply = await loopOver(model, [lookup.tool], { onCall: (report) => reports.push(report) }).converse(REQUEST);

      // Assess
      expect(reply.text).toBe('done');
      expect(lookup.calls).toHaveLength(1);
      expect(toolResultsIn(model.requests[2])).toEqual([{ toolUseId: 'u2', content: expect.stringMatching(/^Not run again: lookup was already called with this input/) as string, isError: true }]);
      expect(reports.map(({ repeated, ok }) => ({ repeated, ok }))).toEqual([
        { repeated: false, ok: true },
        { repeated: true, ok: false },
      ]);
    });

    it('reports a repeated call (its tool and fingerprint) once, before the model hears of it', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const repeats: { name: string; fingerprint: string; modelCallsBefore: number }[] = [];
      const model = new QueuedModel([askingFor([use('u1', 'lookup', { id: 1 })]), askingFor([use('u2', 'lookup', { id: 1 })]), answering('done')]);

      // Act
      await loopOver(model, [lookup.tool], {
        onRepeat: (repeat) => {
          repeats.push({ ...repeat, modelCallsBefore: model.requests.length });
          return Promise.resolve();
        },
      }).converse(REQUEST);

      // Assess
      expect(repeats).toEqual([{ name: 'lookup', fingerprint: callFingerprint('lookup', { id: 1 }), modelCallsBefore: 2 }]);
    });

    it('runs the same tool again for another input', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([askingFor([use('u1', 'lookup', { id: 1 })]), askingFor([use('u2', 'lookup', { id: 2 })]), answering('done')]);

      // Act
      await loopOver(model, [lookup.tool]).converse(REQUEST);

      // Assess
      expect(lookup.calls.map((call) => call.input)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(toolResultsIn(model.requests[2])[0]?.isError).toBe(false);
    });

    it('fails the step with a ToolLoopError when the model asks for the same call a third time', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([
        askingFor([use('u1', 'lookup', { id: 1 })]),
        askingFor([use('u2', 'lookup', { id: 1 })]),
        askingFor([use('u3', 'lookup', { id: 1 })]),
        answering('never reached'),
      ]);

      // Act
      const outcome = loopOver(model, [lookup.tool]).converse(REQUEST);

      // Assess
      await expect(outcome).rejects.toThrow(ToolLoopError);
      await expect(outcome).rejects.toMatchObject({ agentId: 'billing', toolName: 'lookup' });
      expect(lookup.calls).toHaveLength(1);
      expect(model.requests).toHaveLength(3);
    });

    it('runs no more than maxToolCalls: further calls get a "Not run" tool error, and asking again in a later round is a ToolCallLimitError', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([
        askingFor([use('u1', 'lookup', { id: 1 }), use('u2', 'lookup', { id: 2 }), use('u3', 'lookup', { id: 3 })]),
        askingFor([use('u4', 'lookup', { id: 4 })]),
        answering('never reached'),
      ]);

      // Act
      const outcome = loopOver(model, [lookup.tool], { maxToolCalls: 2 }).converse(REQUEST);

      // Assess
      await expect(outcome).rejects.toThrow(ToolCallLimitError);
      await expect(outcome).rejects.toMatchObject({ agentId: 'billing', maxToolCalls: 2 });
      expect(lookup.calls.map((call) => call.input)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(toolResultsIn(model.requests[1])).toEqual([
        { toolUseId: 'u1', content: 'lookup: {"id":1}', isError: false },
        { toolUseId: 'u2', content: 'lookup: {"id":2}', isError: false },
        { toolUseId: 'u3', content: "Not run: this step's limit of 2 tool calls is reached. Answer with what you have.", isError: true },
      ]);
    });

    it('tells the model first when it asks for a tool after reaching the limit exactly, every call run, and answers when it then answers', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([
        askingFor([use('u1', 'lookup', { id: 1 }), use('u2', 'lookup', { id: 2 })]),
        askingFor([use('u3', 'lookup', { id: 3 })]),
        answering('With what I have: done.'),
      ]);

      // Act
      const reply = await loopOver(model, [lookup.tool], { maxToolCalls: 2 }).converse(REQUEST);

      // Assess
      expect(reply.text).toBe('With what I have: done.');
      expect(lookup.calls).toHaveLength(2);
      expect(toolResultsIn(model.requests[1]).every((result) => !result.isError)).toBe(true);
      expect(toolResultsIn(model.requests[2])).toEqual([{ toolUseId: 'u3', content: expect.stringMatching(/^Not run: this step's limit of 2 tool calls is reached/) as string, isError: true }]);
    });

    it('fails with a ToolCallLimitError only after the model was told, when it reached the limit exactly and keeps asking', async () => {
      // Prepare
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([
        askingFor([use('u1', 'lookup', { id: 1 })]),
        askingFor([use('u2', 'lookup', { id: 2 })]),
        askingFor([use('u3', 'lookup', { id: 3 })]),
        answering('never reached'),
      ]);

      // Act
      const outcome = loopOver(model, [lookup.tool], { maxToolCalls: 1 }).converse(REQUEST);

      // Assess
      await expect(outcome).rejects.toThrow(ToolCallLimitError);
      expect(model.requests).toHaveLength(3);
      expect(toolResultsIn(model.requests[2])[0]?.content).toMatch(/^Not run: this step's limit of 1 tool calls/);
      expect(lookup.calls).toHaveLength(1);
    });

    it('hands the model the journal’s recorded result instead of running the tool again, and reports it as restored', async () => {
      // Prepare
      const journal = new MemoryJournal();
      const step = { taskId: 't-1', stepKey: 'Work#billing' };
      await journal.record({ ...step, name: 'lookup', input: { id: 1 }, content: 'recorded before the crash', isError: false, durationMs: 12, order: 0 });
      await journal.record({ ...step, name: 'lookup', input: { id: 2 }, content: 'Tool lookup failed: recorded error', isError: true, durationMs: 3, order: 1 });
      const lookup = fakeTool('lookup');
      const model = new QueuedModel([askingFor([use('u1', 'lookup', { id: 1 }), use('u2', 'lookup', { id: 2 })]), answering('done')]);
      const reports: ToolCallReport[] = [];

      // Act
      await loopOver(model, [lookup.tool], { journal: { journal, ...step }, onCall: (report) => reports.push(report) }).converse(REQUEST);

      // Assess
      expect(lookup.calls).toHaveLength(0);
      expect(toolResultsIn(model.requests[1])).toEqual([
        { toolUseId: 'u1', content: 'recorded before the crash', isError: false },
        { toolUseId: 'u2', content: 'Tool lookup failed: recorded error', isError: true },
      ]);
      expect(reports).toEqual([
        { name: 'lookup', input: { id: 1 }, durationMs: 12, ok: true, restored: true, repeated: false },
        { name: 'lookup', input: { id: 2 }, durationMs: 3, ok: false, restored: true, repeated: false },
      ]);
    });

    it('does not use what another step or task recorded', async () => {
      // Prepare
      const journal = new MemoryJournal();
      await journal.record({ taskId: 't-1', stepKey: 'Work#other', name: 'lookup', input: { id: 1 }, content: 'other step', isError: false, durationMs: 1, order: 0 });
      await journal.record({ taskId: 't-2', stepKey: 'Work#billing', name: 'lookup', input: { id: 1 }, content: 'other task', isError: false, durationMs: 1, order: 0 });
      const lookup = fakeTool('lookup', () => Promise.resolve('fresh'));
      const model = new QueuedModel([askingFor([use('u1', 'lookup', { id: 1 })]), answering('done')]);

      // Act
      await loopOver(model, [lookup.tool], { journal: { journal, taskId: 't-1', stepKey: 'Work#billing' } }).converse(REQUEST);

      // Assess
      expect(lookup.calls).toHaveLength(1);
      expect(toolResultsIn(model.requests[1])[0]?.content).toBe('fresh');
    });

    it('records each fresh call in the journal before the model’s next round sees it, in the order the step made them', async () => {
      // Prepare
      const journal = new MemoryJournal();
      const step = { taskId: 't-1', stepKey: 'Work#billing' };
      const lookup = fakeTool('lookup');
      const broken = fakeTool('broken', () => Promise.reject(new Error('down')));
      const seenByRound: ToolCallRecord[][] = [];
      const model = new QueuedModel(
        [askingFor([use('u1', 'lookup', { id: 1 }), use('u2', 'broken', { id: 2 })]), askingFor([use('u3', 'lookup', { id: 3 })]), answering('done')],
        () => seenByRound.push([...journal.records.values()].map((record) => ({ ...record }))),
      );

      // Act
      await loopOver(model, [lookup.tool, broken.tool], { journal: { journal, ...step } }).converse(REQUEST);

      // Assess
      expect(seenByRound[0]).toEqual([]);
      expect(seenByRound[1]).toEqual([
        { ...step, name: 'lookup', input: { id: 1 }, content: 'lookup: {"id":1}', isError: false, durationMs: expect.any(Number) as number, order: 0 },
        { ...step, name: 'broken', input: { id: 2 }, content: 'Tool broken failed: down', isError: true, durationMs: expect.any(Number) as number, order: 1 },
      ]);
      expect(seenByRound[2]?.map((record) => [record.name, record.order])).toEqual([
        ['lookup', 0],
        ['broken', 1],
        ['lookup', 2],
      ]);
    });

    it('hands the model the record of a concurrent run of the step that recorded the same call first', async () => {
      // Prepare: while this run's tool runs, another run of the step records its result for the same call
      const journal = new MemoryJournal();
      const step = { taskId: 't-1', stepKey: 'Work#billing' };
      const lookup = fakeTool('lookup', async () => {
        await journal.record({ ...step, name: 'lookup', input: { id: 1 }, content: 'the other run’s result', isError: false, durationMs: 5, order: 0 });
        return 'this run’s result';
      });
      const model = new QueuedModel([askingFor([use('u1', 'lookup', { id: 1 })]), answering('done')]);

      // Act
      await loopOver(model, [lookup.tool], { journal: { journal, ...step } }).converse(REQUEST);

      // Assess
      expect(toolResultsIn(model.requests[1])).toEqual([{ toolUseId: 'u1', content: 'the other run’s result', isError: false }]);
    });

    it('gives a tool the same idempotencyKey on two runs of the same step, and another key for another input or another step', async () => {
      // Prepare: two runs of one step whose first run's records were lost (the crash window the key closes)
      const keysOf = async (stepKey: string): Promise<string[]> => {
        const lookup = fakeTool('lookup');
        const model = new QueuedModel([askingFor([use('first-run-id', 'lookup', { id: 1, month: 'october' }), use('u2', 'lookup', { id: 2 })]), answering('done')]);
        await loopOver(model, [lookup.tool], { journal: { journal: new MemoryJournal(), taskId: 't-1', stepKey } }).converse(REQUEST);
        return lookup.calls.map((call) => call.context.idempotencyKey);
      };
      const rerunKeys = async (): Promise<string[]> => {
        const lookup = fakeTool('lookup');
        const model = new QueuedModel([askingFor([use('another-id', 'lookup', { month: 'october', id: 1 })]), answering('done')]);
        await loopOver(model, [lookup.tool], { journal: { journal: new MemoryJournal(), taskId: 't-1', stepKey: 'Work#billing' } }).converse(REQUEST);
        return lookup.calls.map((call) => call.context.idempotencyKey);
      };

      // Act
      const [firstRun, secondRun, otherStep] = [await keysOf('Work#billing'), await rerunKeys(), await keysOf('Work#other')];

      // Assess
      expect(firstRun).toHaveLength(2);
      expect(secondRun[0]).toBe(firstRun[0]);
      expect(firstRun[1]).not.toBe(firstRun[0]);
      expect(otherStep[0]).not.toBe(firstRun[0]);
    });
  });
  describe('Method: converse (limits that a misbehaving model meets)', () => {
    it('counts calls of unknown tools towards maxToolCalls, so a model inventing tools is stopped', async () => {
      const requests: ModelRequest[] = [];
      let round = 0;
      const model = {
        converse: (request: ModelRequest) => {
          requests.push(request);
          round += 1;
          return Promise.resolve(round <= 10 ? askingFor([use(`u${String(round)}`, 'invented', { n: round })]) : answering('done'));
        },
      };
      const loop = loopOver(model, [fakeTool('real').tool], { maxToolCalls: 2 });

      await expect(loop.converse(REQUEST)).rejects.toThrow(ToolCallLimitError);
      expect(requests.length).toBeLessThanOrEqual(4);
    });

    it('tells the model about the timeout even when the tool rejects as soon as it is aborted', async () => {
      const requests: ModelRequest[] = [];
      const replies = [askingFor([use('u1', 'fetchy', {})]), answering('done')];
      const model = { converse: (request: ModelRequest) => { requests.push(request); return Promise.resolve(replies.shift() ?? answering('done')); } };
      const fetchy: Tool = {
        spec: { name: 'fetchy', description: 'd', inputSchema: { type: 'object' } },
        call: (_input, { signal }) => new Promise<string>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error); }); }),
      };
      await loopOver(model, [fetchy], { callTimeoutMs: 20 }).converse(REQUEST);

      expect(toolResultsIn(requests[1])[0]?.content).toMatch(/timed out after 20 ms/);
    });
  });
  describe('Method: converse (the step deadline)', () => {
    it("cuts a call's timeout to the time the step has left", async () => {
      const requests: ModelRequest[] = [];
      const replies = [askingFor([use('u1', 'slow', {})]), answering('done')];
      const model = { converse: (request: ModelRequest) => { requests.push(request); return Promise.resolve(replies.shift() ?? answering('done')); } };
      const slow = fakeTool('slow', (_input, { signal }) => new Promise<string>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('aborted')); }); }));
      const started = Date.now();
      await loopOver(model, [slow.tool], { callTimeoutMs: 10_000, deadline: Date.now() + 50 }).converse(REQUEST);

      expect(Date.now() - started).toBeLessThan(5_000);
      expect(toolResultsIn(requests[1])[0]?.content).toMatch(/timed out after \d{1,2} ms/);
    });
  });
  describe('Method: converse (input checked against the tool schema)', () => {
    it('does not run a call whose input breaks the schema, tells the model why, and runs the fixed call', async () => {
      const requests: ModelRequest[] = [];
      const replies = [askingFor([use('u1', 'lookup', { invoiceId: 'nope' })]), askingFor([use('u2', 'lookup', { invoiceId: 'INV-1042' })]), answering('done')];
      const model = { converse: (request: ModelRequest) => { requests.push(request); return Promise.resolve(replies.shift() ?? answering('done')); } };
      const calls: Record<string, unknown>[] = [];
      const lookup: Tool = {
        spec: { name: 'lookup', description: 'Looks an invoice up.', inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { invoiceId: { type: 'string', pattern: '^INV-[0-9]{4}$' } }, required: ['invoiceId'] } },
        call: (input) => { calls.push(input); return Promise.resolve('found'); },
      };
      const reports: ToolCallReport[] = [];
      await loopOver(model, [lookup], { onCall: (report) => reports.push(report) }).converse(REQUEST);

      expect(toolResultsIn(requests[1])[0]).toEqual({ toolUseId: 'u1', content: 'Not run: the input does not fit the schema of lookup: /invoiceId must match pattern "^INV-[0-9]{4}$"', isError: true });
      expect(calls).toEqual([{ invoiceId: 'INV-1042' }]);
      expect(reports.map((report) => report.ok)).toEqual([false, true]);
    });
  });
});
