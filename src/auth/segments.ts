/**
 * Compact JWS segments (RFC 7515 §7.1): BASE64URL(header) "." BASE64URL(payload)
 * "." BASE64URL(signature). Decoding is strict: Buffer's base64url decoder
 * silently skips bad characters, so the alphabet is checked first
 * (RFC 4648 §5, no padding per RFC 7515 §2, canonical trailing bits per
 * RFC 4648 §3.5), and JSON text must be valid UTF-8 (RFC 7515 §5.2 step 3,
 * RFC 8259 §8.1) with unique member names (RFC 7515 §5.2 step 4, RFC 7519 §4).
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The 6-bit value of a base64url character, or -1. */
function sextet(c: number): number {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  return c === 45 ? 62 : c === 95 ? 63 : -1; // - _
}

/**
 * True when token[start, end) is non-empty, unpadded, canonical base64url.
 * Canonical: the unused low bits of the last character are zero, so one byte
 * string has one encoding and a token cannot be re-encoded into a second
 * string that verifies (and caches) as well.
 */
export function isBase64Url(s: string, start: number, end: number): boolean {
  const len = end - start;
  // A length of 1 mod 4 cannot come from any byte string.
  if (len <= 0 || (len & 3) === 1) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    // A-Z a-z 0-9 - _ (inline: this loop runs over every uncached token)
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return false;
  }
  const rem = len & 3;
  if (rem === 0) return true;
  return (sextet(s.charCodeAt(end - 1)) & (rem === 2 ? 0x0f : 0x03)) === 0;
}

// TC39 Uint8Array.fromBase64: ~40% faster than Buffer.from(s, "base64url") in Bun.
// It skips ASCII whitespace and accepts "=", so isBase64Url runs first either way.
const fromBase64 = (Uint8Array as unknown as {
  fromBase64?: (s: string, o: { alphabet: "base64url" }) => Uint8Array;
}).fromBase64;

/** The bytes of token[start, end), or null when it is not strict base64url. */
export function decodeSegment(s: string, start: number, end: number): Uint8Array | null {
  if (!isBase64Url(s, start, end)) return null;
  const text = start === 0 && end === s.length ? s : s.slice(start, end);
  return fromBase64 !== undefined ? fromBase64(text, { alphabet: "base64url" }) : Buffer.from(text, "base64url");
}

/**
 * The JSON object encoded in token[start, end), or null when the segment is
 * not base64url, not UTF-8, not JSON, not an object (arrays, null, numbers
 * and strings are refused: RFC 7515 §4 and RFC 7519 §7.2 step 10 require a
 * JSON object), or has a member name twice (RFC 7515 §5.2 allows rejecting
 * instead of last-wins; we reject, so `{"alg":"none","alg":"HS256"}` means
 * nothing to anyone).
 */
export function decodeJsonObject(s: string, start: number, end: number): Record<string, unknown> | null {
  const bytes = decodeSegment(s, start, end);
  if (bytes === null) return null;
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const obj = value as Record<string, unknown>;
  let keys = 0;
  for (const _ in obj) keys++; // JSON.parse objects have only own, enumerable members
  return topLevelMembers(text) === keys ? obj : null;
}

/**
 * How many members the top-level object of valid JSON `text` lists, counting
 * duplicates: commas at depth 1 outside strings, plus one. JSON.parse keeps
 * the last duplicate, so fewer keys than members means a duplicate name.
 */
function topLevelMembers(text: string): number {
  let depth = 0;
  let commas = 0;
  let empty = true;
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        let k = i - 1;
        while (text.charCodeAt(k) === 92) k--;
        if (((i - k) & 1) === 1) break;
      }
      if (depth === 1) empty = false;
    } else if (c === 123 || c === 91) depth++; // { [
    else if (c === 125 || c === 93) depth--; // } ]
    else if (c === 44 && depth === 1) commas++; // ,
  }
  return empty ? 0 : commas + 1;
}

/** Own property only: a claim named "constructor" must not read the prototype. */
export function ownValue(obj: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}
