import type { ServerWebSocket } from "bun";
import type { WebSocketConfig } from "../../config/normalize-websocket.ts";
import type { BoundGauge } from "../../metrics/registry.ts";

/** What Bun keeps on each upgraded client socket (ServerWebSocket.data). */
export interface WsData {
  session: WsSession;
}

export type ClientSocket = ServerWebSocket<WsData>;
type Message = string | Buffer;

/**
 * Close codes the gateway sends (RFC 6455 §7.4.1, IANA registry): 1001 going
 * away (drain, reload, idle), 1008 policy violation (a side that does not
 * read what it is sent), 1009 message too big, 1011 internal, 1013 try again
 * later (the other side was too slow), 1014 bad gateway (the upstream ended
 * without a close frame).
 */
export const CLOSE = { normal: 1000, goingAway: 1001, policy: 1008, tooBig: 1009, internal: 1011, tryLater: 1013, badGateway: 1014 } as const;

/** Where open sessions are kept (registry.ts; declared here so the two modules do not import each other). */
export interface SessionTracker {
  readonly all: ReadonlySet<WsSession>;
  track(session: WsSession): void;
  /** False when the session was not (or no longer) tracked. */
  untrack(session: WsSession): boolean;
}

/** How long a side closed by the gateway has to answer with its own close frame before its connection is cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * One relayed WebSocket: the client's socket (Bun's ServerWebSocket, set once
 * the upgrade opened) and the gateway's own socket to the upstream target
 * (opened first, so the upstream's subprotocol choice goes into the 101).
 *
 * Messages are relayed as they are (text stays text, binary stays binary).
 * Backpressure (RFC 6455 leaves flow control to TCP): when more than
 * max_buffer bytes are queued towards one side, the gateway stops reading
 * the other side's socket (pause()), so TCP pushes back on the sender, and
 * reads again once the queue is under half; the gateway's own buffering is
 * thereby bounded by about max_buffer plus the messages already read when it
 * paused. A side whose queue stays over max_buffer for drain_timeout, or
 * passes the hard bound (2 × max_buffer + max_message_size), is closed with
 * 1008; the other side gets 1013.
 *
 * Close frames are relayed with their code and reason; a code that may not
 * be sent on the wire (1005 "no code", 1006 "abnormal") becomes a close
 * without code towards the client, and 1001 (client went away) or 1014
 * (upstream went away) on the other side.
 */
export class WsSession {
  client: ClientSocket | null = null;
  /** Upstream messages that came before the client's socket opened; null once it did. */
  private early: Message[] | null;
  /** The upstream's close, when it came before the client's socket opened. */
  private pendingClose: { code: number; reason: string } | null = null;
  private closed = false;
  /** When tick() last saw traffic (performance.now()); `active` marks traffic since, so a message costs a store, not a clock read. */
  private lastActive = performance.now();
  private active = false;
  /** Since when a queue has been over max_buffer (0: not over), per direction. */
  private clientSlowSince = 0;
  private upstreamSlowSince = 0;
  private readonly hardBound: number;
  onEnd: (() => void) | null = null;

  constructor(
    readonly upstream: WebSocket,
    early: Message[],
    readonly cfg: WebSocketConfig,
    private readonly gauge: BoundGauge,
    /** Its route's and upstream's config (terminal.ts webSocketKey): a reload changing it closes the session. */
    readonly key: string,
    private readonly registry: SessionTracker,
  ) {
    this.early = early;
    this.hardBound = 2 * cfg.max_buffer + cfg.max_message_size;
    upstream.onmessage = (e: MessageEvent) => this.fromUpstream(e.data as Message);
    upstream.onclose = (e: CloseEvent) => this.upstreamClosed(e.code, e.reason);
    upstream.addEventListener("ping", (e: MessageEvent) => this.pingFromUpstream(e.data as Buffer, true));
    upstream.addEventListener("pong", (e: MessageEvent) => this.pingFromUpstream(e.data as Buffer, false));
    // The upstream socket stays paused (terminal.ts) until the client's opens: what it sent meanwhile is in `early`.
  }

