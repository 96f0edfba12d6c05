/**
 * The local runtime's own guarantees: every Task state is bound before anything runs (an unbound
 * Task would call real AWS), placeholders must all be substituted, and a local Lambda honours its
 * timeout the way the Lambda service does.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnboundTaskError } from '../../functions/core/errors.ts';
import { LocalLambda } from '../../local/local-lambda.ts';
import { ExecutionFailedError, LocalStateMachine } from '../../local/local-state-machine.ts';

const ARN = 'arn:aws:lambda:local:000000000000:function:echo';

const echo = new LocalLambda({
  functionName: 'echo',
  functionArn: ARN,
  timeoutSeconds: 1,
  memoryMb: 128,
  handler: (event) => Promise.resolve({ echoed: event }),
});

const slow = new LocalLambda({
  functionName: 'slow',
  functionArn: `${ARN}-slow`,
  timeoutSeconds: 1,
  memoryMb: 128,
  handler: () => new Promise((resolve) => setTimeout(resolve, 1500)),
});

async function aslFile(definition: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'legion-asl-'));
  const file = join(dir, 'machine.asl.json');
  await writeFile(file, JSON.stringify(definition));
  return file;
}

function lambdaTask(functionName: Record<string, string>, extra: Record<string, unknown> = {}): unknown {
  return {
    StartAt: 'Call',
    States: {
      Call: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { ...functionName, Payload: { 'value.$': '$.value' } },
        OutputPath: '$.Payload',
        TimeoutSeconds: 10,
        End: true,
        ...extra,
      },
    },
  };
}

describe('Class: LocalStateMachine', () => {
  describe('Method: fromFile', () => {
    it('binds a Lambda Task to its local function and runs it', async () => {
      const machine = await LocalStateMachine.fromFile(await aslFile(lambdaTask({ FunctionName: '${Fn}' })), { Fn: ARN }, [echo]);
      await expect(machine.run({ value: 7 }, { executionName: 'e1' })).resolves.toEqual({ echoed: { value: 7 } });
    });

    it('refuses a Task whose resource has no local implementation', async () => {
      const definition = { StartAt: 'Put', States: { Put: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Parameters: {}, End: true } } };
      await expect(LocalStateMachine.fromFile(await aslFile(definition), {}, [echo])).rejects.toThrow(UnboundTaskError);
    });

    it('refuses a Task naming a function that is not local', async () => {
      const file = await aslFile(lambdaTask({ FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:real' }));
      await expect(LocalStateMachine.fromFile(file, {}, [echo])).rejects.toThrow(/not a local function/);
    });

    it('refuses a placeholder without a substitution', async () => {
      const file = await aslFile(lambdaTask({ FunctionName: '${Missing}' }));
      await expect(LocalStateMachine.fromFile(file, {}, [echo])).rejects.toThrow(/\$\{Missing\}/);
    });
  });

  describe('Method: run', () => {
    it('fails the execution when a dynamic function name is unknown, as Lambda would', async () => {
      const machine = await LocalStateMachine.fromFile(await aslFile(lambdaTask({ 'FunctionName.$': '$.fn' })), {}, [echo]);
      const failure = await machine.run({ value: 1, fn: 'nope' }, { executionName: 'e2' }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ExecutionFailedError);
      expect((failure as ExecutionFailedError).errorName).toBe('Lambda.ResourceNotFoundException');
    });

    it('times out a local Lambda after its configured timeout', async () => {
      const machine = await LocalStateMachine.fromFile(await aslFile(lambdaTask({ FunctionName: '${Fn}' })), { Fn: `${ARN}-slow` }, [slow]);
      const failure = await machine.run({ value: 1 }, { executionName: 'e3' }).catch((error: unknown) => error);
      expect((failure as ExecutionFailedError).errorName).toBe('Sandbox.Timedout');
    });
  });
});
