import type { Socket } from "bun";
import type { GatewayError } from "../../errors.ts";
import { BODY_STRATEGY, BodySource, type BodyOwner } from "./body-source.ts";
import { CHUNKED_ERROR, ChunkedDecoder, type ChunkSink } from "./chunked.ts";
import { connectionLost, protocolError, readTimeout, requestBodyFailed, unreachable } from "./errors.ts";
import { EX_ACTIVE, EX_DONE, EX_RESPONDED, type Exchange, type ExchangeHolder } from "./exchange.ts";
import { sendRequest, type FastBuffer, type RequestSink } from "./request-body.ts";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  bodyKindOf,
  mayReuse,
  type BodyKind,
  type ResponseHead,
} from "./response-head.ts";
import { ChunkCollector, PooledResponse } from "./response.ts";
import { HeadReader } from "./head-reader.ts";
import { WriteQueue } from "./write-queue.ts";

/** Connection states. */
export const CONNECTING = 0;
export const IDLE = 1;
export const BUSY = 2;
export const CLOSED = 3;

/** The pool, as a connection sees it. */
export interface ConnPool {
  readonly now: () => number;
  readonly idleTimeout: number;
  /** The exchange finished cleanly and the connection may carry another. */
  release(conn: Conn): void;
  /** The connection is gone (called once). */
  closed(conn: Conn, wasState: number): void;
  /** Send `ex` again on a new connection (the old one was a stale keep-alive). */
  retry(ex: Exchange): void;
}


/**
 * One upstream socket and the exchange on it. Response parsing is a small
 * state machine driven by `data` events: the head (RFC 9112 §4-5), then the
 * body by its framing (§6.3). Requests go one at a time, no pipelining.
 */
export class Conn implements ChunkSink, BodyOwner, RequestSink, ExchangeHolder {
  readonly pool: ConnPool;
  socket: Socket<Conn> | null = null;
  state = CONNECTING;
  /** Exchanges started on this socket; above 1 it is a reused keep-alive connection. */
  uses = 0;
  ex: Exchange | null = null;
  /** When it went idle (pool clock), for the idle timeout. */
  idleSince = 0;

  // Response parsing.
  #inBody = false;
  readonly #head = new HeadReader();
  /** Any response byte arrived for the current exchange. */
  #gotBytes = false;
  #bodyKind: BodyKind = BODY_NONE;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #body: BodySource | null = null;
  #paused = false;
  #reusable = true;

  // Request writing.
  readonly #out = new WriteQueue();
  #sent = false;
  #streaming = false;
  /** The client body being pumped, cancelled when the exchange ends first. */
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  // One timer per connection, moved lazily: `deadline` changes freely and the
  // timer, when it fires early, re-arms for what is left.
  #deadline = 0;
  #timer: Timer | null = null;
  #timerAt = 0;

  constructor(pool: ConnPool) {
    this.pool = pool;
  }

  // ---- exchange lifecycle -------------------------------------------------

  /** Begin a connect for `ex`; the socket is handed over in onOpen. */
  connect(ex: Exchange, connectTimeout: number): void {
    this.ex = ex;
    ex.holder = this;
    ex.state = EX_ACTIVE;
    this.#arm(this.pool.now() + connectTimeout);
  }

  /** Send `ex` on this (open) connection. */
  start(ex: Exchange): void {
    this.ex = ex;
    ex.holder = this;
    ex.state = EX_ACTIVE;
    this.state = BUSY;
    this.uses++;
    this.#inBody = false;
    this.#head.reset();
    this.#gotBytes = false;
    this.#reusable = true;
    this.#sent = false;
    this.#streaming = false;
    this.#reader = null;
    this.#arm(this.pool.now() + ex.readTimeout);
    sendRequest(this, ex);
  }

  /** Put an idle connection to sleep until its next exchange. */
  park(now: number): void {
    this.state = IDLE;
    this.idleSince = now;
    this.#arm(now + this.pool.idleTimeout);
  }

  /** Close without fuss (idle timeout, pool closed): FIN, not RST. */
  closeIdle(): void {
    if (this.state === CLOSED) return;
    const was = this.state;
    this.#teardown();
    this.socket?.end();
    this.pool.closed(this, was);
  }

