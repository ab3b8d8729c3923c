/**
 * Templates: text with `{…}` placeholders, compiled once at config load into
 * literal parts and variable references, rendered per request with each value
 * encoded for the place it goes (path segment, query component, header field
 * value, JSON string). No regex and no closure per request.
 *
 * Variables:
 *   {id}             a route param (`:id` in the route path); {*} the wildcard rest
 *   {claim.NAME}     a verified JWT claim (strings as-is, numbers/booleans printed, lists joined by ",")
 *   {header.NAME}    a request header of the client
 *   {query.NAME}     a query parameter of the client (decoded)
 *   {consumer}       the consumer's name
 *   {client_ip}      the client address (after trusted-proxy processing)
 *   {request_id}     the request id
 *   {call.a.b}       (aggregation only) field a.b of the JSON answer of the call named `call`
 * A trailing "!" ({claim.tenant!}) makes the value required: when it is
 * missing or empty, rendering fails with MissingValue (the policy answers 400).
 * Otherwise a missing value renders as "". "{{" and "}}" are literal braces.
 *
 * Encoding (the value never changes the structure around it):
 *   path    RFC 3986 §3.3 segment: everything but unreserved and a few
 *           sub-delims is percent-encoded, "/" included (a value never adds a
 *           segment), and a value that is "." or ".." is encoded so it is not
 *           a dot-segment (§5.2.4). {*} keeps its "/" separators, each
 *           segment encoded the same way.
 *   query   RFC 3986 §3.4 component, as encodeURIComponent ("&", "=", "#" encoded).
 *   header  RFC 9110 §5.5: CR, LF, NUL and the other control characters are
 *           removed (a claim or header carrying "\r\nX-Admin: 1" becomes
 *           "X-Admin: 1" inside the one value: never a new field).
 *   text    as-is (JSON bodies: the JSON encoder escapes).
 */

export type TemplateEncoding = "path" | "query" | "header" | "text";

/** The small view of a request a template reads (the policy adapts its context to it). */
export interface TemplateSource {
  param(name: string): string | undefined;
  claim(name: string): unknown;
  header(name: string): string | null;
  query(name: string): string | null;
  readonly consumer: string | null;
  readonly clientIp: string;
  readonly requestId: string;
  /** Aggregation: a field of an earlier call's JSON answer. */
  ref?(call: string, path: readonly string[]): unknown;
}

/** Variable kinds (numbers, so `valueOf` is one integer switch). */
export const VarKind = {
  Param: 0,
  Wildcard: 1,
  Claim: 2,
  Header: 3,
  Query: 4,
  Consumer: 5,
  ClientIp: 6,
  RequestId: 7,
  Ref: 8,
} as const;
export type VarKind = (typeof VarKind)[keyof typeof VarKind];

export interface TemplateVar {
  readonly kind: VarKind;
  /** Param, claim, header (lower-cased), query name, or the call's name for Ref. */
  readonly name: string;
  /** Ref: the dotted field path inside the call's answer. */
  readonly path: readonly string[];
  readonly required: boolean;
  /** As written, for messages ("{claim.sub}"). */
  readonly source: string;
}

/** Literal text and variables, alternating: parts[0] text, then (var, text)*. */
export interface Template {
  readonly text: string;
  readonly literals: readonly string[];
  readonly vars: readonly TemplateVar[];
  readonly encoding: TemplateEncoding;
}

/** A required value ({x!}) was missing or empty. */
export class MissingValue extends Error {
  constructor(readonly variable: string) {
    super(`missing required value ${variable}`);
    this.name = "MissingValue";
  }
}

export interface CompileOptions {
  /** The route's param names; a {name} outside these is an error. */
  readonly params: readonly string[];
  /** Names of the aggregate's calls {call.x} may reference; absent: references are errors. */
  readonly calls?: ReadonlySet<string>;
}

