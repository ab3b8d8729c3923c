/**
 * The Fetch standard's CORS protocol (https://fetch.spec.whatwg.org/#http-cors-protocol),
 * server side: a rule compiled once per route answers preflights and adds
 * the response fields of actual requests. Names are compared as the spec
 * does: origins byte for byte, methods case-sensitively after the config
 * upper-cased them, header names case-insensitively.
 */

export interface CorsSettings {
  /** Exact serialized origins; ["*"] any (only without credentials). */
  origins: string[];
  /** Methods a preflight may ask for; empty: the route's own methods (any when the route takes every method). */
  methods: string[];
  /** Request header names (lower-case) a preflight may ask for; ["*"] any but Authorization. */
  headers: string[];
  /** Response header names the page may read (Access-Control-Expose-Headers). */
  expose: string[];
  credentials: boolean;
  /** Seconds a preflight may be cached; null: the field is not sent (browsers use 5 s). */
  max_age: number | null;
}

export const CORS_DEFAULTS: CorsSettings = { origins: [], methods: [], headers: [], expose: [], credentials: false, max_age: null };

/** Methods that never need listing (Fetch "CORS-safelisted method"). */
const SAFELISTED_METHODS = new Set(["GET", "HEAD", "POST"]);

export const PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

export class CorsRule {
  private readonly anyOrigin: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly methods: ReadonlySet<string> | null;
  private readonly methodsField: string | null;
  private readonly anyHeader: boolean;
  private readonly headers: ReadonlySet<string>;
  private readonly expose: string | null;
  private readonly credentials: boolean;
  private readonly maxAge: string | null;

  constructor(s: CorsSettings, routeMethods: readonly string[]) {
    this.anyOrigin = s.origins.includes("*");
    this.origins = new Set(s.origins);
    const methods = s.methods.length > 0 ? s.methods : routeMethods;
    this.methods = methods.length > 0 ? new Set(methods) : null;
    this.methodsField = methods.length > 0 ? methods.join(", ") : null;
    this.anyHeader = s.headers.includes("*");
    this.headers = new Set(s.headers);
    this.expose = s.expose.length > 0 ? s.expose.join(", ") : null;
    this.credentials = s.credentials;
    this.maxAge = s.max_age === null ? null : String(s.max_age);
  }

  /** "null" only when listed: sandboxed documents and file: pages all send it. */
  allows(origin: string): boolean {
    return this.origins.has(origin) || (this.anyOrigin && origin !== "null");
  }

  /** Allow-Origin: "*" only for a wildcard rule without credentials, where the page's origin does not matter. */
  private allowOrigin(origin: string): string {
    return this.anyOrigin && !this.credentials && !this.origins.has(origin) ? "*" : origin;
  }

  /**
   * The preflight's answer fields when origin, method and every requested
   * header are allowed; null otherwise (then no CORS field is sent and the
   * browser fails the request).
   */
  preflight(origin: string, method: string, requestHeaders: string | null): Headers | null {
    if (!this.allows(origin)) return null;
    if (this.methods !== null && !this.methods.has(method) && !SAFELISTED_METHODS.has(method)) return null;
    let echoed: string | null = null;
    if (requestHeaders !== null && requestHeaders.trim() !== "") {
      const names: string[] = [];
      for (const part of requestHeaders.split(",")) {
        const name = part.trim().toLowerCase();
        if (name === "") continue;
        // "*" covers every name but Authorization, and means a literal "*" with credentials (Fetch §3.2.3).
        const wild = this.anyHeader && !this.credentials && name !== "authorization";
        if (!wild && !this.headers.has(name)) return null;
        names.push(name);
      }
      echoed = names.join(", ");
    }
    const h = new Headers();
    h.set("access-control-allow-origin", this.allowOrigin(origin));
    if (this.credentials) h.set("access-control-allow-credentials", "true");
    h.set("access-control-allow-methods", this.methodsField ?? method);
    if (echoed) h.set("access-control-allow-headers", echoed);
    if (this.maxAge !== null) h.set("access-control-max-age", this.maxAge);
    h.set("vary", PREFLIGHT_VARY);
    h.set("content-length", "0");
    return h;
  }

  /** An actual request's response: Vary: Origin always (a shared cache must not give one origin's answer to another), the rest for an allowed origin. */
  decorate(origin: string | null, headers: Headers): void {
    appendVary(headers, "Origin");
    if (origin === null || !this.allows(origin)) return;
    headers.set("access-control-allow-origin", this.allowOrigin(origin));
    if (this.credentials) headers.set("access-control-allow-credentials", "true");
    if (this.expose !== null) headers.set("access-control-expose-headers", this.expose);
  }
}

/** Adds a field name to Vary unless it (or "*") is there already (RFC 9110 §12.5.5). */
export function appendVary(headers: Headers, name: string): void {
  const cur = headers.get("vary");
  if (cur === null || cur.trim() === "") {
    headers.set("vary", name);
    return;
  }
  const lower = name.toLowerCase();
  for (const part of cur.split(",")) {
    const p = part.trim().toLowerCase();
    if (p === lower || p === "*") return;
  }
  headers.set("vary", `${cur}, ${name}`);
}

/** The route's settings: defaults, then [cors], then the route's keys; null when CORS is off for it. */
export function mergeCors(global: Partial<CorsSettings> | null, route: Partial<CorsSettings> | false | null): CorsSettings | null {
  if (route === false) return null;
  if (global === null && route === null) return null;
  return { ...CORS_DEFAULTS, ...global, ...route };
}
