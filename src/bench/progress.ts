/**
 * The progress line of `gateway bench` on stderr: route, phase, elapsed time
 * and the current rate. On a terminal it is one line rewritten in place
 * about four times a second; into a pipe or file it is a plain line per
 * second, so CI logs stay readable.
 */
import type { LoadRecord } from "./load.ts";

export class Progress {
  private route = "";
  private phase = "";
  private lastCount = 0;
  private lastAt = 0;
  private lastPrinted = -1;
  private readonly started = performance.now();

  constructor(
    private readonly enabled: boolean,
    private readonly tty: boolean = process.stderr.isTTY === true,
  ) {}

  /** A new phase begins. */
  begin(route: string, phase: string): void {
    this.route = route;
    this.phase = phase;
    this.lastCount = 0;
    this.lastAt = 0;
    this.lastPrinted = -1;
  }

  /** The load generator's onProgress: answers so far, ms since the phase began. */
  readonly update = (rec: LoadRecord, elapsedMs: number): void => {
    if (!this.enabled) return;
    const n = rec.latency.length;
    const dt = elapsedMs - this.lastAt;
    const rate = dt > 0 ? ((n - this.lastCount) * 1000) / dt : 0;
    this.lastCount = n;
    this.lastAt = elapsedMs;
    const second = Math.floor(elapsedMs / 1000);
    if (!this.tty && second === this.lastPrinted) return;
    this.lastPrinted = second;
    this.write(`bench: route=${this.route} phase=${this.phase} elapsed=${(elapsedMs / 1000).toFixed(1)}s total=${this.total()} rate=${Math.round(rate)} req/s`);
  };

  /** A line of its own (phase results, notices). */
  note(text: string): void {
    if (!this.enabled) return;
    if (this.tty) process.stderr.write("\r\x1b[2K");
    process.stderr.write(`${text}\n`);
  }

  end(): void {
    if (this.enabled && this.tty) process.stderr.write("\r\x1b[2K");
  }

  private total(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(0)}s`;
  }

  private write(line: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
  }
}
