/**
 * What the gateway counts per request, bound once per snapshot so the hot
 * path is a few Map reads and Atomics adds (measured in bench/metrics.bench.ts).
 * Labels are bounded: route names from the config (never paths), methods
 * folded to the RFC 9110 set plus "_OTHER" (as OpenTelemetry does), status
 * codes (at most 500 values), targets from the config.
 */
import {
  HTTP_BUCKETS,
  type BoundCounter,
  type BoundHistogram,
  type Counter,
  type Histogram,
  type SharedRegistry,
} from "./registry.ts";

/** The small view of a request this engine needs (the pipeline's context satisfies it). */
export interface MeasuredRequest {
  readonly req: Request;
  readonly method: string;
  readonly route: { readonly name: string; readonly upstream: string } | null;
  readonly target: string | null;
  /** Milliseconds spent waiting for upstream response heads, all tries; 0 when none. */
  readonly upstreamMs: number;
  /** Bytes of the response body when known (Content-Length), else -1. */
  bytesOut: number;
}

export interface MeasuredEntry {
  status: number;
  duration_ms: number;
  [field: string]: unknown;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
const METHOD_INDEX = new Map(METHODS.map((m, i) => [m, i]));
/** Requests no route served (404, 405, the gateway's own checks). */
export const UNMATCHED = "_unmatched";

class RouteSeries {
  readonly byMethodCode = new Map<number, BoundCounter>();
  /** Upstream histograms by target name (the proxy's interned strings: no key is built per request). */
  readonly byTarget = new Map<string, BoundHistogram>();
  constructor(
    readonly name: string,
    readonly duration: BoundHistogram,
    readonly bytesIn: BoundCounter,
    readonly bytesOut: BoundCounter,
  ) {}
}

export class RequestMetrics {
  readonly registry: SharedRegistry;
  readonly #requests: Counter;
  readonly #duration: Histogram;
  readonly #bytesIn: Counter;
  readonly #bytesOut: Counter;
  readonly #upstream: Histogram;
  readonly #routes = new Map<string, RouteSeries>();
  readonly #unmatched: RouteSeries;

  constructor(registry: SharedRegistry) {
    this.registry = registry;
    this.#requests = registry.counter("gateway_requests_total", "Requests answered, by route, method and status code", ["route", "method", "code"]);
    this.#duration = registry.histogram("gateway_request_duration_seconds", "Time from accept to response head, by route", ["route"], HTTP_BUCKETS);
    this.#bytesIn = registry.counter("gateway_request_bytes_total", "Request body bytes (Content-Length), by route", ["route"]);
    this.#bytesOut = registry.counter("gateway_response_bytes_total", "Response body bytes (Content-Length), by route", ["route"]);
    this.#upstream = registry.histogram(
      "gateway_upstream_duration_seconds",
      "Time waiting for the upstream's response head, by upstream and target",
      ["upstream", "target"],
      HTTP_BUCKETS,
    );
    this.#unmatched = this.#route(UNMATCHED);
  }

  #route(name: string): RouteSeries {
    let r = this.#routes.get(name);
    if (r === undefined) {
      r = new RouteSeries(name, this.#duration.labels([name]), this.#bytesIn.labels([name]), this.#bytesOut.labels([name]));
      this.#routes.set(name, r);
    }
    return r;
  }

  /** The response head is decided (the last response hook): note its body size (the bytes in hand, else Content-Length). */
  responded(ctx: MeasuredRequest, res: Response, known: Uint8Array | undefined): void {
    if (known !== undefined || ctx.bytesOut >= 0) {
      if (known !== undefined) ctx.bytesOut = known.byteLength;
      return;
    }
    // Bytes the terminal had in hand lose their Content-Length (Bun frames them): it noted their size itself.
    const cl = res.headers.get("content-length");
    if (cl !== null) ctx.bytesOut = Number(cl);
  }

  /** The request is over: count it. */
  logged(ctx: MeasuredRequest, entry: MeasuredEntry): void {
    const route = ctx.route;
    const r = route === null ? this.#unmatched : this.#route(route.name);
    const m = METHOD_INDEX.get(ctx.method) ?? METHODS.length;
    const key = entry.status * 16 + m;
    let c = r.byMethodCode.get(key);
    if (c === undefined) {
      c = this.#requests.labels([r.name, m < METHODS.length ? METHODS[m]! : "_OTHER", String(entry.status)]);
      r.byMethodCode.set(key, c);
    }
    c.inc(1);
    r.duration.observe(entry.duration_ms / 1000);
    // A GET or HEAD body has no defined semantics (RFC 9110 §9.3.1) and is rare: not counted, which saves a header read on most requests.
    if (m !== 0 && m !== 1) {
      const cl = ctx.req.headers.get("content-length");
      if (cl !== null) {
        const n = Number(cl);
        if (n > 0) {
          r.bytesIn.inc(n);
          entry.bytes_in = n;
        }
      }
    }
    if (ctx.bytesOut > 0) r.bytesOut.inc(ctx.bytesOut);
    if (ctx.target !== null && route !== null) {
      let h = r.byTarget.get(ctx.target);
      if (h === undefined) r.byTarget.set(ctx.target, (h = this.#upstream.labels([route.upstream, ctx.target])));
      h.observe(ctx.upstreamMs / 1000);
      entry.upstream_ms = Math.round(ctx.upstreamMs * 1000) / 1000;
    }
    if (ctx.bytesOut >= 0) entry.bytes_out = ctx.bytesOut;
  }
}
