/**
 * The tool loop of an agent step: the model asks for tools, they run, their results go back, until
 * the model answers. It sits around the agent's (budgeted) model, so every round is a model call
 * like any other: budgeted (tool results are input tokens of the next round), metered, retried.
 *
 * - **Recorded before the model sees it**: each call's result goes to the {@link ToolCallJournal}
 *   first; a step run again (a resume after a crash, a retry) gets the recorded result for the
 *   same call instead of running the tool again.
 * - **Bounded**: calls past `maxToolCalls` are not run; the model gets a tool error telling it to
 *   answer, and asking again after that is a {@link ToolCallLimitError}. Each call has a timeout.
 * - **Loops**: the same call again (same tool, same input) is not run; the model is told it has the
 *   result, and `onRepeat` reports it (a `loop` detection); a third time is a {@link ToolLoopError}.
 * - A tool that throws, times out or is unknown gives the model a tool error, not the step.
 *
 * @example
 * ```ts
 * const model = new ToolLoop(budgetedModel, { toolbox, agentId: 'billing', maxToolCalls: 8, callTimeoutMs: 10_000,
 *   journal: { journal, taskId: 't-1', stepKey: 'Work#billing' } });
 * const reply = await model.converse(request); // the final answer, usage summed over the rounds
 * ```
 */
import { ToolCallLimitError, ToolLoopError } from '../core/errors.ts';
import type { ConversationMessage, ModelProvider, ModelReply, ModelRequest, ToolResult, ToolUse } from '../models/model-provider.ts';
import type { Tool } from './tool.ts';
import { callFingerprint } from './tool-call-journal.ts';
import { ToolCaller, type ToolCallerOptions } from './tool-caller.ts';

export type { ToolCallReport } from './tool-caller.ts';

/** A call the model asked for again in one step, refused (see ToolLoopOptions.onRepeat). */
export interface RepeatedToolCall {
  name: string;
  /** The call's identity (tool and input): the same for the same call on any run of the step. */
  fingerprint: string;
}

export interface ToolLoopOptions extends ToolCallerOptions {
  toolbox: { tools(): Promise<readonly Tool[]> };
  agentId: string;
  maxToolCalls: number;
  /** Hears of a repeated call (a loop) before the model is told; awaited. @default none */
  onRepeat?: ((repeat: RepeatedToolCall) => Promise<void>) | undefined;
}

/** Repeats of one call the model is warned about before the step fails. */
const REPEATS_WARNED = 1;

export class ToolLoop implements ModelProvider {
  public constructor(
    private readonly inner: ModelProvider,
    private readonly options: ToolLoopOptions,
  ) {}

  public async converse(request: ModelRequest): Promise<ModelReply> {
    const tools = await this.options.toolbox.tools();
    if (tools.length === 0) return this.inner.converse(request);
    const round = new ToolRound(tools, this.options);
    let messages: readonly ConversationMessage[] = request.messages ?? [];
    const usage = { inputTokens: 0, outputTokens: 0 };
    for (;;) {
      const reply = await this.inner.converse({ ...request, messages, tools: tools.map((tool) => tool.spec) });
      usage.inputTokens += reply.usage.inputTokens;
      usage.outputTokens += reply.usage.outputTokens;
      // Tool calls count whatever the stop reason: some OpenAI-compatible servers send them with `stop`.
      const toolUses = reply.toolUses ?? [];
      if (toolUses.length === 0) return { ...reply, usage };
      const toolResults = await round.run(toolUses);
      messages = [...messages, { role: 'assistant', text: reply.text, toolUses }, { role: 'user', toolResults }];
    }
  }
}

/** The calls of one step: how many were made, which were asked before, whether the model was told to stop. */
class ToolRound {
  private calls = 0;
  /** The model was told, in an earlier round, that the limit is reached. */
  private limitAnnounced = false;
  private limitToldThisRound = false;
  private readonly asked = new Map<string, number>();

  private readonly caller: ToolCaller;

  public constructor(
    private readonly tools: readonly Tool[],
    private readonly options: ToolLoopOptions,
  ) {
    this.caller = new ToolCaller(options);
  }

  public async run(toolUses: readonly ToolUse[]): Promise<ToolResult[]> {
    const results: ToolResult[] = [];
    // One at a time, in the model's order: a side-effecting tool's effects keep that order.
    for (const use of toolUses) results.push({ toolUseId: use.id, ...(await this.answer(use)) });
    if (this.limitToldThisRound) this.limitAnnounced = true;
    return results;
  }

  private async answer(use: ToolUse): Promise<Omit<ToolResult, 'toolUseId'>> {
    const { agentId, maxToolCalls } = this.options;
    if (this.calls >= maxToolCalls) {
      if (this.limitAnnounced) throw new ToolCallLimitError(agentId, maxToolCalls);
      this.limitToldThisRound = true;
      return { content: `Not run: this step's limit of ${String(maxToolCalls)} tool calls is reached. Answer with what you have.`, isError: true };
    }
    const fingerprint = callFingerprint(use.name, use.input);
    const repeats = this.asked.get(fingerprint);
    if (repeats !== undefined) return this.repeated(use, fingerprint, repeats);
    this.asked.set(fingerprint, 0);
    const tool = this.tools.find((candidate) => candidate.spec.name === use.name);
    // An unknown tool counts too: a model inventing names with new inputs must still meet the limit.
    this.calls += 1;
    if (!tool) return { content: `No tool is named ${use.name}. The tools are: ${this.tools.map((known) => known.spec.name).join(', ')}.`, isError: true };
    return this.caller.call(tool, use);
  }

  private async repeated(use: ToolUse, fingerprint: string, repeats: number): Promise<Omit<ToolResult, 'toolUseId'>> {
    if (repeats >= REPEATS_WARNED) throw new ToolLoopError(this.options.agentId, use.name);
    this.asked.set(fingerprint, repeats + 1);
    this.options.onCall?.({ name: use.name, input: use.input, durationMs: 0, ok: false, restored: false, repeated: true });
    await this.options.onRepeat?.({ name: use.name, fingerprint });
    return { content: `Not run again: ${use.name} was already called with this input in this step, and its result is above. Do not repeat a call.`, isError: true };
  }
}