const NAME = /^[A-Za-z0-9_]+$/;
const DOTTED = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Compile `text`; returns the template or a message saying what is wrong with it. */
export function compileTemplate(text: string, encoding: TemplateEncoding, opts: CompileOptions): Template | string {
  const literals: string[] = [];
  const vars: TemplateVar[] = [];
  let lit = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "}") {
      if (text[i + 1] !== "}") return `unmatched "}" at offset ${i} (write "}}" for a literal brace)`;
      lit += "}";
      i += 2;
      continue;
    }
    if (c !== "{") {
      lit += c;
      i++;
      continue;
    }
    if (text[i + 1] === "{") {
      lit += "{";
      i += 2;
      continue;
    }
    const end = text.indexOf("}", i);
    if (end < 0) return `unclosed "{" at offset ${i}`;
    const inner = text.slice(i + 1, end);
    const v = parseVar(inner, opts);
    if (typeof v === "string") return v;
    literals.push(lit);
    vars.push(v);
    lit = "";
    i = end + 1;
  }
  literals.push(lit);
  return { text, literals, vars, encoding };
}

function parseVar(inner: string, opts: CompileOptions): TemplateVar | string {
  const required = inner.endsWith("!");
  const body = required ? inner.slice(0, -1) : inner;
  const source = `{${inner}}`;
  const mk = (kind: VarKind, name = "", path: readonly string[] = []): TemplateVar => ({ kind, name, path, required, source });
  if (body === "*") {
    if (!opts.params.includes("*")) return `${source}: the route path has no "*" wildcard`;
    return mk(VarKind.Wildcard, "*");
  }
  if (body === "consumer") return mk(VarKind.Consumer);
  if (body === "client_ip") return mk(VarKind.ClientIp);
  if (body === "request_id") return mk(VarKind.RequestId);
  const dot = body.indexOf(".");
  if (dot < 0) {
    if (!NAME.test(body)) return `${source} is not a template variable`;
    if (!opts.params.includes(body)) {
      const known = opts.params.filter((p) => p !== "*").map((p) => `:${p}`);
      return `${source}: the route path has no param :${body}${known.length > 0 ? ` (it has ${known.join(", ")})` : ""}`;
    }
    return mk(VarKind.Param, body);
  }
  const head = body.slice(0, dot);
  const rest = body.slice(dot + 1);
  if (rest === "") return `${source}: a name must follow "${head}."`;
  switch (head) {
    case "claim":
      return mk(VarKind.Claim, rest);
    case "header":
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(rest)) return `${source}: invalid header name`;
      return mk(VarKind.Header, rest.toLowerCase());
    case "query":
      return mk(VarKind.Query, rest);
  }
  if (opts.calls === undefined) return `${source} is not a template variable (claim., header., query. or a route param)`;
  if (!opts.calls.has(head)) return `${source}: no aggregate call named ${JSON.stringify(head)}`;
  if (!DOTTED.test(rest)) return `${source}: expected a dotted field path after "${head}."`;
  return mk(VarKind.Ref, head, rest.split("."));
}

/** The calls a template references (aggregation dependencies). */
export function referencedCalls(t: Template): string[] {
  return [...new Set(t.vars.filter((v) => v.kind === VarKind.Ref).map((v) => v.name))];
}

/** The template's text for this request, each value encoded for where it goes; throws MissingValue. */
export function render(t: Template, src: TemplateSource): string {
  const lits = t.literals;
  const vars = t.vars;
  if (vars.length === 0) return lits[0]!;
  let out = lits[0]!;
  for (let k = 0; k < vars.length; k++) {
    const v = vars[k]!;
    const raw = valueOf(v, src);
    if (raw === "" && v.required) throw new MissingValue(v.source);
    out += (v.kind === VarKind.Wildcard && t.encoding === "path" ? encodeRest(raw) : encode(raw, t.encoding)) + lits[k + 1]!;
  }
  return out;
}