  /** The client's socket is open: flush what the upstream sent meanwhile and start relaying. */
  open(ws: ClientSocket): void {
    this.client = ws;
    this.registry.track(this);
    this.gauge.inc(1);
    const early = this.early!;
    this.early = null;
    for (const m of early) this.toClient(m);
    const pending = this.pendingClose;
    if (pending !== null) {
      // The upstream said what it had to say and closed before the client's socket opened: relay both.
      this.pendingClose = null;
      closeClient(ws, pending.code, pending.reason);
      return;
    }
    this.upstream.resume();
  }

  fromClient(message: Message): void {
    if (this.closed) return;
    this.active = true;
    if (tooBig(message, this.cfg.max_message_size)) return this.closeBoth(CLOSE.tooBig, "message too big", CLOSE.tooBig, "message too big");
    const up = this.upstream;
    up.send(message);
    const queued = up.bufferedAmount;
    if (queued > this.cfg.max_buffer) {
      if (queued > this.hardBound) return this.upstreamTooSlow();
      if (this.upstreamSlowSince === 0) this.upstreamSlowSince = performance.now();
      // Stop reading the client until the upstream takes what it was sent (tick() resumes).
      this.client?.pause();
    }
  }

  private fromUpstream(message: Message): void {
    if (this.closed) return;
    this.active = true;
    if (this.early !== null) {
      this.early.push(message);
      return;
    }
    this.toClient(message);
  }

  private toClient(message: Message): void {
    if (tooBig(message, this.cfg.max_message_size)) return this.closeBoth(CLOSE.tooBig, "message too big", CLOSE.tooBig, "message too big");
    const ws = this.client!;
    // > 0: written out; -1: queued behind backpressure; 0: Bun dropped it (past its backpressureLimit): never lose a message silently.
    const sent = ws.send(message);
    if (sent > 0) return;
    if (sent === 0) return this.clientTooSlow();
    const queued = ws.getBufferedAmount();
    if (queued > this.cfg.max_buffer) {
      if (queued > this.hardBound) return this.clientTooSlow();
      if (this.clientSlowSince === 0) this.clientSlowSince = performance.now();
      this.upstream.pause();
    }
  }

  /** Bun's drain: the client's socket took some of its queue. */
  drained(): void {
    if (this.closed || this.clientSlowSince === 0) return;
    if (this.client!.getBufferedAmount() <= this.cfg.max_buffer >> 1) {
      this.clientSlowSince = 0;
      this.upstream.resume();
    }
  }

  pingFromClient(data: Buffer, ping: boolean): void {
    if (this.closed) return;
    this.active = true;
    // Bun answered the ping itself; the upstream sees it too (its pong comes back unsolicited, RFC 6455 §5.5.3).
    if (ping) this.upstream.ping(data);
    else this.upstream.pong(data);
  }

  private pingFromUpstream(data: Buffer, ping: boolean): void {
    if (this.closed || this.client === null) return;
    this.active = true;
    if (ping) this.client.ping(data);
    else this.client.pong(data);
  }

  /** The client closed (or its connection ended): the upstream gets the same close. */
  clientClosed(code: number, reason: string): void {
    if (this.closed) return this.finish();
    this.closed = true;
    // Read again, so the upstream's closing frame is seen.
    if (this.upstream.isPaused) this.upstream.resume();
    closeUpstream(this.upstream, code === 1005 || code === 1006 ? CLOSE.goingAway : code, code === 1006 ? "client went away" : reason);
    this.finish();
  }

