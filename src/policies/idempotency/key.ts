// Idempotency-Key header parsing.
// draft-ietf-httpapi-idempotency-key-header §2.1: the field is an Item
// Structured Field (RFC 9651 §3.3) whose bare item MUST be a String
// (RFC 9651 §3.3.3). Parameters are allowed by the Item grammar and ignored.
// Returns the key, or null when the field is absent/malformed (the caller
// answers 400 per draft §2.7).

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Parse one Idempotency-Key field value; null if not a valid sf-string item. */
export function parseIdempotencyKey(raw: string | null, maxLength = 255): string | null {
  if (raw === null) return null;
  let i = 0;
  const n = raw.length;
  // RFC 9651 §4.2: discard leading and trailing SP.
  while (i < n && raw.charCodeAt(i) === 0x20) i++;
  let end = n;
  while (end > i && raw.charCodeAt(end - 1) === 0x20) end--;
  if (i >= end || raw.charCodeAt(i) !== DQUOTE) return null;
  i++;
  let out = "";
  for (;;) {
    if (i >= end) return null; // unterminated string
    const c = raw.charCodeAt(i++);
    if (c === BACKSLASH) {
      if (i >= end) return null;
      const e = raw.charCodeAt(i++);
      // §4.2.5: only \" and \\ are valid escapes.
      if (e !== DQUOTE && e !== BACKSLASH) return null;
      out += String.fromCharCode(e);
    } else if (c === DQUOTE) {
      break;
    } else if (c < 0x20 || c > 0x7e) {
      return null; // §3.3.3: printable ASCII only
    } else {
      out += String.fromCharCode(c);
    }
  }
  // Anything after the string must be parameters (";key[=value]").
  if (i < end && raw.charCodeAt(i) !== 0x3b) return null;
  if (out.length === 0 || out.length > maxLength) return null;
  return out;
}
