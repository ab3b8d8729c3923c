/**
 * An idempotency record, as every store keeps it: a small JSON head (state,
 * owner, fingerprint, status, headers) and the response body as raw bytes,
 * so a replay is the stored bytes exactly (draft-ietf-httpapi-idempotency-
 * key-header §2.6: the retry gets the first request's result).
 *
 * States:
 * - pending: the first request holds the in-flight lock (`token` names it,
 *   so only its owner completes or releases it); stored with lock_timeout.
 * - done: the final response, replayed to a retry with the same fingerprint.
 * - unreplayable: the request ran and was answered, but its response was
 *   larger than the store's object limit; a retry is refused (never re-run).
 */

export type IdempotencyRecord = PendingRecord | DoneRecord | UnreplayableRecord;

export interface PendingRecord {
  readonly state: "pending";
  /** Random owner id of the request holding the lock. */
  readonly token: string;
}

export interface DoneRecord {
  readonly state: "done";
  /** Request fingerprint (fingerprint.ts): method, path, query, body digest. */
  readonly fp: string;
  readonly status: number;
  /** End-to-end response fields, in order, names lower-cased. */
  readonly headers: readonly (readonly [string, string])[];
  /** Response body bytes (empty when none). */
  readonly body: Uint8Array;
}

export interface UnreplayableRecord {
  readonly state: "unreplayable";
  readonly fp: string;
  readonly status: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** The head of a record as bytes (the body travels apart). */
export function encodeHead(r: IdempotencyRecord): Uint8Array {
  switch (r.state) {
    case "pending":
      return enc.encode(`{"s":"p","t":${JSON.stringify(r.token)}}`);
    case "done":
      return enc.encode(JSON.stringify({ s: "d", f: r.fp, c: r.status, h: r.headers }));
    case "unreplayable":
      return enc.encode(JSON.stringify({ s: "u", f: r.fp, c: r.status }));
  }
}

/** A record from its head and body; null when the head is not one of ours (a foreign or corrupt value). */
export function decodeRecord(head: Uint8Array, body: Uint8Array): IdempotencyRecord | null {
  let v: { s?: unknown; t?: unknown; f?: unknown; c?: unknown; h?: unknown };
  try {
    v = JSON.parse(dec.decode(head));
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object") return null;
  if (v.s === "p" && typeof v.t === "string") return { state: "pending", token: v.t };
  if (typeof v.f !== "string" || typeof v.c !== "number") return null;
  if (v.s === "u") return { state: "unreplayable", fp: v.f, status: v.c };
  if (v.s !== "d" || !Array.isArray(v.h)) return null;
  const headers: [string, string][] = [];
  for (const pair of v.h) {
    if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string") return null;
    headers.push([pair[0], pair[1]]);
  }
  return { state: "done", fp: v.f, status: v.c, headers, body };
}

/**
 * One value holding head and body, for stores with a single value per key
 * (Redis): a 4-byte big-endian head length, the head, then the body.
 */
export function packRecord(r: IdempotencyRecord): Uint8Array {
  const head = encodeHead(r);
  const body = r.state === "done" ? r.body : EMPTY;
  const out = new Uint8Array(4 + head.length + body.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(body, 4 + head.length);
  return out;
}

export function unpackRecord(value: Uint8Array): IdempotencyRecord | null {
  if (value.length < 4) return null;
  const n = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
  if (4 + n > value.length) return null;
  return decodeRecord(value.subarray(4, 4 + n), value.subarray(4 + n));
}

/** A fresh owner token (random, so two instances never share one). */
export function newToken(): string {
  return crypto.randomUUID();
}
