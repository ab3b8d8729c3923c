/**
 * One JSON line per request on stdout. Lines are batched and written with one
 * syscall per flush, since a write per request costs more than the proxying.
 * Flushed every 100 ms, at 64 KiB, and on drain.
 */
export interface AccessEntry {
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  client_ip: string;
  route: string | null;
  target: string | null;
  tries: number;
  error?: string;
  /** Fields the policies' onLog hooks added (upstream_ms, bytes_out, trace_id, cache, limit…), written after the fixed ones. */
  [field: string]: unknown;
}

const FIXED = new Set(["request_id", "method", "path", "status", "duration_ms", "client_ip", "route", "target", "tries", "error"]);

function extras(e: AccessEntry): string {
  let s = "";
  for (const k in e) {
    if (FIXED.has(k)) continue;
    const v = e[k];
    if (v !== undefined) s += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return s;
}

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 100;

export class AccessLog {
  #buf = "";
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #write: (s: string) => void;

  constructor(write: (s: string) => void = (s) => void process.stdout.write(s)) {
    this.#write = write;
  }

  log(e: AccessEntry): void {
    this.#buf += `{"time":"${new Date().toISOString()}","request_id":${JSON.stringify(e.request_id)},"method":"${e.method}","path":${JSON.stringify(e.path)},"status":${e.status},"duration_ms":${e.duration_ms.toFixed(3)},"client_ip":"${e.client_ip}","route":${JSON.stringify(e.route)},"target":${JSON.stringify(e.target)},"tries":${e.tries}${e.error ? `,"error":${JSON.stringify(e.error)}` : ""}${extras(e)}}\n`;
    if (this.#buf.length >= FLUSH_BYTES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#buf) {
      const s = this.#buf;
      this.#buf = "";
      this.#write(s);
    }
  }
}
