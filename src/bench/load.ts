/**
 * The load generator of `gateway bench`: HTTP/1.1 keep-alive connections over
 * Bun.connect, one request in flight per connection, in one of two models:
 *
 *  - closed loop: every connection sends its next request as soon as the
 *    previous answer is in (wrk's model: finds the maximum throughput);
 *  - open model (`rate`): requests are due at a constant rate whatever the
 *    answers do; a due request waits for a free connection, and its latency
 *    is counted from when it was due, not from when it could be sent
 *    (coordinated-omission correction, as wrk2 does), so a stall shows up in
 *    the percentiles instead of hiding behind fewer samples.
 *
 * When the time is up, requests already due are still sent as connections
 * free up (the drain, bounded by the request timeout); those never sent are
 * `unsent` (status -1), the generator's backlog, not server failures.
 *
 * Bounded in time (`durationMs`) and count (`maxRequests`); each request has
 * a timeout after which it counts as failed and its connection is replaced.
 * A request the server never began to answer on a reused keep-alive
 * connection that then closed is sent once more on a new one (RFC 9112 §9.3.1:
 * what every HTTP client does for idempotent requests); counted as `resent`.
 */
import type { Socket } from "bun";
import { ResponseParser } from "./http.ts";

export interface LoadOptions {
  hostname: string;
  port: number;
  /** The request's bytes (http.ts encodeRequest). */
  request: Uint8Array;
  /** HEAD requests: responses have no body. */
  head?: boolean;
  connections: number;
  durationMs: number;
  /** Requests per second across all connections (open model); 0 or absent: closed loop. */
  rate?: number;
  maxRequests?: number;
  timeoutMs?: number;
  /** Ends the run early when it settles (durationMs stays the upper bound): a fault scenario stops the load a phase after the fault ends. */
  stopWhen?: Promise<unknown>;
  /** Called about every 250 ms with what has been recorded so far. */
  onProgress?(rec: LoadRecord, elapsedMs: number): void;
}

/** What one run recorded, one entry per request, in completion order. */
export interface LoadRecord {
  /** When the request was due (open) or sent (closed), ms since the run's start. */
  at: number[];
  /** Milliseconds from due/sent to the last byte of the answer (or to the failure). */
  latency: number[];
  /** HTTP status, 0 for no answer (connection error, timeout), -1 for due but never sent before the run ended (backlog). */
  status: number[];
  /** Error kinds seen, with counts. */
  errors: Record<string, number>;
  /** Requests sent again after a reused connection closed before answering. */
  resent: number;
  /** The run's wall time in ms. */
  elapsedMs: number;
}

interface Pending {
  due: number;
  /** When it went out (the latest try). */
  sent: number;
  resends: number;
}

