/**
 * A byte range of a stored complete response (RFC 9110 §14, RFC 9111 §3.4:
 * a cache may answer a range request from a complete stored response). One
 * range is answered with 206; what this does not answer (several ranges, an
 * unsatisfiable or malformed one, a failed If-Range) gets the whole
 * response, which RFC 9110 §14.2 allows: a server MAY ignore Range.
 */
import { parseHttpDate } from "./dates.ts";

export interface ByteRange {
  /** First and last byte offsets, inclusive. */
  start: number;
  end: number;
}

const SINGLE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/** The one range of a `Range: bytes=…` value within `size` bytes, or null: answer with the whole response. */
export function byteRange(range: string | null, size: number): ByteRange | null {
  if (range === null || size === 0) return null;
  const m = SINGLE.exec(range);
  if (m === null) return null;
  const [, first, last] = m;
  if (first === "" && last === "") return null;
  if (first === "") {
    // suffix-range: the last N bytes (§14.1.1)
    const n = Number(last);
    if (n === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return null;
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return null;
  return { start, end };
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only when the validator
 * still names the stored representation: an entity tag by the strong
 * comparison, or a date equal to Last-Modified that is strong (at least a
 * second before the response's Date, §8.8.2.2). Without If-Range it applies.
 */
export function ifRangeHolds(ifRange: string | null, etag: string | null, lastModified: string | null, date: string | null): boolean {
  if (ifRange === null) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith("W/")) return etag !== null && !v.startsWith("W/") && !etag.trim().startsWith("W/") && v === etag.trim();
  const since = parseHttpDate(v);
  const lm = parseHttpDate(lastModified);
  const d = parseHttpDate(date);
  return !Number.isNaN(since) && since === lm && !Number.isNaN(d) && d - lm >= 1000;
}

/** `bytes first-last/complete`, the Content-Range of a 206 (§14.4). */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}
