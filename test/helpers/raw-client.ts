import type { Socket } from "bun";

/** One HTTP/1.1 response as read off the wire by {@link RawConnection}. */
export interface RawResponse {
  status: number;
  /** The head as received, status line through the empty line. */
  head: string;
  /** Lower-cased names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  /** The body, de-chunked. */
  body: string;
}

/**
 * A client connection that writes exact bytes and reads responses one at a
 * time, framed by their own Content-Length / chunked encoding, so a test can
 * see whether the connection stayed in sync and open after each answer.
 */
export class RawConnection {
  #socket: Socket<undefined> | null = null;
  #buf = "";
  #closed = false;
  #wake: (() => void) | null = null;

  static async open(port: number): Promise<RawConnection> {
    const c = new RawConnection();
    c.#socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => {
          c.#buf += d.toString("latin1");
          c.#notify();
        },
        close: () => c.#onClose(),
        end: () => c.#onClose(),
        error: () => c.#onClose(),
      },
    });
    return c;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received but not yet consumed as a response. */
  get pending(): string {
    return this.#buf;
  }

  write(data: string | Uint8Array): void {
    if (!this.#closed) this.#socket!.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** The next response, or null when the connection closed (or nothing came within `ms`) first. `head`: the request was HEAD (no body). */
  async read(ms = 2000, opts: { head?: boolean } = {}): Promise<RawResponse | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = takeResponse(this.#buf, opts.head ?? false);
      if (r !== null) {
        this.#buf = this.#buf.slice(r.used);
        return r.res;
      }
      if (this.#closed || Date.now() >= deadline) return null;
      await this.#waitData(deadline - Date.now());
    }
  }

  /** Whether the peer closed the connection within `ms`. */
  async waitClosed(ms = 1000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.#closed && Date.now() < deadline) await this.#waitData(deadline - Date.now());
    return this.#closed;
  }

  close(): void {
    this.#socket?.end();
    this.#closed = true;
  }

  #onClose(): void {
    this.#closed = true;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #waitData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, ms));
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/** One response off the front of `buf`, or null when it is not complete yet. */
function takeResponse(buf: string, isHead: boolean): { res: RawResponse; used: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = buf.slice(0, end + 4);
  const lines = head.split("\r\n");
  const status = Number(lines[0]!.slice(9, 12));
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const k = line.slice(0, c).toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  let pos = end + 4;
  let body = "";
  if (status === 100 || status === 103) return { res: { status, head, headers, body }, used: pos };
  if (isHead || status === 204 || status === 304) {
    // no body
  } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    for (;;) {
      const eol = buf.indexOf("\r\n", pos);
      if (eol < 0) return null;
      const size = parseInt(buf.slice(pos, eol), 16);
      if (size === 0) {
        const fin = buf.indexOf("\r\n\r\n", eol);
        if (fin < 0) return null;
        pos = fin + 4;
        break;
      }
      if (buf.length < eol + 2 + size + 2) return null;
      body += buf.slice(eol + 2, eol + 2 + size);
      pos = eol + 2 + size + 2;
    }
  } else if (headers["content-length"] !== undefined) {
    const n = Number(headers["content-length"]);
    if (buf.length < pos + n) return null;
    body = buf.slice(pos, pos + n);
    pos += n;
  }
  return { res: { status, head, headers, body }, used: pos };
}
