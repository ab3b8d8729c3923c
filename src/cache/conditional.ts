/**
 * A client's own conditional GET/HEAD answered from a stored response
 * (RFC 9111 §4.3.2, RFC 9110 §13.1.2, §13.1.3, §13.2.2): If-None-Match with
 * the weak comparison; If-Modified-Since only without If-None-Match, against
 * Last-Modified (or the stored Date when there is none). And the other way:
 * whether the origin's 304 is about the stored response (§4.3.4).
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

const WEAK = /^\s*W\//;

/**
 * §4.3.4: does a 304 with these validators update the stored response it
 * answered? A strong ETag must match the stored one by the strong comparison,
 * a weak one by the weak comparison (RFC 9110 §8.8.3.2); without an ETag, a
 * Last-Modified must be the stored one. A 304 that carries neither updates
 * it: a key holds one stored response, the one whose validators were sent.
 */
export function selectedForUpdate(e: StoredEntry, etag: string | null, lastModified: string | null): boolean {
  if (etag !== null) {
    const stored = headerOf(e, "etag");
    const mine = opaque(stored);
    if (mine === null || mine !== opaque(etag)) return false;
    return WEAK.test(etag) || !WEAK.test(stored!);
  }
  if (lastModified !== null) {
    const mine = parseHttpDate(headerOf(e, "last-modified"));
    return !Number.isNaN(mine) && mine === parseHttpDate(lastModified);
  }
  return true;
}
