import type { Socket, TCPSocketListener } from "bun";
import { UpstreamPool, type PoolOptions } from "../../../src/client/http1/pool.ts";

/**
 * A TCP upstream that answers with exact bytes, for framing tests the HTTP
 * servers would never produce. Requests are split by their own framing
 * (Content-Length or chunked) so keep-alive reuse can be observed.
 */
export interface RawRequest {
  head: string;
  body: Buffer;
  /** 0 for the first request on its connection. */
  index: number;
  /** Which connection (0-based, in accept order). */
  conn: number;
}

export interface RawServer {
  readonly port: number;
  readonly requests: RawRequest[];
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections currently open. */
  readonly open: number;
  stop(): void;
}

type Responder = (req: RawRequest, socket: Socket<ConnState>) => void;

interface ConnState {
  id: number;
  buf: Buffer;
  index: number;
}

export function rawServer(respond: Responder, opts: { onOpen?: (socket: Socket<ConnState>) => void } = {}): RawServer {
  const requests: RawRequest[] = [];
  let accepted = 0;
  let open = 0;
  const listener: TCPSocketListener<ConnState> = Bun.listen<ConnState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { id: accepted++, buf: Buffer.alloc(0), index: 0 };
        open++;
        opts.onOpen?.(s);
      },
      data(s, d) {
        const st = s.data;
        st.buf = Buffer.concat([st.buf, d]);
        for (;;) {
          const req = takeRequest(st);
          if (req === null) break;
          requests.push(req);
          respond(req, s);
        }
      },
      close() {
        open--;
      },
      error() {},
    },
  });
  return {
    port: listener.port,
    requests,
    get accepted() {
      return accepted;
    },
    get open() {
      return open;
    },
    stop() {
      listener.stop(true);
    },
  };
}

function takeRequest(st: ConnState): RawRequest | null {
  const end = st.buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = st.buf.subarray(0, end + 4).toString("latin1");
  const lower = head.toLowerCase();
  let bodyEnd = end + 4;
  let body: Buffer;
  const cl = /\r\ncontent-length: *(\d+)/.exec(lower);
  if (/\r\ntransfer-encoding: *chunked/.test(lower)) {
    const parts: Buffer[] = [];
    let pos = end + 4;
    for (;;) {
      const eol = st.buf.indexOf("\r\n", pos);
      if (eol < 0) return null;
      const size = parseInt(st.buf.subarray(pos, eol).toString("latin1"), 16);
      if (size === 0) {
        const fin = st.buf.indexOf("\r\n\r\n", eol);
        if (fin < 0) return null;
        bodyEnd = fin + 4;
        break;
      }
      if (st.buf.length < eol + 2 + size + 2) return null;
      parts.push(st.buf.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (cl) {
    bodyEnd = end + 4 + Number(cl[1]);
    if (st.buf.length < bodyEnd) return null;
    body = Buffer.from(st.buf.subarray(end + 4, bodyEnd));
  } else body = Buffer.alloc(0);
  st.buf = Buffer.from(st.buf.subarray(bodyEnd));
  return { head, body, index: st.index++, conn: st.id };
}

export function poolFor(port: number, over: Partial<PoolOptions> = {}, now?: () => number): UpstreamPool {
  return new UpstreamPool(
    {
      host: "127.0.0.1",
      port,
      tls: false,
      maxConnections: 8,
      idleTimeout: 10_000,
      maxQueue: 16,
      queueTimeout: 2_000,
      connectTimeout: 2_000,
      ...over,
    },
    now,
  );
}

export const GET = "GET /x HTTP/1.1\r\nhost: upstream\r\n\r\n";

export function get(pool: UpstreamPool, opts: { readTimeout?: number; signal?: AbortSignal; method?: string; path?: string } = {}) {
  const method = opts.method ?? "GET";
  return pool.request(`${method} ${opts.path ?? "/x"} HTTP/1.1\r\nhost: upstream\r\n\r\n`, null, {
    readTimeout: opts.readTimeout ?? 2_000,
    signal: opts.signal,
    method,
  });
}

/** Read a body stream to a Buffer (null body → empty). */
export async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  return Buffer.from(await new Response(body).arrayBuffer());
}

/** Await a rejection and return it. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** Poll until `cond` holds, up to `ms`. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}
