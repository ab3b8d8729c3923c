import type { TargetClient, UpstreamBody, UpstreamRequestOptions, UpstreamResponse } from "../types.ts";
import type { GatewayError } from "../../errors.ts";
import { BUSY, CONNECTING, Conn, IDLE, type ConnPool } from "./connection.ts";
import { TCP_HANDLERS, TLS_HANDLERS } from "./socket-handlers.ts";
import { aborted, unavailable } from "./errors.ts";
import { EX_DONE, EX_QUEUED, Exchange, type ExchangeHolder } from "./exchange.ts";

export type { UpstreamResponse } from "../types.ts";

export interface PoolOptions {
  host: string;
  port: number;
  tls: boolean;
  /** TLS SNI and certificate name; defaults to host (no SNI for an IP address, RFC 6066 §3). */
  servername?: string;
  /** Extra trusted CA certificates (PEM) for a private upstream CA; the system store otherwise. */
  ca?: string;
  /** Open sockets at most (idle + busy + connecting). */
  maxConnections: number;
  /** ms an idle keep-alive socket is kept. */
  idleTimeout: number;
  /** Requests that may wait for a socket when all are busy. */
  maxQueue: number;
  /** ms a request may wait in that queue. */
  queueTimeout: number;
  /** ms for TCP (and TLS) connect. */
  connectTimeout: number;
}

export interface PoolStats {
  open: number;
  idle: number;
  busy: number;
  queued: number;
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream target, over Bun.connect.
 *
 * Idle sockets are reused last-in first-out (the warmest one, and the cold
 * ones age out by the idle timeout). Beyond maxConnections, requests wait in
 * a FIFO queue, bounded in length and time; a socket freed by a finished
 * exchange goes straight to the oldest waiter.
 */
export class UpstreamPool implements TargetClient, ConnPool, ExchangeHolder {
  readonly now: () => number;
  readonly idleTimeout: number;
  readonly #opts: PoolOptions;
  readonly #tls: { serverName?: string; ca?: string } | undefined;
  readonly #idle: Conn[] = [];
  #open = 0;
  #busy = 0;
  /** FIFO of waiting exchanges; `#head` is the next one, entries before it are consumed. */
  #queue: (Exchange | null)[] = [];
  #head = 0;
  #queued = 0;
  #closed = false;
  /** Every open connection, for the abort sweep. */
  readonly #conns = new Set<Conn>();
  #sweeper: Timer | null = null;

  constructor(opts: PoolOptions, now: () => number = performance.now.bind(performance)) {
    if (!(opts.maxConnections >= 1)) throw new RangeError("maxConnections must be at least 1");
    this.#opts = opts;
    this.now = now;
    this.idleTimeout = opts.idleTimeout;
    const name = opts.servername ?? opts.host;
    this.#tls = opts.tls ? { serverName: isIpLiteral(name) ? undefined : name, ca: opts.ca } : undefined;
  }

