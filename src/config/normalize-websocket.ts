/**
 * Route key `websocket`: the route's terminal upgrades the request to a
 * WebSocket (RFC 6455) and relays it to a WebSocket on the chosen upstream
 * target (src/data/websocket/). `websocket = true` takes the defaults; a table
 * sets them:
 *
 *   idle_timeout      no message, ping or pong either way for this long: both sides closed with 1001; "0s" = never (default "60s")
 *   max_message_size  a larger message from either side closes both with 1009 (default "1MB"; Bun's own cap is 16 MB)
 *   max_buffer        bytes queued towards one side before the gateway stops reading the other (default "1MB")
 *   drain_timeout     a side whose queue stays past max_buffer this long is too slow: closed with 1008, the other with 1013 (default "30s")
 *
 * Checked here: not on an aggregate route (it has no single upstream), and
 * the route's methods, when given, include GET (RFC 6455 §4.1: the opening
 * handshake is a GET).
 */
import { Type } from "@sinclair/typebox";
import { type NormalizeContext, readDuration, readSize, requirePositive } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import { Bool, Duration, Size, opt, table } from "./schema-kit.ts";

const WebSocketTable = table({
  idle_timeout: opt(Duration),
  max_message_size: opt(Size),
  max_buffer: opt(Size),
  drain_timeout: opt(Duration),
});

export const WEBSOCKET_ROUTE_KEYS = {
  websocket: opt(Type.Union([Bool, WebSocketTable], { errorMessage: "expected true, false or a table { idle_timeout, max_message_size, max_buffer, drain_timeout }" })),
};

export interface WebSocketConfig {
  /** ms; 0 = no idle timeout. */
  idle_timeout: number;
  /** bytes */
  max_message_size: number;
  /** bytes */
  max_buffer: number;
  /** ms */
  drain_timeout: number;
}

export interface WebSocketRouteConfig {
  /** null: not a WebSocket route (upgrades are not honoured; the request is proxied as a plain one). */
  websocket: WebSocketConfig | null;
}

export const WEBSOCKET_DEFAULTS: WebSocketConfig = {
  idle_timeout: 60_000,
  max_message_size: 1024 * 1024,
  max_buffer: 1024 * 1024,
  drain_timeout: 30_000,
};

/** Bun.serve's own per-message cap (maxPayloadLength), which bounds max_message_size. */
export const BUN_MAX_MESSAGE = 16 * 1024 * 1024;

type RawWebSocket = boolean | Record<string, string | undefined>;

export function normalizeWebSocket(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): WebSocketRouteConfig {
  const value = raw.websocket as RawWebSocket | undefined;
  if (value === undefined || value === false) return { websocket: null };
  const where = [...at, "websocket"];
  if (raw.aggregate !== undefined) ctx.problems.add(where, "does not apply to an aggregate route (a WebSocket is relayed to one upstream)");
  const methods = raw.methods as (string | undefined)[] | undefined;
  if (methods !== undefined && methods.length > 0 && !methods.some((m) => typeof m === "string" && m.toUpperCase() === "GET")) {
    ctx.problems.add([...at, "methods"], "a websocket route must allow GET (the opening handshake is a GET, RFC 6455 §4.1)");
  }
  if (value === true) return { websocket: { ...WEBSOCKET_DEFAULTS } };
  const d = WEBSOCKET_DEFAULTS;
  const cfg: WebSocketConfig = {
    idle_timeout: readDuration(ctx, value.idle_timeout, [...where, "idle_timeout"], d.idle_timeout),
    max_message_size: readSize(ctx, value.max_message_size, [...where, "max_message_size"], d.max_message_size),
    max_buffer: readSize(ctx, value.max_buffer, [...where, "max_buffer"], d.max_buffer),
    drain_timeout: readDuration(ctx, value.drain_timeout, [...where, "drain_timeout"], d.drain_timeout),
  };
  if (cfg.max_message_size > BUN_MAX_MESSAGE) ctx.problems.add([...where, "max_message_size"], "at most 16MB (Bun's WebSocket message cap)");
  if (value.max_message_size !== undefined && cfg.max_message_size === 0) ctx.problems.add([...where, "max_message_size"], "must be greater than 0");
  if (value.max_buffer !== undefined && cfg.max_buffer < 1024) ctx.problems.add([...where, "max_buffer"], 'at least "1KB"');
  requirePositive(ctx, cfg.drain_timeout, value.drain_timeout, [...where, "drain_timeout"]);
  return { websocket: cfg };
}
