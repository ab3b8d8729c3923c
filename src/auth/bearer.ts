/**
 * Reading a bearer token off a request (RFC 6750 §2). Only the Authorization
 * header method (§2.1) is supported; the form-body (§2.2) and query (§2.3)
 * methods are not, but an `access_token` query parameter next to the header
 * is refused as "more than one method" (§2, §3.1 invalid_request) so the
 * upstream never sees a second, unverified token.
 */

/** Authorization uses the Bearer scheme but is not `Bearer 1*SP b64token`. */
export const MALFORMED_BEARER: unique symbol = Symbol("malformed Authorization");

/** RFC 9110 §5.6.2 tchar. */
function isTchar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
    (c >= 35 && c <= 39) || c === 33 || c === 42 || c === 43 || c === 45 || c === 46 || c === 94 || c === 95 || c === 96 || c === 124 || c === 126
  );
}

/**
 * The b64token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1;
 * the scheme name is case-insensitive, RFC 9110 §11.1; one or more SP before
 * the token). null when the header uses another scheme; "" when the scheme
 * has no token; MALFORMED_BEARER when "Bearer" is followed by anything but SP
 * (a tab, a comma). The token's own characters are checked only if it fails
 * verification (see isToken68): a valid JWT is token68 already, and the
 * cached path should not scan it.
 */
export function bearerToken(value: string): string | null | typeof MALFORMED_BEARER {
  const len = value.length;
  if (
    len < 6 ||
    (value.charCodeAt(0) | 0x20) !== 98 || // b
    (value.charCodeAt(1) | 0x20) !== 101 || // e
    (value.charCodeAt(2) | 0x20) !== 97 || // a
    (value.charCodeAt(3) | 0x20) !== 114 || // r
    (value.charCodeAt(4) | 0x20) !== 101 || // e
    (value.charCodeAt(5) | 0x20) !== 114 // r
  ) return null;
  if (len === 6) return "";
  const sep = value.charCodeAt(6);
  if (sep !== 32) return isTchar(sep) ? null : MALFORMED_BEARER; // "Bearerx" is another scheme
  let start = 7;
  while (start < len && value.charCodeAt(start) === 32) start++;
  let end = len;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return value.slice(start, end);
}

/** RFC 9110 §11.2 token68 (= RFC 6750 §2.1 b64token): 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
export function isToken68(s: string): boolean {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 45 && c <= 57 /* - . / 0-9 */) || c === 95 || c === 126 || c === 43)) break;
  }
  if (i === 0) return false;
  while (i < s.length && s.charCodeAt(i) === 61) i++;
  return i === s.length;
}

/** Whether the raw query ("?a=1" or "") has an `access_token` parameter (RFC 6750 §2.3), with or without a value. */
export function hasQueryToken(query: string): boolean {
  for (let i = query.indexOf("access_token"); i > 0; i = query.indexOf("access_token", i + 1)) {
    const before = query.charCodeAt(i - 1);
    const after = i + 12 === query.length ? 38 : query.charCodeAt(i + 12);
    if ((before === 63 || before === 38) && (after === 61 || after === 38)) return true; // [?&]access_token[=&]
  }
  return false;
}