function valueOf(v: TemplateVar, src: TemplateSource): string {
  switch (v.kind) {
    case VarKind.Param:
    case VarKind.Wildcard:
      return src.param(v.name) ?? "";
    case VarKind.Claim:
      return printValue(src.claim(v.name));
    case VarKind.Header:
      return src.header(v.name) ?? "";
    case VarKind.Query:
      return src.query(v.name) ?? "";
    case VarKind.Consumer:
      return src.consumer ?? "";
    case VarKind.ClientIp:
      return src.clientIp;
    case VarKind.RequestId:
      return src.requestId;
    case VarKind.Ref:
      return printValue(src.ref?.(v.name, v.path));
  }
}

/** A JSON value as template text: strings as-is, scalars printed, lists joined by ",", objects as JSON. */
export function printValue(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return value.map(printValue).join(",");
  return JSON.stringify(value);
}

export function encode(value: string, encoding: TemplateEncoding): string {
  switch (encoding) {
    case "path":
      return encodeSegment(value);
    case "query":
      return encodeURIComponent(value);
    case "header":
      return headerSafe(value);
    case "text":
      return value;
  }
}

/**
 * One path segment: unreserved characters and the sub-delims that are
 * harmless in a segment stay; the rest (including "/", "?", "#", "%") is
 * percent-encoded as UTF-8. "." and ".." are dot-segments (RFC 3986 §5.2.4)
 * that a server would resolve: they are encoded whole.
 */
export function encodeSegment(value: string): string {
  if (value === "." || value === "..") return value === "." ? "%2E" : "%2E%2E";
  // encodeURIComponent keeps A-Z a-z 0-9 - _ . ! ~ * ' ( ): all pchar; everything else is encoded.
  return encodeURIComponent(value);
}

/** {*}: the rest of a path, its "/" kept, each segment encoded like one value. */
function encodeRest(value: string): string {
  return value.split("/").map(encodeSegment).join("/");
}

/** A field value with every control character but HTAB removed (RFC 9110 §5.5: CR, LF, NUL never; others are obs). */
export function headerSafe(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return stripControls(value);
  }
  // Leading and trailing whitespace is not part of a field value (RFC 9110 §5.5).
  return value.trim();
}

function stripControls(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) continue;
    out += value[i];
  }
  return out.trim();
}

/**
 * What is wrong with a template's literal text (the config's own characters,
 * which render() sends as written) for where it goes, or null. Values are
 * encoded at render time; the literal text must already be valid there, or
 * the config could break the request line or add a header field itself:
 *   path    pchar, "/" and %XX only (RFC 3986 §3.3): no space, CR/LF, "?", "#"
 *   query   the same plus "?" (RFC 3986 §3.4); the leading "?" included
 *   header  no control character but HTAB (RFC 9110 §5.5)
 */
export function literalProblem(t: Template, place: "path" | "query" | "header"): string | null {
  for (const lit of t.literals) {
    for (let i = 0; i < lit.length; i++) {
      const c = lit.charCodeAt(i);
      if (place === "header") {
        if ((c < 32 && c !== 9) || c === 127) return `a header value must not contain control characters (found ${describeChar(c)})`;
        continue;
      }
      if (c === 37 /* % */) {
        if (!isHex(lit.charCodeAt(i + 1)) || !isHex(lit.charCodeAt(i + 2))) return `"%" must start a %XX escape (write %25 for a literal "%")`;
        i += 2;
        continue;
      }
      if (!URI_CHARS[c] && !(place === "query" && c === 63 /* ? */)) {
        return `${describeChar(c)} is not allowed in a ${place === "path" ? "path" : "query"} here: percent-encode it`;
      }
    }
  }
  return null;
}

/** pchar (unreserved, sub-delims, ":" and "@") and "/": the characters a path or query may carry as they are. */
const URI_CHARS: readonly boolean[] = (() => {
  const ok = new Array<boolean>(128).fill(false);
  for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") ok[ch.charCodeAt(0)] = true;
  return ok;
})();

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function describeChar(c: number): string {
  if (c === 13) return "CR";
  if (c === 10) return "LF";
  if (c === 32) return "a space";
  if (c < 32 || c === 127) return `control character 0x${c.toString(16).padStart(2, "0")}`;
  return JSON.stringify(String.fromCharCode(c));
}
