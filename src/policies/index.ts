/**
 * The recipe: every step of a request, in order, on one screen (DESIGN.md
 * "A request, in order"; Lura's newStack). Each entry is one folder under
 * src/policies/ owning its config keys, its shared state and its hooks
 * (types.ts). A route's chain holds only the entries it uses.
 *
 * Request side, top to bottom; response side (onResponse, onError, onLog),
 * bottom to top. After the last entry comes the route's terminal: proxy to
 * its upstream (src/data/proxy/), later aggregate or upgrade.
 *
 * Adding a policy: a folder with its factory, and one line here.
 */
import { auth } from "./auth/index.ts";
import { cache } from "./cache/index.ts";
import { compression } from "./compression/index.ts";
import { cors } from "./cors/index.ts";
import { idempotency } from "./idempotency/index.ts";
import { ipFilter } from "./ip-filter/index.ts";
import { plugins, withPluginSlots } from "./plugins/index.ts";
import { credentials } from "./credentials/index.ts";
import { metrics } from "./metrics/index.ts";
import { rateLimit } from "./rate-limit/index.ts";
import { stripPrefix } from "./strip-prefix/index.ts";
import { tracing } from "./tracing/index.ts";
import { transform } from "./transform/index.ts";
import type { PolicyFactory } from "./types.ts";

/**
 * Runs for every request before routing, 404s, 405s and liveness answers
 * included, after the accept step (request id, client IP): the slots of IP
 * filters, CORS preflight and metrics (PolicyFactory.preRoute). Their
 * hooks see ctx.route set once routing found a route, null before and on 404/405.
 */
export const PRE_ROUTE: readonly PolicyFactory<any>[] = [
  metrics, //       9. after: counts every request, 404s included (onLog); first, so its response hook runs last
  tracing, //       1. accept: W3C traceparent in (or a new trace), a new span id upstream, trace id in the log
  ipFilter, //      3. access: [ip] allow/deny for every request
  cors, //          3. access: CORS preflights, answered before routing (no 405) and auth
];

/** A route's steps, in request order. */
export const RECIPE: readonly PolicyFactory<any>[] = withPluginSlots([
  ipFilter, //     3. access: the route's ip allow/deny, before auth
  cors, //          3. access: CORS fields of the actual request (its onResponse runs last)
  compression, //   8. response: content coding on the way out (below it: cache stores identity)
  auth, //          3. access: authentication, authorization, identity headers
  rateLimit, //     4. limits: rate limits, quotas, concurrency
  cache, //         5. short-circuits: cache hits (RFC 9111); 8. stores the transformed identity answer
  idempotency, //   5. short-circuits: Idempotency-Key lock and replay; 8. its record of the answer
  plugins, //       5. plugins (default slot; `after = "x"` slots follow each entry)
  credentials, //   6. request transform: strip credentials the upstream must not see
  stripPrefix, //   6. request transform: the route's path prefix
  transform, //     6. request transform: path template, headers, query, JSON body; 8. response transform
]);

/** Every entry once, for what runs per entry rather than per route (shared memory, control services, setup). */
export const FACTORIES: readonly PolicyFactory<any>[] = [...new Set([...PRE_ROUTE, ...RECIPE])].filter((f) => !f.name.startsWith("plugins@")); // plugin slots keep no state
