/**
 * Parsing of an HTTP/1.x response head (RFC 9112 §4 status line, §5 field
 * lines) and the framing decision for the body that follows (§6.3).
 *
 * The head arrives as bytes; it is decoded once as latin1 (one byte, one
 * char: field values are opaque octets, RFC 9110 §5.5) and checked by one
 * anchored regex before it is split, so the split loop can trust its input.
 */

/** What follows the head on the wire (RFC 9112 §6.3). */
export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
/** Close-delimited: everything until the upstream closes (§6.3 rule 8). */
export const BODY_UNTIL_CLOSE = 3;
export type BodyKind = typeof BODY_NONE | typeof BODY_LENGTH | typeof BODY_CHUNKED | typeof BODY_UNTIL_CLOSE;

/** Largest response head accepted, status line and fields together. */
export const MAX_HEAD_BYTES = 64 * 1024;

/**
 * The whole head in one pass of the regex engine: a status line, then field
 * lines `token ":" OWS value`, each ended by CRLF, then the empty line.
 * Field values may hold VCHAR, obs-text, SP and HTAB only (RFC 9110 §5.5), so
 * a bare CR, a bare LF or a NUL anywhere fails the match; so does whitespace
 * before the colon (RFC 9112 §5.1: MUST reject) and obs-fold (§5.2: a proxy
 * may reject it with 502).
 */
