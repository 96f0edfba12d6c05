import { Tracer } from '@aws-lambda-powertools/tracer';
import { describe, expect, it } from 'vitest';
import { traceToolCall } from '../../functions/observability/trace-tool-call.ts';
import type { Tool } from '../../functions/tools/tool.ts';
import type { ToolCallJournal, ToolCallRecord } from '../../functions/tools/tool-call-journal.ts';
import { ToolCaller } from '../../functions/tools/tool-caller.ts';

/** TEST DOUBLE: an X-Ray segment (X-Ray cannot run here) that keeps what is done to it and to its subsegments. */
class FakeSegment {
  public readonly subsegments: FakeSegment[] = [];
  public readonly annotations: Record<string, unknown> = {};
  public errors: Error[] = [];
  public errorFlag = false;
  public closed = false;

  public constructor(public readonly name: string) {}

  public addNewSubsegment(name: string): FakeSegment {
    const subsegment = new FakeSegment(name);
    this.subsegments.push(subsegment);
    return subsegment;
  }

  public addAnnotation(key: string, value: unknown): void {
    this.annotations[key] = value;
  }

  public addErrorFlag(): void {
    this.errorFlag = true;
  }

  public addError(error: Error): void {
    this.errors.push(error);
  }

  public close(): void {
    this.closed = true;
  }
}

/** TEST DOUBLE: the Powertools Tracer's segment handling, tracing on. */
function fakeTracer(root: FakeSegment) {
  let active = root;
  const seen: string[] = [];
  const tracer = {
    isTracingEnabled: () => true,
    getSegment: () => active,
    setSegment: (segment: FakeSegment) => {
      active = segment;
      seen.push(segment.name);
    },
  };
  return { tracer: tracer as unknown as Parameters<typeof traceToolCall>[0], active: () => active, seen };
}

describe('Function: traceToolCall', () => {
  it("runs the call in a subsegment named after the tool, annotated with the tool and ok, and makes the invocation's segment active again", async () => {
    const root = new FakeSegment('invocation');
    const { tracer, active, seen } = fakeTracer(root);

    const outcome = await traceToolCall(tracer, 'lookup_invoice', () => Promise.resolve({ content: 'paid', isError: false }));

    expect(outcome).toEqual({ content: 'paid', isError: false });
    expect(root.subsegments.map((segment) => [segment.name, segment.annotations, segment.errorFlag, segment.closed])).toEqual([
      ['### tool lookup_invoice', { tool: 'lookup_invoice', ok: true }, false, true],
    ]);
    expect(seen).toEqual(['### tool lookup_invoice', 'invocation']);
    expect(active()).toBe(root);
  });

  it('flags a call that failed as an error, without its text', async () => {
    const root = new FakeSegment('invocation');

    await traceToolCall(fakeTracer(root).tracer, 'lookup_invoice', () => Promise.resolve({ content: 'Tool lookup_invoice failed: no such invoice C-7', isError: true }));

    const [subsegment] = root.subsegments;
    expect(subsegment?.annotations).toEqual({ tool: 'lookup_invoice', ok: false });
    expect(subsegment?.errorFlag).toBe(true);
    expect(JSON.stringify(subsegment)).not.toContain('C-7');
  });

  it('records a thrown error on the subsegment, closes it and throws it on', async () => {
    const root = new FakeSegment('invocation');
    const { tracer, active } = fakeTracer(root);
    const failure = new Error('AccessDeniedException');

    await expect(traceToolCall(tracer, 'lookup_plan', () => Promise.reject(failure))).rejects.toBe(failure);

    expect(root.subsegments[0]?.errors).toEqual([failure]);
    expect(root.subsegments[0]?.annotations).toEqual({ tool: 'lookup_plan', ok: false });
    expect(root.subsegments[0]?.closed).toBe(true);
    expect(active()).toBe(root);
  });

  it('only runs the call when tracing is off (locally)', async () => {
    const tracer = new Tracer({ serviceName: 'legion-unit-test', enabled: false });

    expect(await traceToolCall(tracer, 'lookup_invoice', () => Promise.resolve({ content: 'paid', isError: false }))).toEqual({ content: 'paid', isError: false });
  });
});

describe('Class: ToolCaller', () => {
  describe('Method: call', () => {
    const tool: Tool = { spec: { name: 'lookup', description: 'Looks up.', inputSchema: { type: 'object' } }, call: () => Promise.resolve('found') };
    const use = { id: 'u1', name: 'lookup', input: { id: 1 } };

    it('traces a run of the tool, and not a result recalled from the journal (nothing ran)', async () => {
      const traced: string[] = [];
      const trace = (name: string, run: () => Promise<{ content: string; isError: boolean }>) => {
        traced.push(name);
        return run();
      };
      let stored: ToolCallRecord | undefined;
      const journal: Pick<ToolCallJournal, 'recall' | 'record'> = {
        recall: () => Promise.resolve(stored),
        record: (call) => {
          stored = call;
          return Promise.resolve(call);
        },
      };
      const options = { callTimeoutMs: 1_000, trace, journal: { journal, taskId: 't-1', stepKey: 'Work#billing' } };

      await new ToolCaller(options).call(tool, use);
      const recalled = await new ToolCaller(options).call(tool, use);

      expect(recalled).toEqual({ content: 'found', isError: false });
      expect(traced).toEqual(['lookup']);
    });
  });
});
