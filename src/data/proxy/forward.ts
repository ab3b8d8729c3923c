import { clientClosed, GatewayError } from "../../errors.ts";
import type { UpstreamConfig } from "../../config/types.ts";
import type { RequestContext } from "../../policies/context.ts";
import { retryAfterSeconds } from "../../upstream/index.ts";
import type { UpstreamRuntime } from "../../upstream/types.ts";
import type { TargetClient, UpstreamBody, UpstreamResponse } from "../../client/types.ts";
import type { BoundCounter } from "../../metrics/registry.ts";
import { newSpanId } from "../../tracing/trace-context.ts";

/** RFC 9110 §9.2.2: methods whose repetition has the same effect; safe to retry. */
const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** Statuses that mean "this target could not serve it": worth another target. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** Everything forwarding needs about one upstream, built once per snapshot. */
export interface UpstreamBinding {
  readonly runtime: UpstreamRuntime;
  readonly config: UpstreamConfig;
  /** One client (connection pool) per target, same order as runtime.targets. */
  readonly clients: readonly TargetClient[];
  /** "host:port" per target, sent as Host unless preserve_host. */
  readonly hostHeaders: readonly string[];
  /** Target display names for logs ("http://127.0.0.1:3001"). */
  readonly targetNames: readonly string[];
  /** Statuses the breaker/passive checks count as failures. */
  readonly failureStatuses: ReadonlySet<number>;
  /** gateway_upstream_retries_total{upstream}: tries after the first, on another target. */
  readonly retries: BoundCounter;
}

export interface ForwardRequest {
  /** "METHOD /path?query HTTP/1.1\r\n" */
  readonly requestLine: string;
  /** Every header line but Host, each ending in CRLF, with the body framing; then a final CRLF is added here. */
  readonly headerBlock: string;
  /** Host value for preserve_host; null sends the target's. */
  readonly clientHost: string | null;
  readonly body: UpstreamBody;
  /** The body can be sent again (null or bytes); a stream can only be re-sent if it was never read. */
  readonly replayable: boolean;
  /** Request carries an Idempotency-Key, so POST/PATCH may be retried too. */
  readonly idempotencyKey: boolean;
  /** Per-route read timeout override (ms), 0 = upstream's. */
  readonly routeTimeout: number;
}

/**
 * Pick a target, send, and retry on another target when that is safe:
 * connect failures (nothing was sent) for any request whose body was not
 * consumed, and timeouts or 502/503/504 for idempotent requests (or POST/PATCH
 * with an Idempotency-Key) with a replayable body. Never after a response
 * byte reached the client: this returns before the body is streamed.
 * Retries after a connect failure are bounded by `retries` only; the others
 * also by the retry budget. A client that went away ends it with
 * client_closed (499), counted neither against the target nor the budget.
 */
