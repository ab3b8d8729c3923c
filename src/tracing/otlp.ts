/**
 * A small OTLP/HTTP JSON span exporter (OTLP specification, "OTLP/HTTP",
 * JSON encoding: ids as hex strings, times as decimal strings of Unix nanoseconds).
 * Spans are queued by the request path (one array push) and sent in batches
 * off the request path: by a timer, and as soon as a full batch is queued
 * (scheduled with setImmediate, as OpenTelemetry's BatchSpanProcessor
 * exports at maxExportBatchSize), so under load the sender keeps up instead
 * of the queue filling between two ticks. The queue is bounded: past
 * `maxQueue` spans are dropped and counted, never waited for; a failed POST
 * drops its batch (counted) rather than retrying into a growing backlog.
 */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** 1 internal, 2 server, 3 client (OTLP SpanKind). */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: [string, string | number][];
  error: boolean;
}

export interface ExporterCounters {
  exported(n: number): void;
  dropped(n: number): void;
}

export interface ExporterOptions {
  maxQueue?: number;
  batchSize?: number;
  intervalMs?: number;
  serviceName?: string;
}

export class OtlpExporter {
  #queue: SpanRecord[] = [];
  #timer: ReturnType<typeof setInterval>;
  #sending = false;
  readonly #maxQueue: number;
  readonly #batch: number;
  readonly #service: string;

  constructor(
    readonly url: string,
    readonly counters: ExporterCounters,
    opts: ExporterOptions = {},
  ) {
    this.#maxQueue = opts.maxQueue ?? 4096;
    this.#batch = opts.batchSize ?? 512;
    this.#service = opts.serviceName ?? "gateway";
    this.#timer = setInterval(() => void this.flush(), opts.intervalMs ?? 1000);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Queue one span (request path): O(1), never blocks. */
  add(span: SpanRecord): void {
    if (this.#queue.length >= this.#maxQueue) {
      this.counters.dropped(1);
      return;
    }
    // A full batch: send it now rather than at the next tick (the timer alone capped export at maxQueue per interval).
    if (this.#queue.push(span) === this.#batch && !this.#sending) setImmediate(this.#flushNow);
  }

  readonly #flushNow = () => void this.flush();

  get queued(): number {
    return this.#queue.length;
  }

  /** Take up to `max` queued spans, oldest first (the sender's next batch; benches empty the queue with it). */
  drain(max = Infinity): SpanRecord[] {
    return max >= this.#queue.length ? this.#queue.splice(0) : this.#queue.splice(0, max);
  }

  /** Send what is queued now, batch by batch, then whatever full batches queued meanwhile (a partial one waits for the next tick). */
  async flush(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      let due = this.#queue.length;
      while (due > 0 || this.#queue.length >= this.#batch) {
        const batch = this.drain(this.#batch);
        due -= batch.length;
        try {
          const res = await fetch(this.url, { method: "POST", headers: { "content-type": "application/json" }, body: this.#encode(batch), signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (res.ok) this.counters.exported(batch.length);
          else this.counters.dropped(batch.length);
        } catch {
          this.counters.dropped(batch.length);
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #encode(batch: SpanRecord[]): string {
    const origin = performance.timeOrigin;
    const nanos = (ms: number) => (BigInt(Math.round((origin + ms) * 1000)) * 1000n).toString();
    return JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: this.#service } }] },
          scopeSpans: [
            {
              scope: { name: "gateway" },
              spans: batch.map((s) => ({
                traceId: s.traceId,
                spanId: s.spanId,
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name,
                kind: s.kind,
                startTimeUnixNano: nanos(s.startMs),
                endTimeUnixNano: nanos(s.endMs),
                attributes: s.attributes.map(([key, v]) => ({ key, value: typeof v === "number" ? { intValue: String(v) } : { stringValue: v } })),
                status: { code: s.error ? 2 : 0 },
              })),
            },
          ],
        },
      ],
    });
  }
}
