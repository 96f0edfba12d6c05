/**
 * Callback tokens in the local runtime: what Step Functions does for a `.waitForTaskToken` Task.
 * The task's function gets a token; the state waits until someone answers it (SendTaskSuccess /
 * SendTaskFailure through {@link LocalTaskTokens.send}, the client the real request-approval
 * handler is given). An answer may come while the function still runs (a task decided before is
 * answered at once): it is kept until the state waits for it.
 *
 * SendTaskHeartbeat (the approval keeper's) is accepted for a token a state waits on now, and does
 * nothing more: the local interpreter has no HeartbeatSeconds. Any other token is refused as AWS
 * refuses it: `TaskDoesNotExist` (a local execution that stopped WAITING is gone; its task waits in
 * the approval store instead), `InvalidToken` for an empty one.
 *
 * @example
 * ```ts
 * const tokens = new LocalTaskTokens();
 * await tokens.send(new SendTaskSuccessCommand({ taskToken: 't', output: '{"ok":true}' }));
 * await tokens.wait('t', 0); // { answered: true, output: { ok: true } }
 * ```
 */
import { InvalidToken, SendTaskFailureCommand, SendTaskHeartbeatCommand, type SendTaskSuccessCommand, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import { LegionError } from '../functions/core/errors.ts';
import type { TaskCallbackClient } from '../functions/control/request-approval.ts';

/** SendTaskFailure's error, as the waiting Task fails with it (its `name` is what `Catch` matches). */
export class TaskFailureAnswer extends LegionError {
  public constructor(error: string, cause: string) {
    super(cause, { error });
    this.name = error;
  }
}

export type TokenAnswer = { answered: true; output: unknown } | { answered: false };

type Answer = { output: unknown } | { failure: TaskFailureAnswer };

export class LocalTaskTokens implements TaskCallbackClient {
  private readonly answers = new Map<string, Answer>();
  private readonly waiters = new Map<string, (answer: Answer) => void>();

  /** SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat, as the SFN client sends them. */
  public send(command: SendTaskSuccessCommand | SendTaskFailureCommand | SendTaskHeartbeatCommand): Promise<unknown> {
    // As the SDK does, every problem is a rejected promise, never a synchronous throw.
    try {
      if (command instanceof SendTaskHeartbeatCommand) this.heartbeat(command.input.taskToken);
      else this.answer(command);
      return Promise.resolve({});
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** A heartbeat keeps nothing locally (no HeartbeatSeconds here); it only checks that a state waits on the token. */
  private heartbeat(taskToken: string | undefined): void {
    if (!taskToken) throw new InvalidToken({ message: 'Invalid token: empty', $metadata: {} });
    if (!this.waiters.has(taskToken)) throw new TaskDoesNotExist({ message: `Task does not exist anymore: no state waits on token ${taskToken}`, $metadata: {} });
  }

  private answer(command: SendTaskSuccessCommand | SendTaskFailureCommand): void {
    const { taskToken } = command.input;
    if (!taskToken) throw new LegionError('InvalidToken: no taskToken', {});
    const answer: Answer =
      command instanceof SendTaskFailureCommand
        ? { failure: new TaskFailureAnswer(command.input.error ?? 'States.TaskFailed', command.input.cause ?? '') }
        : { output: JSON.parse(command.input.output ?? 'null') as unknown };
    const waiter = this.waiters.get(taskToken);
    if (waiter) waiter(answer);
    else this.answers.set(taskToken, answer);
  }

  /**
   * Waits up to `timeoutMs` for the token's answer. Resolves with the output (SendTaskSuccess),
   * rejects with a {@link TaskFailureAnswer} (SendTaskFailure), or resolves `{ answered: false }`.
   */
  public async wait(taskToken: string, timeoutMs: number): Promise<TokenAnswer> {
    const early = this.answers.get(taskToken);
    const answer =
      early ??
      (await new Promise<Answer | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(taskToken);
          resolve(undefined);
        }, timeoutMs);
        this.waiters.set(taskToken, (given) => {
          clearTimeout(timer);
          this.waiters.delete(taskToken);
          resolve(given);
        });
      }));
    this.answers.delete(taskToken);
    if (answer === undefined) return { answered: false };
    if ('failure' in answer) throw answer.failure;
    return { answered: true, output: answer.output };
  }
}
