// Idempotency-Key header parsing.
// draft-ietf-httpapi-idempotency-key-header §2.1: the field is an Item
// Structured Field (RFC 9651 §3.3) whose bare item MUST be a String
// (RFC 9651 §3.3.3). Parameters are allowed by the Item grammar (§3.1.2):
// they are checked for syntax (a field that fails parsing is ignored as a
// whole, §4.2, so we refuse it) and otherwise ignored.
// parseIdempotencyKey returns the key or null; keyProblem says why, for the
// 400 (draft §2.7), and is only called on that path.

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SEMI = 0x3b;
const SP = 0x20;

/** The common case in one regex test: a quoted string of printable ASCII without escapes or parameters (§4.2.5). */
const PLAIN_STRING = /^ *"([\x20\x21\x23-\x5b\x5d-\x7e]+)" *$/;

/** Parse one Idempotency-Key field value; null if not a valid sf-string item of 1..maxLength characters. */
export function parseIdempotencyKey(raw: string | null, maxLength = 255): string | null {
  if (raw === null) return null;
  const plain = PLAIN_STRING.exec(raw);
  if (plain !== null) return plain[1]!.length <= maxLength ? plain[1]! : null;
  const r = parseItem(raw);
  if (typeof r !== "object") return null;
  return r.key.length === 0 || r.key.length > maxLength ? null : r.key;
}

/** Why `raw` is not an acceptable key (for the 400's message). */
export function keyProblem(raw: string, maxLength = 255): string {
  const r = parseItem(raw);
  if (typeof r === "string") return r;
  if (r.key.length === 0) return "the key is empty";
  if (r.key.length > maxLength) return `the key is ${r.key.length} characters long (at most ${maxLength})`;
  return "invalid";
}

/** RFC 9651 §4.2.3 (parsing an Item) restricted to a String bare item; a string is the failure. */
function parseItem(raw: string): { key: string } | string {
  const n = raw.length;
  let i = 0;
  // §4.2: discard leading and trailing SP.
  while (i < n && raw.charCodeAt(i) === SP) i++;
  let end = n;
  while (end > i && raw.charCodeAt(end - 1) === SP) end--;
  if (i >= end) return "the value is empty (expected a quoted string)";
  if (raw.charCodeAt(i) !== DQUOTE) return 'expected a Structured Field String in double quotes, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324" (RFC 9651 §3.3.3)';
  i++;
  let out = "";
  for (;;) {
    if (i >= end) return "unterminated string (missing closing double quote)";
    const c = raw.charCodeAt(i++);
    if (c === BACKSLASH) {
      if (i >= end) return "unterminated string (ends in a backslash)";
      const e = raw.charCodeAt(i++);
      // §4.2.5: only \" and \\ are valid escapes.
      if (e !== DQUOTE && e !== BACKSLASH) return `invalid escape "\\${raw[i - 1]}" (only \\" and \\\\ are allowed)`;
      out += String.fromCharCode(e);
    } else if (c === DQUOTE) {
      break;
    } else if (c < 0x20 || c > 0x7e) {
      return `character ${JSON.stringify(raw[i - 1])} is not allowed (printable ASCII only, RFC 9651 §3.3.3)`;
    } else {
      out += String.fromCharCode(c);
    }
  }
  const bad = checkParameters(raw, i, end);
  return bad === null ? { key: out } : bad;
}

const isLcAlpha = (c: number) => c >= 0x61 && c <= 0x7a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number) => isLcAlpha(c) || (c >= 0x41 && c <= 0x5a);
/** tchar (RFC 9110 §5.6.2), plus ":" and "/" for sf-token (RFC 9651 §3.3.4). */
const TOKEN_EXTRA = "!#$%&'*+-.^_`|~:/";
const isTokenChar = (c: number) => isAlpha(c) || isDigit(c) || TOKEN_EXTRA.includes(String.fromCharCode(c));
const isKeyChar = (c: number) => isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a;
const BASE64 = /^[A-Za-z0-9+/=]*$/;

