/**
 * A client's own conditional GET/HEAD answered from a stored response
 * (RFC 9111 §4.3.2, RFC 9110 §13.1.2, §13.1.3, §13.2.2): If-None-Match with
 * the weak comparison; If-Modified-Since only without If-None-Match, against
 * Last-Modified (or the stored Date when there is none).
 */
import { parseHttpDate } from "./dates.ts";
import { headerOf, type StoredEntry } from "./entry.ts";

/** Entity tags of an If-None-Match list (their opaque parts, W/ dropped: weak comparison), or "*". */
function tags(value: string): string[] | "*" {
  if (value.trim() === "*") return "*";
  const out: string[] = [];
  const re = /(?:W\/)?"([^"]*)"/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) out.push(m[1]!);
  return out;
}

function opaque(etag: string | null): string | null {
  if (etag === null) return null;
  const m = /^\s*(?:W\/)?"([^"]*)"\s*$/.exec(etag);
  return m ? m[1]! : null;
}

/** true when the client's conditionals say its copy is current: answer 304. */
export function notModified(e: StoredEntry, ifNoneMatch: string | null, ifModifiedSince: string | null): boolean {
  // Conditionals apply to 2xx selected representations only (RFC 9110 §13.2.1).
  if (e.status < 200 || e.status > 299) return false;
  if (ifNoneMatch !== null) {
    const list = tags(ifNoneMatch);
    if (list === "*") return true;
    const mine = opaque(headerOf(e, "etag"));
    return mine !== null && list.includes(mine);
  }
  if (ifModifiedSince !== null) {
    const since = parseHttpDate(ifModifiedSince);
    if (Number.isNaN(since)) return false;
    const lm = parseHttpDate(headerOf(e, "last-modified") ?? headerOf(e, "date"));
    return !Number.isNaN(lm) && lm <= since;
  }
  return false;
}

/** The fields a 304 carries from the stored response (RFC 9110 §15.4.5). */
export const NOT_MODIFIED_FIELDS: readonly string[] = ["cache-control", "content-location", "date", "etag", "expires", "last-modified", "vary"];

/** Validators to revalidate the entry with the origin (§4.3.1): its ETag, its Last-Modified. */
export function validators(e: StoredEntry): { etag: string | null; lastModified: string | null } {
  return { etag: headerOf(e, "etag"), lastModified: headerOf(e, "last-modified") };
}