  get stats(): PoolStats {
    return { open: this.#open, idle: this.#idle.length, busy: this.#busy, queued: this.#queued };
  }

  request(head: string, body: UpstreamBody, opts: UpstreamRequestOptions): Promise<UpstreamResponse> {
    if (this.#closed) return Promise.reject(unavailable("pool closed"));
    // Only a real AbortSignal is checked up front: reading a lazy one (forward.ts
    // ClientAbort) is what creates it; the sweep and the head's arrival check those.
    if (opts.signal instanceof AbortSignal && opts.signal.aborted) return Promise.reject(aborted());
    const ex = new Exchange(head, body, opts);
    if (this.#sweeper === null && opts.signal !== undefined) this.#startSweeper();
    const conn = this.#takeIdle();
    if (conn !== null) {
      this.#busy++;
      conn.start(ex);
    } else if (this.#open < this.#opts.maxConnections) this.#connect(ex);
    else if (this.#queued < this.#opts.maxQueue) this.#enqueue(ex);
    else ex.fail(unavailable("queue full"));
    return ex.promise;
  }

  /** Close idle sockets and fail queued requests; busy ones finish, then close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.closeIdle();
    for (let i = this.#head; i < this.#queue.length; i++) {
      const ex = this.#queue[i];
      if (ex != null && ex.state === EX_QUEUED) this.#dropQueued(ex, unavailable("pool closed"));
    }
    this.#queue = [];
    this.#head = 0;
  }

  // ---- ConnPool -----------------------------------------------------------

  release(conn: Conn): void {
    if (this.#closed) {
      conn.closeIdle(); // still BUSY: closed() does the accounting
      return;
    }
    const next = this.#queued > 0 ? this.#dequeue() : null;
    if (next !== null) {
      conn.start(next);
      return;
    }
    this.#busy--;
    conn.park(this.now());
    this.#idle.push(conn);
  }

  closed(conn: Conn, wasState: number): void {
    this.#open--;
    this.#conns.delete(conn);
    if (wasState === IDLE) {
      const i = this.#idle.lastIndexOf(conn);
      if (i >= 0) this.#idle.splice(i, 1);
    } else if (wasState === BUSY || wasState === CONNECTING) this.#busy--;
    // A slot opened: give it to the oldest waiter.
    if (this.#queued > 0 && !this.#closed && this.#open < this.#opts.maxConnections) {
      const next = this.#dequeue();
      if (next !== null) this.#connect(next);
    }
  }

  retry(ex: Exchange): void {
    if (ex.state === EX_DONE) return;
    if (this.#closed) ex.fail(unavailable("pool closed"));
    else this.#connect(ex);
  }

  // ---- ExchangeHolder (queued exchanges) ----------------------------------

  abortExchange(ex: Exchange, err: GatewayError): void {
    if (ex.state === EX_QUEUED) this.#dropQueued(ex, err);
  }

  // ---- internals ----------------------------------------------------------

  #takeIdle(): Conn | null {
    const idle = this.#idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      // The timer closes expired sockets; this check makes the idle timeout exact under the pool's clock.
      if (conn.state === IDLE && this.now() - conn.idleSince < this.idleTimeout) return conn;
      conn.closeIdle();
    }
    return null;
  }

  #connect(ex: Exchange): void {
    const conn = new Conn(this);
    this.#conns.add(conn);
    this.#open++;
    this.#busy++;
    conn.connect(ex, this.#opts.connectTimeout);
    try {
      const o = this.#opts;
      Bun.connect<Conn>({ hostname: o.host, port: o.port, tls: this.#tls, data: conn, socket: this.#tls ? TLS_HANDLERS : TCP_HANDLERS }).catch(ignore);
    } catch (err) {
      // Synchronous failures (bad hostname, no sockets left) are connect failures too.
      conn.onConnectError(err as Error);
    }
  }

  #enqueue(ex: Exchange): void {
    ex.holder = this;
    this.#queue.push(ex);
    this.#queued++;
    const t = setTimeout(onQueueTimeout, this.#opts.queueTimeout, this, ex);
    t.unref();
    ex.queueTimer = t;
  }

  #dequeue(): Exchange | null {
    const q = this.#queue;
    while (this.#head < q.length) {
      const ex = q[this.#head]!;
      q[this.#head++] = null;
      if (ex === null || ex.state !== EX_QUEUED) continue;
      this.#queued--;
      if (ex.queueTimer !== null) clearTimeout(ex.queueTimer);
      ex.queueTimer = null;
      this.#compact();
      return ex;
    }
    this.#compact();
    return null;
  }

  /** Drop consumed slots once they are most of the array, so the queue does not grow forever. */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Remove a waiting exchange (timeout, abort, close) and fail it. */
  #dropQueued(ex: Exchange, err: GatewayError): void {
    this.#queued--;
    if (ex.queueTimer !== null) clearTimeout(ex.queueTimer);
    ex.queueTimer = null;
    // Its slot stays in the array as a non-QUEUED entry, skipped by #dequeue.
    ex.fail(err);
  }

  #startSweeper(): void {
    if (this.#sweeper !== null) return;
    const t = setInterval(onSweep, ABORT_SWEEP_MS, this);
    t.unref();
    this.#sweeper = t;
  }

  /** @internal Abandon exchanges whose client went away; stops when nothing is in flight, restarts with the next request. */
  sweep(): void {
    for (const conn of this.#conns) conn.pollAbort();
    const q = this.#queue;
    for (let i = this.#head; i < q.length; i++) q[i]?.checkAbort();
    if (this.#busy === 0 && this.#queued === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  /** @internal queue timeout */
  queueTimedOut(ex: Exchange): void {
    ex.queueTimer = null;
    if (ex.state === EX_QUEUED) this.#dropQueued(ex, unavailable("queue timeout"));
  }
}

/** How often in-flight exchanges are checked for a client that went away. */
const ABORT_SWEEP_MS = 50;

function onSweep(pool: UpstreamPool): void {
  pool.sweep();
}

function onQueueTimeout(pool: UpstreamPool, ex: Exchange): void {
  pool.queueTimedOut(ex);
}

function ignore(): void {}

function isIpLiteral(host: string): boolean {
  return host.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}