/** §4.2.3.2: *( ";" *SP key [ "=" bare-item ] ) up to `end`; null when well-formed. */
function checkParameters(s: string, i: number, end: number): string | null {
  while (i < end) {
    if (s.charCodeAt(i) !== SEMI) return `unexpected ${JSON.stringify(s.slice(i, end))} after the string (only ;parameters may follow)`;
    i++;
    while (i < end && s.charCodeAt(i) === SP) i++;
    const k0 = i;
    const c0 = s.charCodeAt(i);
    if (!(isLcAlpha(c0) || c0 === 0x2a)) return "invalid parameter name (lower-case letter or * first, RFC 9651 §3.1.2)";
    i++;
    while (i < end && isKeyChar(s.charCodeAt(i))) i++;
    if (i - k0 > 0 && i < end && s.charCodeAt(i) === 0x3d) {
      i++;
      const next = skipBareItem(s, i, end);
      if (next < 0) return `invalid value of parameter ${JSON.stringify(s.slice(k0, i - 1))}`;
      i = next;
    }
  }
  return null;
}

/** The index after one bare item at `i` (§4.2.3.1), or -1. */
function skipBareItem(s: string, i: number, end: number): number {
  if (i >= end) return -1;
  const c = s.charCodeAt(i);
  if (c === 0x2d || isDigit(c)) {
    // Integer (up to 15 digits) or Decimal (up to 12 integer, 1-3 fraction digits), §4.2.4.
    let j = c === 0x2d ? i + 1 : i;
    const d0 = j;
    while (j < end && isDigit(s.charCodeAt(j))) j++;
    const intDigits = j - d0;
    if (intDigits === 0) return -1;
    if (j < end && s.charCodeAt(j) === 0x2e) {
      if (intDigits > 12) return -1;
      const f0 = ++j;
      while (j < end && isDigit(s.charCodeAt(j))) j++;
      return j - f0 >= 1 && j - f0 <= 3 ? j : -1;
    }
    return intDigits <= 15 ? j : -1;
  }
  if (c === DQUOTE) {
    let j = i + 1;
    for (;;) {
      if (j >= end) return -1;
      const x = s.charCodeAt(j++);
      if (x === BACKSLASH) {
        if (j >= end) return -1;
        const e = s.charCodeAt(j++);
        if (e !== DQUOTE && e !== BACKSLASH) return -1;
      } else if (x === DQUOTE) return j;
      else if (x < 0x20 || x > 0x7e) return -1;
    }
  }
  if (c === 0x3a) {
    // Byte Sequence, §4.2.7.
    const close = s.indexOf(":", i + 1);
    if (close < 0 || close >= end || !BASE64.test(s.slice(i + 1, close))) return -1;
    return close + 1;
  }
  if (c === 0x3f) {
    // Boolean, §4.2.8.
    const v = s.charCodeAt(i + 1);
    return v === 0x30 || v === 0x31 ? i + 2 : -1;
  }
  if (c === 0x40) {
    // Date, §4.2.9: "@" Integer.
    const j = skipBareItem(s, i + 1, end);
    return j > 0 && !s.slice(i + 1, j).includes(".") ? j : -1;
  }
  if (c === 0x25) {
    // Display String, §4.2.10: %"..." with lower-case %xx escapes of UTF-8.
    if (s.charCodeAt(i + 1) !== DQUOTE) return -1;
    let j = i + 2;
    for (;;) {
      if (j >= end) return -1;
      const x = s.charCodeAt(j++);
      if (x === DQUOTE) return j;
      if (x < 0x20 || x > 0x7e) return -1;
      if (x === 0x25 && !/^[0-9a-f]{2}$/.test(s.slice(j, j + 2))) return -1;
      if (x === 0x25) j += 2;
    }
  }
  if (isAlpha(c) || c === 0x2a) {
    // Token, §4.2.6.
    let j = i + 1;
    while (j < end && isTokenChar(s.charCodeAt(j))) j++;
    return j;
  }
  return -1;
}
