/**
 * One tool call of a step, made at most once: the call's recorded result when the step made it
 * before (a resume, a retry), else the tool's, with a timeout cut to the step's deadline, recorded
 * in the {@link ToolCallJournal} before anyone sees it. A tool's failure or timeout is a result
 * (`isError`), not an exception; a journal that cannot be read or written throws, and so does a
 * tool whose infrastructure failed (`InfrastructureError`). The tool loop
 * calls tools through it, and so does a step that calls a tool itself (a verifier's facts tool).
 *
 * @example
 * ```ts
 * const caller = new ToolCaller({ callTimeoutMs: 10_000, journal: { journal, taskId: 't-1', stepKey: 'Verify#verifier' } });
 * const { content, isError } = await caller.call(factsTool, { id: 'facts', name: 'fact_lookup', input: { facts: ['readsPerSecond'] } });
 * ```
 */
import { InfrastructureError } from '../core/errors.ts';
import type { ToolResult, ToolUse } from '../models/model-provider.ts';
import type { Tool } from './tool.ts';
import { inputProblems } from './tool-input.ts';
import { type ToolCallJournal, callFingerprint } from './tool-call-journal.ts';

/** A tool call as it is reported (to logs, metrics and traces). */
export interface ToolCallReport {
  name: string;
  input: Record<string, unknown>;
  durationMs: number;
  ok: boolean;
  /** Its result came from the journal: the tool did not run again. */
  restored: boolean;
  /** The same call as one before it in the step: not run. */
  repeated: boolean;
}

export interface ToolCallerOptions {
  callTimeoutMs: number;
  /** When the step runs out of time (epoch ms): no call may run past it. @default none */
  deadline?: number | undefined;
  /** Where the step's calls are recorded. @default none: an unfenced step (no epoch) records nothing */
  journal?: { journal: Pick<ToolCallJournal, 'recall' | 'record'>; taskId: string; stepKey: string } | undefined;
  /** Hears of every call. @default none */
  onCall?: ((report: ToolCallReport) => void) | undefined;
  /** Wraps each run of a tool (not a recalled result): the agent traces it (an X-Ray subsegment). @default the run as it is */
  trace?: ((name: string, run: () => Promise<ToolOutcome>) => Promise<ToolOutcome>) | undefined;
}

/** What a call gave: the tool's text, or its error as text. */
export type ToolOutcome = Omit<ToolResult, 'toolUseId'>;

export class ToolCaller {
  /** The place of the next call in the step, for the journal's listing. */
  private order = 0;

  public constructor(private readonly options: ToolCallerOptions) {}

  /** The recorded result of this call, or the tool's, recorded before it is returned. */
  public async call(tool: Tool, use: ToolUse): Promise<ToolOutcome> {
    const { journal, onCall } = this.options;
    const order = this.order;
    this.order += 1;
    const key = journal && { taskId: journal.taskId, stepKey: journal.stepKey, name: use.name, input: use.input };
    const recorded = key && (await journal.journal.recall(key));
    if (recorded) {
      onCall?.({ name: use.name, input: use.input, durationMs: recorded.durationMs, ok: !recorded.isError, restored: true, repeated: false });
      return { content: recorded.content, isError: recorded.isError };
    }
    const problems = inputProblems(tool, use.input);
    if (problems.length > 0) {
      // Not run and not recorded: nothing happened, and the model may send a fixed input.
      onCall?.({ name: use.name, input: use.input, durationMs: 0, ok: false, restored: false, repeated: false });
      return { content: `Not run: the input does not fit the schema of ${use.name}: ${problems.join('; ')}`, isError: true };
    }
    const started = performance.now();
    const idempotencyKey = key ? `${key.taskId}:${key.stepKey}:${callFingerprint(use.name, use.input)}` : use.id;
    const run = (): Promise<ToolOutcome> => this.callWithTimeout(tool, use, idempotencyKey);
    const outcome = await (this.options.trace ? this.options.trace(use.name, run) : run());
    const durationMs = performance.now() - started;
    const kept = key ? await journal.journal.record({ ...key, ...outcome, durationMs, order }) : outcome;
    onCall?.({ name: use.name, input: use.input, durationMs, ok: !kept.isError, restored: false, repeated: false });
    return { content: kept.content, isError: kept.isError };
  }

  private async callWithTimeout(tool: Tool, use: ToolUse, idempotencyKey: string): Promise<ToolOutcome> {
    const controller = new AbortController();
    const { deadline } = this.options;
    // A call that outlives the step is lost with it (its Lambda times out): it gets what is left.
    const callTimeoutMs = Math.max(1, Math.min(this.options.callTimeoutMs, deadline === undefined ? Infinity : deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // Rejected first: a tool that rejects as soon as it is aborted must not hide the timeout.
        reject(new Error(`timed out after ${String(callTimeoutMs)} ms`));
        controller.abort();
      }, callTimeoutMs);
    });
    try {
      const content = await Promise.race([tool.call(use.input, { signal: controller.signal, idempotencyKey }), timedOut]);
      return { content, isError: false };
    } catch (error) {
      // Legion's infrastructure under a tool (a Lambda it may not invoke, or throttled) fails the step closed, unrecorded.
      if (error instanceof InfrastructureError) throw error;
      // A tool's failure is its caller's to handle (the model: another input, another tool, or an answer without it).
      return { content: `Tool ${use.name} failed: ${(error as Error).message}`, isError: true };
    } finally {
      clearTimeout(timer);
    }
  }
}
