/**
 * Unexpected failures are thrown as GatewayError; one boundary (data/respond.ts)
 * turns them into JSON. Expected denials (401/403/429) are returned as responses
 * by their policies instead. The `cause` goes to the log, never to the client.
 */

export type ErrorSource = "client" | "upstream" | "internal";

export type ErrorKind =
  | "bad_request"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "headers_too_large"
  | "uri_too_long"
  | "client_closed"
  | "upstream_unreachable"
  | "upstream_timeout"
  | "upstream_protocol"
  | "upstream_unavailable"
  | "service_unavailable"
  /** A plugin hook did not settle within its budget (the route's timeout, or the plugin's own). */
  | "plugin_timeout"
  | "internal";

export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly source: ErrorSource;
  readonly status: number;
  /** True when nothing reached the upstream (or the method is safe), so another target may be tried. */
  readonly retryable: boolean;
  /** Extra response headers (Allow, Retry-After). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    kind: ErrorKind,
    status: number,
    message: string,
    opts: { source?: ErrorSource; retryable?: boolean; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "GatewayError";
    this.kind = kind;
    this.status = status;
    this.source = opts.source ?? (status < 500 ? "client" : "internal");
    this.retryable = opts.retryable ?? false;
    this.headers = opts.headers;
  }
}

/**
 * The client went away before the answer (nginx logs these as 499). Nobody
 * reads the response; the status is for the access log. It says nothing
 * about the upstream: never counted against a target or the retry budget.
 */
export function clientClosed(): GatewayError {
  return new GatewayError("client_closed", 499, "client closed the request", { source: "client" });
}

/** Config problems: every message already carries its key path. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A key path in the config: ["routes", 2, "rate_limits", 0, "limit"]. */
export type KeyPath = readonly (string | number)[];

/**
 * One problem an engine's check found, with its key path relative to what it
 * checked (a limit, an upstream, an issuer). The engine prefixes it when it
 * throws; config load (src/config/verify.ts) prefixes the path the value has
 * in the file, so `--check` and the workers refuse the same things.
 */
export interface KeyedProblem {
  readonly path: KeyPath;
  readonly message: string;
}

/** TOML bare keys print as-is; anything else is quoted, as TOML would need it. */
const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** ["routes", 0, "upstream"] → "routes[0].upstream"; keys needing quotes are quoted ("forward_claims.\"a.b\""). */
export function formatKeyPath(path: KeyPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") {
      out += `[${seg}]`;
      continue;
    }
    const key = BARE_KEY.test(seg) ? seg : JSON.stringify(seg);
    out += out === "" ? key : `.${key}`;
  }
  return out;
}

/** "path: message" under `base` (a message alone when the whole path is empty). */
export function keyedLine(base: KeyPath, p: KeyedProblem): string {
  const path = formatKeyPath([...base, ...p.path]);
  return path === "" ? p.message : `${path}: ${p.message}`;
}