export async function forward(ctx: RequestContext, up: UpstreamBinding, fr: ForwardRequest): Promise<UpstreamResponse> {
  const cfg = up.config;
  const method = ctx.method;
  const mayRepeat = IDEMPOTENT.has(method) || (fr.idempotencyKey && (method === "POST" || method === "PATCH"));
  const maxTries = 1 + cfg.retries;
  const readTimeout = fr.routeTimeout > 0 ? fr.routeTimeout : cfg.timeouts.read;
  const deadline = cfg.timeouts.total > 0 ? ctx.start + cfg.timeouts.total : Infinity;
  const signal = new ClientAbort(ctx.req);
  let exclude: number[] | null = null;
  let lastError: GatewayError | null = null;
  let i = up.runtime.pick(ctx, null);
  let block = fr.headerBlock;
  for (let attempt = 0; ; attempt++) {
    if (i < 0) throw lastError ?? noTargetError(up);
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw lastError ?? new GatewayError("upstream_timeout", 504, "upstream timed out", { source: "upstream" });
    const host = cfg.preserve_host && fr.clientHost ? fr.clientHost : up.hostHeaders[i]!;
    const trace = ctx.trace;
    if (attempt > 0 && trace !== null && trace.upstreamSpanId !== null) {
      // Each resend is a client span of its own: the upstream gets its id as parent (W3C §3.2.2.4).
      const sid = newSpanId();
      block = block.replace(trace.upstreamSpanId, sid);
      trace.upstreamSpanId = sid;
    }
    const head = `${fr.requestLine}host: ${host}\r\n${block}\r\n`;
    ctx.target = up.targetNames[i]!;
    ctx.tries = attempt + 1;
    up.runtime.onStart(i);
    const sent = performance.now();
    let res: UpstreamResponse;
    try {
      res = await up.clients[i]!.request(head, fr.body, {
        method,
        readTimeout: remaining < readTimeout ? remaining : readTimeout,
        signal,
      });
    } catch (cause) {
      const err = asGatewayError(cause);
      // A client that went away, or whose body failed, says nothing about the target.
      if (err.source === "client" || signal.aborted) {
        up.runtime.onAbandon(i);
        throw signal.aborted ? clientClosed() : err;
      }
      // A connect failure sent nothing: it costs the upstream nothing, so its retry is not budgeted.
      const connectFailed = err.retryable && err.kind === "upstream_unreachable";
      const took = performance.now() - sent;
      ctx.upstreamMs += took;
      if (trace !== null && trace.record) recordTry(trace, ctx.target, sent, took, 0, err.kind);
      if (connectFailed) up.runtime.onConnectFailure(i, took);
      else up.runtime.onEnd(i, true, took);
      lastError = err;
      // Connect failures (and a full pool) sent nothing; anything else may have reached the target.
      const safe = err.retryable ? fr.replayable || !(fr.body as ReadableStream).locked : mayRepeat && fr.replayable;
      if (attempt + 1 >= maxTries || !safe) throw err;
      const next = nextTarget(ctx, up, (exclude ??= []), i, !connectFailed);
      if (next < 0) throw err;
      up.retries.inc();
      i = next;
      continue;
    }
    const took = performance.now() - sent;
    ctx.upstreamMs += took;
    if (trace !== null && trace.record) recordTry(trace, ctx.target, sent, took, res.status, null);
    up.runtime.onEnd(i, up.failureStatuses.has(res.status), took);
    if (RETRY_STATUSES.has(res.status) && attempt + 1 < maxTries && mayRepeat && fr.replayable) {
      const next = nextTarget(ctx, up, (exclude ??= []), i, true);
      if (next >= 0) {
        // Nothing of this response reached the client; let its connection go.
        res.body?.cancel().catch(() => {});
        up.retries.inc();
        i = next;
        continue;
      }
    }
    return res;
  }
}

function recordTry(trace: NonNullable<RequestContext["trace"]>, target: string | null, sent: number, took: number, status: number, error: string | null): void {
  if (trace.upstreamSpanId === null) return;
  (trace.tries ??= []).push({ spanId: trace.upstreamSpanId, target: target ?? "", startMs: sent, endMs: sent + took, status, error });
}

/** Another target for a retry, within the retry budget when `budgeted`; -1 when none or the budget is spent. */
function nextTarget(ctx: RequestContext, up: UpstreamBinding, exclude: number[], failed: number, budgeted: boolean): number {
  exclude.push(failed);
  // Budget first: picking a half-open target spends one of its probe permits.
  if (budgeted && !up.runtime.takeRetry()) return -1;
  return up.runtime.pick(ctx, exclude);
}

/**
 * The client's abort state, read only when asked. Bun builds a request's
 * AbortSignal on first access (measured ~2-3 µs, a tenth of the handler's
 * cost), and most requests finish before the pool's 50 ms abort sweep ever
 * looks. A signal first read after the client left still says aborted.
 */
class ClientAbort {
  readonly #req: Request;
  constructor(req: Request) {
    this.#req = req;
  }
  get aborted(): boolean {
    return this.#req.signal.aborted;
  }
  get reason(): unknown {
    return this.#req.signal.reason;
  }
}

function noTargetError(up: UpstreamBinding): GatewayError {
  const retryAfter = retryAfterSeconds(up.runtime);
  return new GatewayError("service_unavailable", 503, "no healthy upstream target", {
    source: "upstream",
    headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfter))) },
  });
}

export function asGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  return new GatewayError("internal", 500, "internal error", { source: "internal", cause: e });
}
