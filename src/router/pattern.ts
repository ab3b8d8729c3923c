/**
 * Route pattern syntax: parsing and validation, done once at config load.
 *
 *   /v1/users            exact segments (raw, percent-encoded text: RFC 3986 §3.3 pchar)
 *   /v1/users/:id        a param: one whole, non-empty segment; name [A-Za-z0-9_]+
 *   /static/*            a trailing wildcard: "/static", "/static/" and anything deeper
 *
 * A ":" inside a segment is literal ("/v1/things:batchGet"). "*" is accepted only
 * as the whole last segment. Empty segments ("//") and dot segments ("." "..")
 * are refused: a client's URL never reaches the router with them unresolved, so
 * such a route could never match. A trailing "/" is allowed and significant.
 */

/** One segment of a parsed pattern (the text between two "/"). */
export type PatternSegment =
  | { readonly kind: "static"; readonly text: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "wildcard" };

export interface ParsedPattern {
  /** After the leading "/". A trailing slash is a last static segment "". */
  readonly segments: readonly PatternSegment[];
  /** Param names in path order; "*" last when the pattern ends in a wildcard. */
  readonly names: readonly string[];
  /** The pattern with param names erased ("/users/:/posts"): equal shapes match the same paths. */
  readonly shape: string;
  /** No params and no wildcard. */
  readonly isStatic: boolean;
}

const PARAM_NAME = /^[A-Za-z0-9_]+$/;

/** RFC 3986 §3.3 pchar, minus "%" (checked as an escape) and "*" (reserved for the wildcard). */
const PCHAR = /[A-Za-z0-9\-._~!$&'()+,;=:@]/;

/** null when `path` is a valid route pattern, else what is wrong with it (no key path prefix). */
export function validateRoutePath(path: string): string | null {
  const r = parse(path);
  return typeof r === "string" ? r : null;
}

/** Parses a pattern, throwing an Error naming the pattern and the problem. */
export function parseRoutePath(path: string): ParsedPattern {
  const r = parse(path);
  if (typeof r === "string") throw new Error(`invalid route path ${JSON.stringify(path)}: ${r}`);
  return r;
}

function parse(path: string): ParsedPattern | string {
  if (typeof path !== "string" || path.length === 0) return "must not be empty";
  if (path.charCodeAt(0) !== 47) return 'must start with "/"';
  const segments: PatternSegment[] = [];
  const names: string[] = [];
  let shape = "";
  let start = 1; // index of the current segment's first char
  while (start <= path.length) {
    let end = path.indexOf("/", start);
    if (end === -1) end = path.length;
    const seg = path.slice(start, end);
    const last = end === path.length;
    if (seg === "" && !last) return `empty segment at index ${start}`;
    if (seg === "." || seg === "..") return `dot segment "${seg}" at index ${start}`;
    if (seg.charCodeAt(0) === 58 /* : */) {
      const name = seg.slice(1);
      if (name === "") return `empty param name at index ${start}`;
      if (!PARAM_NAME.test(name)) return `invalid param name ":${name}" at index ${start} (use A-Z a-z 0-9 _)`;
      if (names.includes(name)) return `duplicate param name ":${name}"`;
      segments.push({ kind: "param", name });
      names.push(name);
      shape += "/:";
    } else if (seg === "*") {
      if (!last) return '"*" must be the last segment';
      segments.push({ kind: "wildcard" });
      names.push("*");
      shape += "/*";
    } else {
      const bad = checkLiteral(path, start, end);
      if (bad !== null) return bad;
      segments.push({ kind: "static", text: seg });
      shape += "/" + seg;
    }
    start = end + 1;
  }
  return { segments, names, shape, isStatic: names.length === 0 };
}

function checkLiteral(path: string, from: number, to: number): string | null {
  for (let i = from; i < to; i++) {
    const c = path[i]!;
    if (c === "*") return '"*" must be a whole segment';
    if (c === "%") {
      if (!isHex(path.charCodeAt(i + 1)) || !isHex(path.charCodeAt(i + 2)) || i + 2 >= to) {
        return `malformed percent-escape at index ${i}`;
      }
      i += 2;
      continue;
    }
    if (PCHAR.test(c)) continue;
    if (c.charCodeAt(0) > 127) return `non-ASCII character ${JSON.stringify(c)} at index ${i} (percent-encode it)`;
    return `invalid character ${JSON.stringify(c)} at index ${i}`;
  }
  return null;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * null when `host` is a valid route host, else the problem. Accepted: a name
 * ("api.example.com", any case), "*.example.com" (exactly one label in place of
 * "*"), an IPv4 address or a bracketed IPv6 address. No port: routing sees the
 * Host header without it.
 */
export function validateRouteHost(host: string): string | null {
  if (typeof host !== "string" || host.length === 0) return "must not be empty";
  if (host === "*") return 'a bare "*" is not a host pattern; leave hosts empty to match any host';
  if (host.charCodeAt(0) === 91 /* [ */) {
    return /^\[[0-9A-Fa-f:.]+\]$/.test(host) ? null : "malformed IPv6 address (expected [addr], no port)";
  }
  const name = host.startsWith("*.") ? host.slice(2) : host;
  if (name.includes("*")) return '"*" is only allowed as the whole first label ("*.example.com")';
  if (name.includes(":")) return "must not include a port";
  const labels = name.split(".");
  for (const label of labels) {
    if (label === "") return "empty label";
    if (!/^[A-Za-z0-9_-]+$/.test(label)) {
      const bad = label.match(/[^A-Za-z0-9_-]/)![0];
      return `invalid character ${JSON.stringify(bad)}`;
    }
  }
  return null;
}

/** RFC 9110 §9.1: a method is a token; this router also wants it upper-case. */
export function validateRouteMethod(method: string): string | null {
  if (typeof method !== "string" || method.length === 0) return "must not be empty";
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) return `invalid method ${JSON.stringify(method)}`;
  if (method !== method.toUpperCase()) return `method ${JSON.stringify(method)} must be upper-case`;
  return null;
}
