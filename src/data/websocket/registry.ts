import type { WebSocketHandler } from "bun";
import { BUN_MAX_MESSAGE } from "../../config/normalize-websocket.ts";
import { CLOSE, type SessionTracker, type WsData, type WsSession } from "./session.ts";

/**
 * Every open relayed WebSocket of this worker, whatever snapshot it started
 * on: one timer looks after them all (resuming a client paused for a slow
 * upstream, drain and idle timeouts), and a drain closes them all with 1001.
 */
export class WsRegistry implements SessionTracker {
  readonly all = new Set<WsSession>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /** An open session (its client socket opened). */
  track(session: WsSession): void {
    this.all.add(session);
    if (this.timer === null) {
      // 50 ms: how soon a client paused for the upstream reads again (the upstream socket has no drain event).
      this.timer = setInterval(() => this.tick(), 50);
      this.timer.unref?.();
    }
  }

  /** The session ended; false when it was not (or no longer) tracked. */
  untrack(session: WsSession): boolean {
    if (!this.all.delete(session)) return false;
    if (this.all.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    return true;
  }

  private tick(): void {
    const now = performance.now();
    for (const s of this.all) s.tick(now);
  }

  /** A reload: sessions whose route or upstream changed (or went) are closed with 1001; the others run on. */
  closeChanged(keep: ReadonlySet<string>, reason: string): void {
    for (const s of this.all) if (!keep.has(s.key)) s.closeBoth(CLOSE.goingAway, reason, CLOSE.goingAway, reason);
  }

  /** SIGTERM drain: every session gets a close frame (1001) on both sides. */
  closeAll(reason: string): void {
    for (const s of this.all) s.closeBoth(CLOSE.goingAway, reason, CLOSE.goingAway, reason);
  }
}

/** This worker's registry. */
export const wsRegistry = new WsRegistry();

/**
 * Bun.serve's `websocket` handlers: the socket-level events, each passed to
 * its session. Bun's own idle timeout and pings are off (each route has its
 * idle_timeout, and pings are relayed end to end); its message cap is the
 * largest any route may set, a route's own is checked by the session.
 */
export const websocketHandler: WebSocketHandler<WsData> = {
  open(ws) {
    ws.data.session.open(ws);
  },
  message(ws, message) {
    ws.data.session.fromClient(message);
  },
  drain(ws) {
    ws.data.session.drained();
  },
  ping(ws, data) {
    ws.data.session.pingFromClient(data, true);
  },
  pong(ws, data) {
    ws.data.session.pingFromClient(data, false);
  },
  close(ws, code, reason) {
    ws.data.session.clientClosed(code, reason);
  },
  maxPayloadLength: BUN_MAX_MESSAGE,
  // A backstop only: sessions pause the upstream long before (max_buffer) and close past their hard bound.
  backpressureLimit: 4 * BUN_MAX_MESSAGE,
  closeOnBackpressureLimit: false,
  idleTimeout: 0,
  sendPings: false,
  perMessageDeflate: false,
};