  /** Tear down after a failure or an unusable state: RST so the upstream stops at once. */
  destroy(): void {
    if (this.state === CLOSED) return;
    const was = this.state;
    this.#teardown();
    this.socket?.terminate();
    this.pool.closed(this, was);
  }

  #teardown(): void {
    this.state = CLOSED;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#out.clear();
    this.#stopPump();
  }

  /** Wake and stop a request-body pump that outlived its exchange. */
  #stopPump(): void {
    this.#out.wake();
    const reader = this.#reader;
    if (reader !== null) {
      this.#reader = null;
      if (this.#streaming) reader.cancel().catch(ignore);
    }
  }

  /** Fail the current exchange wherever it is, and destroy the connection. */
  #fail(err: unknown): void {
    const ex = this.ex;
    this.ex = null;
    const body = this.#body;
    this.#body = null;
    this.destroy();
    if (ex === null) return;
    if (ex.state === EX_RESPONDED && body !== null) {
      ex.finish();
      body.error(err);
    } else if (ex.state !== EX_DONE) ex.fail(err);
  }

  /** The exchange completed; keep the connection when everything lines up. */
  #complete(): void {
    const ex = this.ex!;
    this.ex = null;
    this.#body = null;
    ex.finish();
    this.#stopPump();
    if (this.#paused) {
      this.#paused = false;
      this.socket?.resume();
    }
    // A request body still going out (early response) leaves the connection mid-message.
    if (this.#reusable && this.#sent && this.state === BUSY) this.pool.release(this);
    else this.destroy();
  }

  abortExchange(ex: Exchange, err: GatewayError): void {
    if (this.ex === ex) this.#fail(err);
  }

  /** Pool sweep: abandon the exchange if its client went away. */
  pollAbort(): void {
    this.ex?.checkAbort();
  }

  // ---- socket events ------------------------------------------------------

  /** TCP connected. Over TLS nothing is sent until the handshake verified the upstream (onHandshake). */
  onOpen(socket: Socket<Conn>, tls: boolean): void {
    this.socket = socket;
    if (this.state === CLOSED) {
      // Timed out or aborted while connecting.
      socket.terminate();
      return;
    }
    // Requests are written whole; Nagle would only hold back the last segment of a large one.
    socket.setNoDelay(true);
    if (!tls) this.start(this.ex!);
  }

  /**
   * TLS handshake done. Bun calls `open` before this when a handshake handler
   * exists, and even for a certificate that failed verification: the request
   * (with its credentials) must not go out until this says the peer is trusted.
   */
  onHandshake(success: boolean, authorizationError: Error | null): void {
    if (this.state !== CONNECTING) return;
    if (success && authorizationError === null) this.start(this.ex!);
    else this.#fail(unreachable(authorizationError ?? new Error("TLS handshake failed")));
  }

  onConnectError(err: Error): void {
    if (this.state === CLOSED) return;
    const ex = this.ex;
    this.ex = null;
    this.destroy();
    if (ex !== null && ex.state !== EX_DONE) ex.fail(unreachable(err));
  }

  onData(buf: Buffer): void {
    if (this.state !== BUSY || this.ex === null) {
      // Bytes on an idle connection are not a response to anything: it cannot be trusted again.
      this.destroy();
      return;
    }
    this.#gotBytes = true;
    if (this.#inBody) {
      this.#deadline = this.pool.now() + this.ex.readTimeout;
      this.#readBody(buf as FastBuffer, 0);
      return;
    }
    const reader = this.#head;
    const head = reader.feed(buf as FastBuffer);
    if (head === null) return;
    if (typeof head === "string") return this.#fail(protocolError(head));
    const data = reader.data!;
    reader.data = null; // an idle connection must not pin its last receive buffer
    this.#startResponse(head, data, reader.bodyStart);
  }

  onDrain(): void {
    if (this.socket === null) return;
    const pumpWaiting = this.#out.waiting;
    if (!this.#out.flush(this.socket)) return;
    if (this.ex !== null) this.#deadline = this.pool.now() + this.ex.readTimeout;
    // A fixed body is sent once its last bytes left; a streamed one says so itself.
    if (!pumpWaiting && !this.#streaming) this.#sent = true;
  }

  /** FIN or close from the upstream (or a reset). Idempotent. */
  onEnd(err?: Error): void {
    if (this.state === CLOSED) return;
    if (this.state === CONNECTING) {
      // Closed during the TLS handshake: nothing was sent.
      this.#fail(unreachable(err ?? new Error("connection closed while connecting")));
      return;
    }
    if (this.state !== BUSY || this.ex === null) {
      this.destroy();
      return;
    }
    const ex = this.ex;
    if (this.#inBody) {
      if (this.#bodyKind === BODY_UNTIL_CLOSE) {
        // The close is the end of the body (RFC 9112 §6.3 rule 8).
        this.#reusable = false;
        this.#body!.close();
        this.#complete();
      } else this.#fail(protocolError(this.#bodyKind === BODY_LENGTH ? "body shorter than content-length" : "connection closed inside chunked body"));
      return;
    }
    if (!this.#gotBytes && this.uses > 1 && !ex.retried && ex.replayable) {
      // The keep-alive race: the upstream closed this idle connection as we sent on it. Nothing was
      // processed (no byte came back), so one more try on a fresh connection is safe.
      ex.retried = true;
      this.ex = null;
      // Retry before giving the slot back, so a queued request cannot take it first.
      this.pool.retry(ex);
      this.destroy();
      return;
    }
    this.#fail(this.#gotBytes ? protocolError("connection closed inside response head") : connectionLost(err ?? new Error("connection closed before response")));
  }

  onError(err: Error): void {
    this.#fail(this.state === CONNECTING ? unreachable(err) : connectionLost(err));
  }

  // ---- timers -------------------------------------------------------------

  #arm(at: number): void {
    this.#deadline = at;
    if (this.#timer !== null) {
      if (this.#timerAt <= at) return; // fires first and re-arms for the rest
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    // Node-style timers treat delays above 2^31-1 ms as 1 ms; an "infinite" timeout must not fire at once.
    const t = setTimeout(onTimer, Math.min(Math.max(1, at - this.pool.now()), 0x7fffffff), this);
    t.unref();
    this.#timer = t;
  }

  onTimer(): void {
    this.#timer = null;
    if (this.state === CLOSED) return;
    const now = this.pool.now();
    // A paused body is waiting on the client, not the upstream: the read timeout does not run.
    if (this.#paused) this.#deadline = now + this.ex!.readTimeout;
    if (now < this.#deadline) {
      this.#arm(this.#deadline);
      return;
    }
    if (this.state === IDLE) this.closeIdle();
    else if (this.state === CONNECTING) this.#fail(unreachable(new Error("connect timeout")));
    else this.#fail(readTimeout());
  }

  // ---- request ------------------------------------------------------------

  /** sendRequest: the fixed body (or none) went out whole. */
  markSent(): void {
    this.#sent = true;
  }

  /** sendRequest: a stream body is being pumped; the pump reports the end. */
  startStreaming(reader: ReadableStreamDefaultReader<Uint8Array>): void {
    this.#streaming = true;
    this.#reader = reader;
  }

  write(buf: Uint8Array, off: number, len: number, copy: boolean): boolean {
    return this.#out.write(this.state === CLOSED ? null : this.socket, buf, off, len, copy);
  }

  drained(): Promise<void> {
    return this.state === CLOSED ? Promise.resolve() : this.#out.drained();
  }

  isCurrent(token: object): boolean {
    return this.ex === token && this.state === BUSY;
  }

  requestSent(token: object): void {
    if (this.ex !== token) return;
    this.#streaming = false;
    this.#reader = null;
    this.#sent = true;
    this.#deadline = this.pool.now() + this.ex.readTimeout;
  }

  bodyFailed(token: object, err: unknown): void {
    if (this.ex === token) this.#fail(requestBodyFailed(err));
  }

  // ---- response -----------------------------------------------------------

  #startResponse(head: ResponseHead, data: FastBuffer, bodyStart: number): void {
    const ex = this.ex!;
    // The client may have gone while we waited; do not hand it a response nobody reads.
    if (ex.checkAbort()) return;
    const kind = bodyKindOf(head, ex.isHead);
    this.#bodyKind = kind;
    this.#reusable = mayReuse(head) && kind !== BODY_UNTIL_CLOSE;
    if (kind === BODY_NONE) {
      // Anything after a bodiless response is not ours to interpret.
      if (bodyStart < data.length) this.#reusable = false;
      const cl = head.contentLength >= 0 ? head.contentLength : 0;
      ex.respond(new PooledResponse(head.status, head.statusText, head.headers, cl, null, null));
      this.#complete();
      return;
    }
    // The whole body came with the head (the usual small response): hand it over as bytes and
    // free the connection now, before anyone reads it.
    if (kind === BODY_LENGTH) {
      const end = bodyStart + head.contentLength;
      if (end <= data.length) {
        if (end < data.length) this.#reusable = false; // bytes past Content-Length (§6.3 rule 6)
        ex.respond(new PooledResponse(head.status, head.statusText, head.headers, head.contentLength, data.subarray(bodyStart, end), null));
        this.#complete();
        return;
      }
    }
    let early: ChunkCollector | null = null;
    if (kind === BODY_CHUNKED) {
      const dec = this.#chunked ?? (this.#chunked = new ChunkedDecoder());
      dec.reset();
      if (bodyStart < data.length) {
        early = new ChunkCollector();
        const r = dec.feed(data, bodyStart, early);
        if (r === CHUNKED_ERROR) return this.#fail(protocolError(dec.error));
        if (r >= 0) {
          if (r < data.length) this.#reusable = false;
          ex.respond(new PooledResponse(head.status, head.statusText, head.headers, -1, early.join(), null));
          this.#complete();
          return;
        }
      }
    }
    this.#inBody = true;
    this.#remaining = head.contentLength;
    const source = new BodySource(this);
    this.#body = source;
    const stream = new ReadableStream<Uint8Array>(source, BODY_STRATEGY);
    ex.respond(new PooledResponse(head.status, head.statusText, head.headers, kind === BODY_LENGTH ? head.contentLength : -1, null, stream));
    if (early !== null) {
      for (const v of early.parts) this.onBodyData(v);
    } else if (bodyStart < data.length) this.#readBody(data, bodyStart);
  }

  #readBody(buf: FastBuffer, pos: number): void {
    const kind = this.#bodyKind;
    const len = buf.length;
    if (kind === BODY_LENGTH) {
      const avail = len - pos;
      const take = avail < this.#remaining ? avail : this.#remaining;
      this.onBodyData(pos === 0 && take === len ? buf : buf.subarray(pos, pos + take));
      this.#remaining -= take;
      if (this.#remaining === 0) {
        // Bytes past Content-Length belong to no request of ours (RFC 9112 §6.3 rule 6).
        if (take < avail) this.#reusable = false;
        this.#endBody();
      }
    } else if (kind === BODY_CHUNKED) {
      const r = this.#chunked!.feed(buf, pos, this);
      if (r === CHUNKED_ERROR) this.#fail(protocolError(this.#chunked!.error));
      else if (r >= 0) {
        if (r < len) this.#reusable = false;
        this.#endBody();
      }
    } else this.onBodyData(pos === 0 ? buf : buf.subarray(pos));
  }

  onBodyData(view: Uint8Array): void {
    const body = this.#body;
    if (body === null || view.length === 0) return;
    if (!body.push(view) && !this.#paused) {
      this.#paused = true;
      this.socket!.pause();
    }
  }

  #endBody(): void {
    this.#inBody = false;
    this.#body!.close();
    this.#complete();
  }

  resumeBody(): void {
    if (this.#paused) {
      this.#paused = false;
      this.socket?.resume();
    }
  }

  cancelBody(_reason: unknown): void {
    // The consumer no longer wants the rest; the socket is mid-message, so it cannot be reused.
    const ex = this.ex;
    this.#body = null;
    this.ex = null;
    ex?.finish();
    this.destroy();
  }
}

function ignore(): void {}

function onTimer(conn: Conn): void {
  conn.onTimer();
}