  private upstreamClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const ws = this.client;
    if (ws === null) {
      // open() relays it after what the upstream sent before.
      this.pendingClose = { code, reason };
      return;
    }
    // Read again, so the client's closing frame is seen.
    if (ws.isPaused) ws.resume();
    closeClient(ws, code, reason);
  }

  /** The gateway ends the session: drain, reload, idle timeout, a side too slow, a message too big. */
  closeBoth(clientCode: number, clientReason: string, upstreamCode: number, upstreamReason: string): void {
    if (this.closed) return;
    this.closed = true;
    const ws = this.client;
    // Read again, so each side's closing frame is seen (what comes before it is dropped).
    if (ws !== null && ws.isPaused) ws.resume();
    if (this.upstream.isPaused) this.upstream.resume();
    closeUpstream(this.upstream, upstreamCode, upstreamReason);
    ws?.close(clientCode, clientReason);
    // A side that does not read (the too-slow one) never answers the close: cut it after a grace period (RFC 6455 §7.1.1 lets the server close the TCP connection).
    setTimeout(() => {
      if (this.upstream.readyState !== WebSocket.CLOSED) this.upstream.terminate();
      if (ws !== null && this.registry.all.has(this)) ws.terminate();
    }, CLOSE_GRACE_MS).unref?.();
  }

  private clientTooSlow(): void {
    this.closeBoth(CLOSE.policy, "client too slow: send buffer full", CLOSE.goingAway, "client too slow");
  }

  private upstreamTooSlow(): void {
    this.closeBoth(CLOSE.tryLater, "upstream too slow", CLOSE.policy, "upstream too slow: send buffer full");
  }

  /** Periodic (registry.ts): resume a client paused for the upstream, drain and idle timeouts. */
  tick(now: number): void {
    if (this.closed || this.client === null) return;
    const cfg = this.cfg;
    if (this.upstreamSlowSince !== 0) {
      if (this.upstream.bufferedAmount <= cfg.max_buffer >> 1) {
        this.upstreamSlowSince = 0;
        this.client.resume();
      } else if (now - this.upstreamSlowSince > cfg.drain_timeout) return this.upstreamTooSlow();
    }
    if (this.clientSlowSince !== 0) {
      // Bun's drain event may have come while still over half: look again.
      this.drained();
      if (this.clientSlowSince !== 0 && now - this.clientSlowSince > cfg.drain_timeout) return this.clientTooSlow();
    }
    if (this.active) {
      this.active = false;
      this.lastActive = now;
    } else if (cfg.idle_timeout > 0 && now - this.lastActive > cfg.idle_timeout) this.closeBoth(CLOSE.goingAway, "idle timeout", CLOSE.goingAway, "idle timeout");
  }

  /** The client's socket is gone: account for it once. */
  private finish(): void {
    if (!this.registry.untrack(this)) return;
    this.gauge.inc(-1);
    const end = this.onEnd;
    this.onEnd = null;
    end?.();
  }

  /** Before the upgrade completed (it failed): let the upstream socket go. */
  abort(): void {
    this.closed = true;
    closeUpstream(this.upstream, CLOSE.goingAway, "client upgrade failed");
  }
}

/** The upstream's close towards the client: 1006 (it ended without a close frame, it died) becomes 1014 bad gateway; 1005 a close without code. */
function closeClient(ws: ClientSocket, code: number, reason: string): void {
  if (code === 1006) ws.close(CLOSE.badGateway, "upstream connection lost");
  else ws.close(code === 1005 ? 0 : code, reason);
}

/** Codes a client endpoint may send (Bun's WebSocket.close throws on the others). */
function closeUpstream(up: WebSocket, code: number, reason: string): void {
  if (up.readyState === WebSocket.CLOSED || up.readyState === WebSocket.CLOSING) return;
  const sendable = (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
  try {
    if (sendable) up.close(code, truncateReason(reason));
    else up.close();
  } catch {
    up.terminate();
  }
}

/** A close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5: control frame payload 125, minus the code). */
function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

/** Whether `m` is over `limit` bytes; a string is measured only when its length leaves a doubt (UTF-8: 1 to 3 bytes per UTF-16 unit). */
function tooBig(m: Message, limit: number): boolean {
  if (typeof m !== "string") return m.byteLength > limit;
  if (m.length > limit) return true;
  return m.length * 3 > limit && Buffer.byteLength(m) > limit;
}
