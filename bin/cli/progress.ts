/**
 * Progress of a run on stderr (stdout carries only the result): a spinner naming the agent at work
 * on a terminal, one plain line per step otherwise (CI logs, pipes).
 */
import ora, { type Ora } from 'ora';
import type { ProgressEvent } from '../../local/local-runtime.ts';
import type { CliStream } from './cli-io.ts';
import { escapeControlCharacters, writeSafely } from './terminal-text.ts';

export interface ProgressReporter {
  /** Shows a phase of the work (starting the database, running agents...). */
  start(text: string): void;
  update(event: ProgressEvent): void;
  stop(): void;
}

export function createProgressReporter(stream: CliStream, quiet = false): ProgressReporter {
  if (quiet) return { start: () => undefined, update: () => undefined, stop: () => undefined };
  return stream.isTTY ? new SpinnerProgress(stream) : new LineProgress(stream);
}

/** One line about a step; agent names, states and errors come from team files and models: escaped. */
export function describeProgress(event: ProgressEvent): string {
  return escapeControlCharacters(describeStep(event));
}

function describeStep(event: ProgressEvent): string {
  switch (event.type) {
    case 'step-started':
      return `${event.agent} working (${event.state}) · ${event.stepsDone} steps done`;
    case 'step-finished':
      return `${event.agent} finished ${event.state} in ${event.durationMs} ms · ${event.stepsDone} steps done`;
    case 'step-failed':
      return `${event.agent} failed ${event.state}: ${event.error}`;
  }
}

class SpinnerProgress implements ProgressReporter {
  private readonly spinner: Ora;
  private readonly active = new Map<string, string>();

  public constructor(stream: CliStream) {
    this.spinner = ora({ stream, discardStdin: false });
  }

  public start(text: string): void {
    this.spinner.start(escapeControlCharacters(text));
  }

  public update(event: ProgressEvent): void {
    const key = `${event.agent}/${event.state}`;
    if (event.type === 'step-started') this.active.set(key, event.agent);
    else this.active.delete(key);
    if (event.type === 'step-failed') this.spinner.warn(describeProgress(event)).start();
    const working = [...this.active.values()];
    this.spinner.text = escapeControlCharacters(working.length > 0
      ? `${working.join(', ')} working · ${event.stepsDone} steps done`
      : `${event.stepsDone} steps done`);
  }

  public stop(): void {
    this.spinner.stop();
  }
}

class LineProgress implements ProgressReporter {
  public constructor(private readonly stream: CliStream) {}

  public start(text: string): void {
    writeSafely(this.stream, `${text}\n`);
  }

  public update(event: ProgressEvent): void {
    this.stream.write(`  ${describeProgress(event)}\n`);
  }

  public stop(): void {
    // Nothing to clear: every line is already final.
  }
}
