/**
 * Test support: a local runtime on the test run's DynamoDB Local (started once by
 * test/global-setup.ts), stopped after the work whatever happens.
 *
 * @example
 * ```ts
 * const result = await withTestRuntime({ model: new ScriptedModel() }, (runtime) => runtime.run({ team, input, taskId }));
 * ```
 */
import { inject } from 'vitest';
import { LocalRuntime, type LocalRuntimeOptions } from '../../local/local-runtime.ts';

export async function withTestRuntime<T>(options: Omit<LocalRuntimeOptions, 'dataDir' | 'endpoint'>, work: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
  const runtime = await LocalRuntime.connect(inject('dynamoEndpoint'), options);
  try {
    return await work(runtime);
  } finally {
    await runtime.stop();
  }
}