const HEAD_SYNTAX =
  /^HTTP\/1\.\d [1-9]\d\d(?: [\t\x20-\x7e\x80-\xff]*)?\r\n(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*\r\n$/;

export class ResponseHead {
  status = 0;
  statusText = "";
  /** HTTP/1.0 (0) or 1.1 (1); later 1.x minors are read as 1.1. */
  minor = 1;
  headers: [string, string][] = [];
  /** -1 without Content-Length. */
  contentLength = -1;
  /** Transfer-Encoding: chunked was seen (the only coding parseResponseHead accepts, so the body is chunked). */
  transferEncoding = false;
  connectionClose = false;
  connectionKeepAlive = false;
}

/**
 * Parse a head (status line through the empty line, CRLFs included).
 * Returns the head, or a string saying what was wrong (for the error's
 * cause; never shown to a client).
 */
export function parseResponseHead(s: string): ResponseHead | string {
  if (!HEAD_SYNTAX.test(s)) return describeSyntaxError(s);
  const head = new ResponseHead();
  const c7 = s.charCodeAt(7);
  head.minor = c7 === 48 ? 0 : 1;
  head.status = (s.charCodeAt(9) - 48) * 100 + (s.charCodeAt(10) - 48) * 10 + (s.charCodeAt(11) - 48);
  if (head.status > 599) return "status code out of range";
  let eol = s.indexOf("\r\n", 12);
  head.statusText = eol > 13 ? s.slice(13, eol) : "";
  const end = s.length - 2;
  const headers = head.headers;
  let pos = eol + 2;
  while (pos < end) {
    eol = s.indexOf("\r\n", pos);
    const colon = s.indexOf(":", pos);
    let v = colon + 1;
    let ve = eol;
    // Trim OWS around the value (RFC 9112 §5: OWS is not part of it).
    while (v < ve && isOws(s.charCodeAt(v))) v++;
    while (ve > v && isOws(s.charCodeAt(ve - 1))) ve--;
    const name = s.slice(pos, colon);
    const value = s.slice(v, ve);
    headers.push([name, value]);
    const len = colon - pos;
    // Only four names change framing or reuse; compare by length first.
    if (len === 14) {
      if (nameIs(s, pos, "content-length")) {
        const n = parseContentLength(value);
        if (n < 0 || (head.contentLength >= 0 && head.contentLength !== n)) return "invalid content-length";
        head.contentLength = n;
      }
    } else if (len === 17) {
      if (nameIs(s, pos, "transfer-encoding")) {
        // Several fields combine into one list (RFC 9110 §5.3): count every coding.
        if (!onlyChunked(value) || head.transferEncoding) return "unsupported transfer coding";
        head.transferEncoding = true;
      }
    } else if (len === 10) {
      if (nameIs(s, pos, "connection")) readConnection(head, value);
    }
    pos = eol + 2;
  }
  // §6.3 rule 3: TE would override CL, but the pair "ought to be handled as an error"
  // (a smuggling or splitting attempt); we answer 502 rather than guess.
  if (head.transferEncoding && head.contentLength >= 0) return "both transfer-encoding and content-length";
  return head;
}

/**
 * How the body is delimited, RFC 9112 §6.3, in the order the rules apply:
 * HEAD, 1xx, 204 and 304 never have one; then Transfer-Encoding (always
 * chunked here: parseResponseHead refuses any other coding); then
 * Content-Length; else until close.
 */
export function bodyKindOf(head: ResponseHead, isHeadRequest: boolean): BodyKind {
  const st = head.status;
  if (isHeadRequest || st < 200 || st === 204 || st === 304) return BODY_NONE;
  if (head.transferEncoding) return BODY_CHUNKED;
  if (head.contentLength >= 0) return head.contentLength === 0 ? BODY_NONE : BODY_LENGTH;
  return BODY_UNTIL_CLOSE;
}

/**
 * Whether the connection may carry another request after this response:
 * HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with keep-alive
 * (RFC 9112 §9.3). (Transfer-Encoding with Content-Length, after which §6.3
 * rule 3 says close, never gets here: parseResponseHead refuses it.)
 */
export function mayReuse(head: ResponseHead): boolean {
  if (head.connectionClose) return false;
  return head.minor === 1 || head.connectionKeepAlive;
}

/** 1*DIGIT, or a list of identical ones (RFC 9110 §8.6); -1 when invalid. */
function parseContentLength(v: string): number {
  let n = -1;
  let cur = -1;
  for (let i = 0; i <= v.length; i++) {
    const c = i < v.length ? v.charCodeAt(i) : 44;
    if (c >= 48 && c <= 57) {
      cur = cur < 0 ? c - 48 : cur * 10 + (c - 48);
      if (cur > Number.MAX_SAFE_INTEGER) return -1;
    } else if (c === 44) {
      if (cur < 0 || (n >= 0 && n !== cur)) return -1;
      n = cur;
      cur = -1;
      while (i + 1 < v.length && isOws(v.charCodeAt(i + 1))) i++;
    } else if (isOws(c)) {
      // OWS before a comma only.
      while (i + 1 < v.length && isOws(v.charCodeAt(i + 1))) i++;
      if (i + 1 < v.length && v.charCodeAt(i + 1) !== 44) return -1;
    } else return -1;
  }
  return n;
}

/**
 * Whether a Transfer-Encoding value is the one coding we forward: `chunked`,
 * alone (empty list members aside, RFC 9110 §5.6.1). Any other coding (gzip,
 * or chunked applied twice) is refused with 502 rather than read until close:
 * Transfer-Encoding is hop-by-hop, so forwarding the bytes without it would
 * hand the client a body still coded and no label saying so.
 */
function onlyChunked(v: string): boolean {
  let seen = 0;
  for (const raw of v.split(",")) {
    const t = raw.trim();
    if (t === "") continue;
    if (t.length !== 7 || t.toLowerCase() !== "chunked") return false;
    seen++;
  }
  return seen === 1;
}

function readConnection(head: ResponseHead, v: string): void {
  for (const raw of v.split(",")) {
    const t = raw.trim().toLowerCase();
    if (t === "close") head.connectionClose = true;
    else if (t === "keep-alive") head.connectionKeepAlive = true;
  }
}

/** Case-insensitive match of a lower-case literal at `at`, without allocating a lower-cased copy. */
function nameIs(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // | 0x20 folds A-Z onto a-z and leaves "-" as it is; the regex already admitted only token chars.
    if ((s.charCodeAt(at + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/** A short reason for the error's cause; only computed on failure. */
function describeSyntaxError(s: string): string {
  const eol = s.indexOf("\r\n");
  if (!/^HTTP\/1\.\d [1-9]\d\d(?: [\t\x20-\x7e\x80-\xff]*)?$/.test(eol < 0 ? s : s.slice(0, eol))) return "bad status line";
  return "bad header line";
}
