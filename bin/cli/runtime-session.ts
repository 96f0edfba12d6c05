/**
 * Starts the local runtime for one CLI command and guarantees it stops: on success, on error, and
 * on Ctrl-C / SIGTERM (DynamoDB Local is a child Java process that must not be left behind).
 */
import type { LocalRuntime, LocalRuntimeOptions } from '../../local/local-runtime.ts';

export async function withLocalRuntime<T>(options: LocalRuntimeOptions, work: (runtime: LocalRuntime) => Promise<T>, onInterrupt?: () => void): Promise<T> {
  let runtime: LocalRuntime | undefined;
  const interrupt = (signal: NodeJS.Signals): void => {
    onInterrupt?.();
    process.stderr.write(`\nInterrupted (${signal}); stopping the local runtime.\n`);
    void (runtime?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    // Loaded on demand so that usage errors answer without loading the SDK and the interpreter.
    const { LocalRuntime: Runtime } = await import('../../local/local-runtime.ts');
    runtime = await Runtime.start(options);
    return await work(runtime);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await runtime?.stop();
  }
}
