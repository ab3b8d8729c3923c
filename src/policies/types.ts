import type { RequestContext } from "./context.ts";

/**
 * A policy is one small object with optional phase hooks. The route's chain is
 * compiled at config load: hooks a policy lacks are never called, and a route
 * that uses no policy runs none of this.
 *
 * Request hooks run in pipeline order (access → limits → short-circuits);
 * response hooks run in reverse order.
 */
export interface Policy {
  /** For logs and metrics. */
  readonly name: string;
  /**
   * Before the upstream is called. Return a Response to answer the client now
   * (401, 403, 429, a cache hit); return undefined to go on. Keep it
   * synchronous when it can be: the runner only awaits a returned promise.
   * Default when absent: go on.
   */
  onRequest?(ctx: RequestContext): Response | undefined | Promise<Response | undefined>;
  /**
   * After the upstream answered (or a later policy short-circuited), before the
   * response goes to the client. May return a replacement Response.
   * Default when absent: the response passes unchanged.
   */
  onResponse?(ctx: RequestContext, res: Response): Response | void;
}
