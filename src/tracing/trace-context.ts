/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): parsing the
 * client's `traceparent` (§3.2) and `tracestate` (§3.3), and making the
 * ids the gateway sends on. The trace id is kept from the client when it is
 * valid and believed; the gateway's server span gets a new span id, and each
 * upstream try is sent a new parent id (its client span), so the upstream's
 * span is a child of the gateway's and never of the client's.
 */
import { randomFillSync } from "node:crypto";

export interface TraceState {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** The client's span id (the parent of the gateway's server span), or null when the trace began here. */
  parentId: string | null;
  /** The gateway's server span id, 16 hex digits. */
  spanId: string;
  sampled: boolean;
  /** The tracestate to send on, or null. */
  tracestate: string | null;
  /** The parent id sent upstream on the current try (its client span's id); null before any. */
  upstreamSpanId: string | null;
  /** Client spans of the upstream tries, recorded only when they will be exported (sampled, OTLP on). */
  tries: UpstreamTry[] | null;
  /** Whether tries are recorded: the trace is sampled and an exporter is configured. */
  record: boolean;
}

/** One upstream try, for its client span (OpenTelemetry HTTP client span: one per resend). */
export interface UpstreamTry {
  spanId: string;
  target: string;
  /** performance.now() when the request was sent, and when its response head came (or it failed). */
  startMs: number;
  endMs: number;
  /** The response status, or 0 when the try failed. */
  status: number;
  /** The failure kind (GatewayError kind), or null. */
  error: string | null;
}

/** Lower-case hex over [from, to) of `s`, by char code (no regex or slice per request). */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

/**
 * A valid traceparent's fields, or null (§3.2.2: then the gateway starts a new
 * trace). Version 00 is exactly 55 characters; a higher version is parsed by
 * its version-00 prefix and must continue with "-" (§3.2.4, forward
 * compatibility); version ff is invalid.
 */
export function parseTraceparent(value: string | null): { traceId: string; parentId: string; sampled: boolean } | null {
  if (value === null) return null;
  const v = value.length === 55 ? value : value.trim();
  if (v.length < 55) return null;
  if (!isHex(v, 0, 2) || (v.charCodeAt(0) === 102 && v.charCodeAt(1) === 102)) return null; // version ff is invalid
  const v00 = v.charCodeAt(0) === 48 && v.charCodeAt(1) === 48;
  if (v00 ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 45) return null;
  if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return null;
  if (!isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55)) return null;
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  const flags = v.charCodeAt(54);
  // The sampled flag is bit 0 of the flags byte: its low hex digit is odd.
  return { traceId, parentId, sampled: (flags <= 57 ? flags - 48 : flags - 87) % 2 === 1 };
}

/**
 * The tracestate to pass on (§3.3): list members kept when the header is
 * within 512 characters and 32 members, with empty members dropped; a
 * malformed member drops the whole header, as the spec allows.
 */
export function cleanTracestate(value: string | null): string | null {
  if (value === null || value.length > 512) return null;
  const members = value.split(",").map((m) => m.trim()).filter((m) => m !== "");
  if (members.length === 0 || members.length > 32) return null;
  const keys = new Set<string>();
  for (const m of members) {
    const eq = m.indexOf("=");
    if (eq <= 0) return null;
    const key = m.slice(0, eq);
    if (!/^([a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/.test(key)) return null;
    if (keys.has(key)) return null;
    keys.add(key);
    if (!/^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/.test(m.slice(eq + 1))) return null;
  }
  return members.join(",");
}

/** Random ids from a pooled buffer: one getrandom per 256 ids, not one per request. */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

function randomHex(bytes: number): string {
  if (poolAt + bytes > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const s = POOL.toString("hex", poolAt, poolAt + bytes);
  poolAt += bytes;
  return s;
}

/** A new span id: 8 random bytes, never all zero. */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}

export function newTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE ? newTraceId() : id;
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/**
 * The trace fields of one upstream request, as header lines of the head the
 * proxy writes: a new parent id (the gateway's client span for this request,
 * remembered in `upstreamSpanId`) and the tracestate when there is one. The
 * proxy writes these itself, like X-Forwarded-For, so a route needs no
 * onUpstreamRequest hook (and no draft) for tracing.
 */
export function traceHeaderLines(t: TraceState): string {
  const sid = newSpanId();
  t.upstreamSpanId = sid;
  const line = `traceparent: 00-${t.traceId}-${sid}-${t.sampled ? "01" : "00"}\r\n`;
  return t.tracestate === null ? line : `${line}tracestate: ${t.tracestate}\r\n`;
}
