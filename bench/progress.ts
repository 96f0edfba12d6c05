/**
 * A progress counter on stderr: one line rewritten in place on a terminal, a line per tenth
 * otherwise (so a log file stays short). stdout is left to the results.
 *
 * @example
 * ```ts
 * const progress = new Progress('populating', 10_101);
 * progress.add(1);
 * progress.done();
 * ```
 */
import { performance } from 'node:perf_hooks';

const REDRAW_MS = 100;

export class Progress {
  private count = 0;
  private readonly startedAt = performance.now();
  private lastDrawnAt = 0;
  private lastTenth = 0;

  public constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  public add(count: number): void {
    this.count += count;
    if (this.stream.isTTY) {
      const now = performance.now();
      if (now - this.lastDrawnAt >= REDRAW_MS || this.count === this.total) {
        this.lastDrawnAt = now;
        this.stream.write(`\r${this.line()}`);
      }
      return;
    }
    const tenth = Math.floor((this.count * 10) / this.total);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(`${this.line()}\n`);
    }
  }

  public done(): void {
    if (this.stream.isTTY) this.stream.write(`\r${this.line()}\n`);
    else if (this.lastTenth < 10) this.stream.write(`${this.line()}\n`);
  }

  private line(): string {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(this.count / seconds) : 0;
    return `${this.label}: ${this.count.toLocaleString('en-US')} / ${this.total.toLocaleString('en-US')} (${rate}/s, ${seconds.toFixed(1)} s)`;
  }
}