interface Conn {
  socket: Socket<undefined> | null;
  parser: ResponseParser;
  current: Pending | null;
  served: number;
  got: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

export async function runLoad(opts: LoadOptions): Promise<LoadRecord> {
  const rec: LoadRecord = { at: [], latency: [], status: [], errors: {}, resent: 0, elapsedMs: 0 };
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const rate = opts.rate ?? 0;
  const max = opts.maxRequests ?? Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  const now = () => performance.now() - t0;
  let issued = 0;
  let stopped = false;
  const queue: Pending[] = [];
  const idle: Conn[] = [];
  const conns: Conn[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  let inFlight = 0;

  const error = (kind: string) => (rec.errors[kind] = (rec.errors[kind] ?? 0) + 1);

  // Latency counts from when the request was due, or from when it was sent if that was earlier (the clock ticks every
  // millisecond and sends what falls due before the next tick): never from a late send, which would hide the wait.
  const record = (p: Pending, status: number) => {
    const start = p.sent < p.due ? p.sent : p.due;
    rec.at.push(start);
    rec.latency.push(now() - start);
    rec.status.push(status);
  };

  const checkDone = () => {
    if (stopped && inFlight === 0 && queue.length === 0) finish();
  };

  /** The next request for a free connection: a due one (open), a new one (closed), or none. */
  const next = (): Pending | null => {
    // Open model: what fell due before the end is still sent after it (the drain), then nothing.
    if (rate > 0) return queue.shift() ?? null;
    if (stopped) return null;
    if (issued >= max) return null;
    issued++;
    const t = now();
    return { due: t, sent: t, resends: 0 };
  };

  const send = (c: Conn, p: Pending) => {
    c.current = p;
    if (p.resends === 0) p.sent = now();
    c.got = false;
    inFlight++;
    c.timer = setTimeout(() => {
      error("timeout");
      fail(c, false);
    }, timeoutMs);
    c.socket!.write(opts.request);
  };

  const release = (c: Conn) => {
    if (c.timer !== null) clearTimeout(c.timer);
    c.timer = null;
    c.current = null;
    inFlight--;
  };

  const dispatch = (c: Conn) => {
    if (c.socket === null) return;
    const p = next();
    if (p === null) {
      idle.push(c);
      checkDone();
      return;
    }
    send(c, p);
  };

  /** The connection broke or timed out: its request fails (or is resent once) and a new connection takes its place. */
  const fail = (c: Conn, closedCleanly: boolean) => {
    const p = c.current;
    const socket = c.socket;
    c.socket = null;
    if (socket !== null) socket.terminate();
    if (p !== null) {
      release(c);
      if (closedCleanly && !c.got && c.served > 0 && p.resends === 0 && !stopped) {
        rec.resent++;
        p.resends++;
        if (rate > 0) queue.unshift(p);
        else reuse.push(p);
      } else record(p, 0);
    }
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (!stopped) setTimeout(() => open(c), c.served === 0 ? 50 : 0);
    checkDone();
  };
  const reuse: Pending[] = [];

  const open = (c: Conn) => {
    c.parser = new ResponseParser(opts.head === true);
    c.served = 0;
    Bun.connect<undefined>({
      hostname: opts.hostname,
      port: opts.port,
      socket: {
        open(socket) {
          c.socket = socket;
          socket.setNoDelay(true);
          const again = reuse.shift();
          if (again !== undefined) send(c, again);
          else dispatch(c);
        },
        data(_socket, data) {
          c.got = true;
          let statuses: number[];
          try {
            statuses = c.parser.feed(data);
          } catch {
            error("bad_response");
            return fail(c, false);
          }
          for (const status of statuses) {
            const p = c.current;
            if (p === null) continue;
            release(c);
            record(p, status);
            c.served++;
          }
          if (statuses.length === 0) return;
          if (c.parser.closing) return fail(c, true);
          dispatch(c);
        },
        close() {
          if (c.socket !== null) {
            if (c.current !== null && (c.got || c.served === 0)) error("closed");
            fail(c, true);
          }
        },
        error() {
          error("socket_error");
        },
        connectError() {
          error("connect_refused");
          if (c.current !== null) {
            const p = c.current;
            release(c);
            record(p, 0);
          }
          if (!stopped) setTimeout(() => open(c), 50);
          checkDone();
        },
      },
    }).catch(() => {
      error("connect_refused");
      if (!stopped) setTimeout(() => open(c), 50);
    });
  };

  for (let i = 0; i < Math.max(1, opts.connections); i++) {
    const c: Conn = { socket: null, parser: new ResponseParser(opts.head === true), current: null, served: 0, got: false, timer: null };
    conns.push(c);
    open(c);
  }

  // The open model's clock: every millisecond, what has come due goes to free connections or waits in the queue.
  let scheduled = 0;
  const tick = setInterval(() => {
    const t = now();
    if (rate > 0) {
      const due = Math.min(Math.floor(((t + 1) * rate) / 1000), max);
      while (scheduled < due && !stopped) {
        const at = (scheduled * 1000) / rate;
        queue.push({ due: at, sent: at, resends: 0 });
        scheduled++;
      }
      while (queue.length > 0 && idle.length > 0) send(idle.shift()!, queue.shift()!);
    }
    if (t + t0 >= end || (rate > 0 ? scheduled >= max && queue.length === 0 : issued >= max)) stop();
  }, 1);
  const progress = opts.onProgress ? setInterval(() => opts.onProgress!(rec, now()), 250) : null;

  let stopAt = 0;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    stopAt = now();
    clearInterval(tick);
    // Requests already due still go out as connections free up (the drain); with no connection open at all the
    // server cannot be reached, and they fail at once.
    if (!conns.some((c) => c.socket !== null)) for (const p of queue.splice(0)) record(p, 0);
    while (queue.length > 0 && idle.length > 0) send(idle.shift()!, queue.shift()!);
    checkDone();
    // In-flight and due requests get the request timeout to finish; then the run ends regardless.
    setTimeout(finish, timeoutMs + 100);
  };

  void opts.stopWhen?.then(stop);
  await finished;
  // Due but never sent within the drain: the load generator's backlog (every connection stayed busy). Counted apart
  // from failures, with the wait so far as their latency (a lower bound). So are requests still in flight: their own
  // timeout has not run out, so they have not failed either.
  for (const p of queue.splice(0)) record(p, -1);
  if (progress !== null) clearInterval(progress);
  rec.elapsedMs = stopAt;
  for (const c of conns) {
    if (c.timer !== null) clearTimeout(c.timer);
    if (c.current !== null) record(c.current, -1);
    c.current = null;
    // Null first: terminate() runs the close handler, which must not count this as a failure.
    const socket = c.socket;
    c.socket = null;
    socket?.terminate();
  }
  return rec;
}
