/**
 * The load generator's HTTP/1.1 wire code: one request encoded once, and an
 * incremental parser for the responses that come back on a keep-alive
 * connection (RFC 9112 §6: Content-Length, chunked, or no body for HEAD, 1xx,
 * 204 and 304). Only what a load generator needs: the status and where the
 * message ends. Bodies are skipped, never kept.
 */

export interface RequestSpec {
  method: string;
  /** Request target: path and query. */
  path: string;
  /** Host header value. */
  host: string;
  headers?: readonly [string, string][];
  body?: Uint8Array | string | null;
}

/** The request's bytes, sent as they are for every request on every connection. */
export function encodeRequest(spec: RequestSpec): Uint8Array {
  const body = spec.body == null ? null : typeof spec.body === "string" ? new TextEncoder().encode(spec.body) : spec.body;
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${spec.host}\r\n`;
  let agent = false;
  for (const [k, v] of spec.headers ?? []) {
    if (/[\r\n\0]/.test(k + v)) throw new Error(`header ${k}: CR, LF and NUL are not allowed`);
    const lower = k.toLowerCase();
    if (lower === "host" || lower === "content-length" || lower === "connection") continue;
    if (lower === "user-agent") agent = true;
    head += `${k}: ${v}\r\n`;
  }
  if (!agent) head += "user-agent: gateway-bench\r\n";
  if (body !== null) head += `content-length: ${body.length}\r\n`;
  head += "\r\n";
  const headBytes = new TextEncoder().encode(head);
  if (body === null) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}

/**
 * Parses the responses of one connection as bytes arrive. `feed` returns the
 * statuses of the responses completed by these bytes (usually one), or
 * throws on bytes that are not HTTP/1.1.
 */
export class ResponseParser {
  private buf: Uint8Array = new Uint8Array(0);
  /** -1: reading a head; otherwise body bytes still to skip (Content-Length). */
  private remaining = -1;
  private chunked = false;
  private status = 0;
  /** The server said `connection: close`: this connection ends after the current response. */
  closing = false;

  constructor(private readonly head: boolean) {}

  feed(data: Uint8Array): number[] {
    const done: number[] = [];
    this.buf = this.buf.length === 0 ? data : concat(this.buf, data);
    for (;;) {
      if (this.remaining === -1 && !this.chunked) {
        const end = indexOfCrlfCrlf(this.buf);
        if (end < 0) {
          if (this.buf.length > 65536) throw new Error("response head larger than 64 KiB");
          break;
        }
        const bodiless = this.startMessage(new TextDecoder().decode(this.buf.subarray(0, end)));
        this.buf = this.buf.subarray(end + 4);
        if (this.status >= 100 && this.status < 200) {
          this.remaining = -1;
          continue; // an interim response: the final one follows
        }
        if (bodiless) done.push(this.finish());
        continue;
      }
      if (this.chunked) {
        const used = skipChunks(this.buf);
        if (used < 0) break;
        this.buf = this.buf.subarray(used);
        this.chunked = false;
        done.push(this.finish());
        continue;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, this.buf.length);
        this.remaining -= take;
        this.buf = this.buf.subarray(take);
        if (this.remaining > 0) break;
        done.push(this.finish());
        continue;
      }
      break;
    }
    return done;
  }

  /** Reads the head; true when the message has no body bytes to wait for. */
  private startMessage(head: string): boolean {
    const lines = head.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (m === null) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    this.status = Number(m[1]);
    let length = -1;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.endsWith("chunked");
      else if (name === "connection" && value.includes("close")) this.closing = true;
    }
    const bodiless = this.head || this.status === 204 || this.status === 304 || this.status < 200;
    this.chunked = !bodiless && chunked;
    this.remaining = bodiless || chunked ? 0 : length >= 0 ? length : 0;
    return !this.chunked && this.remaining === 0;
  }

  private finish(): number {
    this.remaining = -1;
    return this.status;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** Bytes used by a complete chunked body (RFC 9112 §7.1) at the start of `b`, or -1 when more are needed. */
function skipChunks(b: Uint8Array): number {
  let at = 0;
  for (;;) {
    const eol = indexOfCrlf(b, at);
    if (eol < 0) return -1;
    const size = parseInt(new TextDecoder().decode(b.subarray(at, eol)).split(";")[0]!.trim(), 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    at = eol + 2;
    if (size === 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        const end = indexOfCrlf(b, at);
        if (end < 0) return -1;
        if (end === at) return at + 2;
        at = end + 2;
      }
    }
    if (b.length < at + size + 2) return -1;
    at += size + 2;
  }
}

function indexOfCrlf(b: Uint8Array, from: number): number {
  for (let i = from; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}
