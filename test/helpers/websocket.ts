/**
 * WebSocket test helpers: a client whose events can be awaited in order, and
 * a real upstream (Bun.serve with a websocket handler on port 0) whose
 * behaviour is picked by the request path.
 */

export interface WsClient {
  ws: WebSocket;
  /** Resolves when the socket opened; rejects with the close when it never did. */
  opened: Promise<void>;
  /** The next message (in arrival order), or rejects after `ms`. */
  next(ms?: number): Promise<string | Buffer>;
  /** The close event's code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  pongs: Buffer[];
  pings: Buffer[];
}

export function wsClient(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): WsClient {
  const ws = new WebSocket(url, { protocols: opts.protocols, headers: opts.headers } as Bun.WebSocketOptions);
  ws.binaryType = "nodebuffer";
  const queue: (string | Buffer)[] = [];
  const waiters: ((m: string | Buffer) => void)[] = [];
  const pongs: Buffer[] = [];
  const pings: Buffer[] = [];
  ws.onmessage = (e) => {
    const w = waiters.shift();
    if (w) w(e.data as string | Buffer);
    else queue.push(e.data as string | Buffer);
  };
  ws.addEventListener("pong", (e: MessageEvent) => pongs.push(e.data as Buffer));
  ws.addEventListener("ping", (e: MessageEvent) => pings.push(e.data as Buffer));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (e: CloseEvent) => resolve({ code: e.code, reason: e.reason }));
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    closed.then((c) => reject(new Error(`closed before open: ${c.code} ${c.reason}`)));
  });
  opened.catch(() => {});
  return {
    ws,
    opened,
    closed,
    pongs,
    pings,
    next(ms = 3000) {
      const m = queue.shift();
      if (m !== undefined) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no message in time")), ms);
        waiters.push((v) => {
          clearTimeout(t);
          resolve(v);
        });
      });
    },
  };
}

export interface WsUpstream {
  server: ReturnType<typeof Bun.serve>;
  port: number;
  /** Handshake requests the upstream received (their headers). */
  handshakes: Record<string, string>[];
  /** Close codes and reasons the upstream's sockets saw. */
  closes: { code: number; reason: string }[];
  pings: Buffer[];
  stop(): void;
}

/**
 * Paths: /echo (echo every message; "close:CODE:REASON" closes with that
 * code), /headers (sends the handshake's headers as JSON first), /reject
 * (403 instead of 101), /flood (sends `FLOOD_CHUNK` messages as fast as its
 * own buffer lets it, counting what it could queue), anything else echoes.
 * /bye (sends "last words" and closes with 4002 at once), /sink (never reads), "ping-me" (pings the client with "from-upstream"), "die" (drops the connection without a close frame),
 * /noproto (a 101 naming no subprotocol whatever was offered).
 * Offered subprotocols: picks the last one offered that it knows ("chat.v2", "chat.v1").
 */
export function startWsUpstream(opts: { tls?: { cert: string; key: string } } = {}): WsUpstream & { flooded: () => number } {
  const handshakes: Record<string, string>[] = [];
  const closes: { code: number; reason: string }[] = [];
  const pings: Buffer[] = [];
  let flooded = 0;
  type Data = { path: string; headers: Record<string, string> };
  const server = Bun.serve<Data>({
    port: 0,
    hostname: "127.0.0.1",
    tls: opts.tls,
    fetch(req, srv) {
      const url = new URL(req.url);
      const headers = Object.fromEntries(req.headers) as Record<string, string>;
      handshakes.push({ ...headers, ":path": url.pathname + url.search });
      if (url.pathname === "/reject") return new Response("no", { status: 403 });
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
      const known = ["chat.v2", "chat.v1"].find((p) => offered.includes(p));
      const noproto = url.pathname === "/noproto";
      const upgradeHeaders: Record<string, string> = known && !noproto ? { "sec-websocket-protocol": known } : {};
      // Bun's upgrade would echo the first offer: /noproto answers without any, as a server that speaks none of them.
      if (noproto) req.headers.delete("sec-websocket-protocol");
      if (srv.upgrade(req, { headers: upgradeHeaders, data: { path: url.pathname, headers } })) return;
      return new Response("not a websocket", { status: 400 });
    },
    websocket: {
      open(ws) {
        if (ws.data.path === "/headers") ws.send(JSON.stringify(ws.data.headers));
        if (ws.data.path === "/bye") {
          ws.send("last words");
          ws.close(4002, "gone");
        }
        if (ws.data.path === "/flood") flood(ws);
        // Never reads what it is sent: TCP pushes back on the gateway.
        if (ws.data.path === "/sink") ws.pause();
      },
      message(ws, m) {
        if (typeof m === "string" && m.startsWith("close:")) {
          const [, code, reason] = m.split(":");
          ws.close(Number(code), reason);
          return;
        }
        if (m === "ping-me") {
          ws.ping("from-upstream");
          return;
        }
        if (m === "die") {
          ws.terminate();
          return;
        }
        ws.send(m);
      },
      drain(ws) {
        if (ws.data.path === "/flood") flood(ws);
      },
      ping(_ws, data) {
        pings.push(data);
      },
      close(_ws, code, reason) {
        closes.push({ code, reason });
      },
      backpressureLimit: 64 * 1024 * 1024,
    },
  });
  const chunk = Buffer.alloc(FLOOD_CHUNK, 7);
  function flood(ws: Bun.ServerWebSocket<Data>): void {
    // Send until Bun reports backpressure; drain() resumes. Stops after FLOOD_TOTAL bytes.
    while (flooded < FLOOD_TOTAL && ws.readyState === 1) {
      const r = ws.send(chunk);
      if (r <= 0 && r !== -1) return;
      flooded += FLOOD_CHUNK;
      if (r === -1) return;
    }
  }
  return {
    server,
    port: server.port!,
    handshakes,
    closes,
    pings,
    flooded: () => flooded,
    stop: () => server.stop(true),
  };
}

export const FLOOD_CHUNK = 64 * 1024;
export const FLOOD_TOTAL = 256 * 1024 * 1024;
