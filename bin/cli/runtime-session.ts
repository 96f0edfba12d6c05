/**
 * Starts the local runtime for one CLI command and guarantees it stops: on success, on error, and
 * on Ctrl-C / SIGTERM (DynamoDB Local is a child Java process that must not be left behind).
 *
 * With `watchAlarms` and a data folder (the commands that run agents: run, resume, approve, reject,
 * emit), the alarms are checked once the command's work is done, on the runtime's bus: an alarm that
 * moved into ALARM or back to OK is told on stderr and put on the bus as CloudWatch would (see
 * reportAlarmStateChanges in alarms.ts).
 */
import type { LocalRuntime, LocalRuntimeOptions } from '../../local/local-runtime.ts';
import { writeSafely } from './terminal-text.ts';

export interface SessionOptions extends LocalRuntimeOptions {
  /** Check the alarms of the data folder after the work. @default false */
  watchAlarms?: boolean | undefined;
}

export async function withLocalRuntime<T>(options: SessionOptions, work: (runtime: LocalRuntime) => Promise<T>, onInterrupt?: () => void): Promise<T> {
  const { watchAlarms = false, ...runtimeOptions } = options;
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
    runtime = await Runtime.start(runtimeOptions);
    const result = await work(runtime);
    if (watchAlarms && runtimeOptions.dataDir !== undefined) await checkAlarms(runtime, runtimeOptions.dataDir);
    return result;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await runtime?.stop();
  }
}

async function checkAlarms(runtime: LocalRuntime, dataDir: string): Promise<void> {
  const { metricsFileError } = runtime.telemetry;
  if (metricsFileError) writeSafely(process.stderr, `legion: warning: metrics were not stored in ${dataDir}: ${metricsFileError.message}\n`);
  const { reportAlarmStateChanges } = await import('./alarms.ts');
  await reportAlarmStateChanges(dataDir, runtime.eventBus);
}
