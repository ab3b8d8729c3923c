import type { UpstreamConfig, TargetConfig } from "../config/types.ts";

/**
 * What a balancer may read of a request: the client's address, the path and
 * query, the headers (for hash keys). The pipeline's context satisfies it.
 */
export interface BalanceRequest {
  readonly clientIp: string;
  /** Raw path, no query. */
  readonly path: string;
  /** Raw query with its "?", or "". */
  readonly query: string;
  readonly req: { readonly headers: Headers };
}

/**
 * What the forwarding code needs from an upstream: pick a target, report how
 * it went. Balancers, health, passive checks and breakers live behind this.
 */
export interface UpstreamRuntime {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly targets: readonly TargetConfig[];
  /**
   * Index of a usable target (healthy, breaker admits it, not in `exclude`),
   * or -1 when none can be used. `exclude` holds targets already tried for
   * this request.
   */
  pick(ctx: BalanceRequest, exclude: readonly number[] | null): number;
  /** A request to target i is starting (in-flight accounting). */
  onStart(i: number): void;
  /**
   * It ended with a verdict on the target. `failed` = timeout, connection
   * lost, or a status the breaker counts; `latencyMs` from send to response
   * headers.
   */
  onEnd(i: number, failed: boolean, latencyMs: number): void;
  /**
   * It ended before any byte was sent: the connection failed (refused,
   * unreachable, connect timeout, TLS handshake). A failure of the target for
   * every health check (the default passive one counts only these), but not
   * an attempt for the retry budget: it cost the upstream nothing.
   */
  onConnectFailure(i: number, latencyMs: number): void;
  /**
   * It ended without a verdict: the client went away, or its request failed
   * on the client's side. Counts neither for nor against the target.
   */
  onAbandon(i: number): void;
  /** Whether one more retry is within the retry budget (and takes it if so). */
  takeRetry(): boolean;
}
