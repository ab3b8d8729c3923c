/**
 * Cache-Control parsing (RFC 9111 §5.2). A field value is a list of
 * directives, `token [ "=" ( token / quoted-string ) ]`, names
 * case-insensitive (§5.2). When a directive appears twice the first one
 * counts (§4.2.1 allows first-wins). Commas inside quoted strings do not
 * split (`no-cache="a, b"`).
 */

/** Directive name (lower-case) → its argument, or true when it has none. */
export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

export function parseCacheControl(value: string | null): Directives {
  if (value === null || value.length === 0) return EMPTY;
  const out = new Map<string, string | true>();
  const n = value.length;
  let i = 0;
  while (i < n) {
    // skip separators and whitespace
    while (i < n && (value[i] === "," || value[i] === " " || value[i] === "\t")) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && value[j] !== "=" && value[j] !== ",") j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let arg: string | true = true;
    if (j < n && value[j] === "=") {
      j++;
      while (j < n && (value[j] === " " || value[j] === "\t")) j++;
      if (value[j] === '"') {
        // quoted-string with quoted-pair (RFC 9110 §5.6.4)
        let s = "";
        j++;
        while (j < n && value[j] !== '"') {
          if (value[j] === "\\" && j + 1 < n) j++;
          s += value[j];
          j++;
        }
        arg = s;
        j++;
        while (j < n && value[j] !== ",") j++;
      } else {
        const start = j;
        while (j < n && value[j] !== ",") j++;
        arg = value.slice(start, j).trim();
      }
    }
    if (name.length > 0 && !out.has(name)) out.set(name, arg);
    i = j + 1;
  }
  return out;
}

/** The largest delta-seconds a cache must represent (§1.2.2): larger values count as this. */
export const MAX_DELTA = 2147483648;

/**
 * A delta-seconds argument (§1.2.2): 1*DIGIT, larger values clamped to
 * 2^31. A directive without an argument or with a bad one gives NaN, which
 * callers treat as "invalid" (a response max-age that is invalid makes the
 * response stale rather than fresh forever).
 */
export function deltaSeconds(arg: string | true | undefined): number {
  if (arg === undefined || arg === true || arg.length === 0) return NaN;
  for (let k = 0; k < arg.length; k++) {
    const c = arg.charCodeAt(k);
    if (c < 48 || c > 57) return NaN;
  }
  const v = Number(arg);
  return v > MAX_DELTA ? MAX_DELTA : v;
}

/** Field names listed in a qualified `no-cache="a, b"` / `private="a"` (lower-case), or null for the unqualified form. */
export function fieldNames(arg: string | true | undefined): string[] | null {
  if (arg === undefined || arg === true) return null;
  return arg
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
}
