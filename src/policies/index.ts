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
import { credentials } from "./credentials/index.ts";
import { rateLimit } from "./rate-limit/index.ts";
import { stripPrefix } from "./strip-prefix/index.ts";
import { transform } from "./transform/index.ts";
import type { PolicyFactory } from "./types.ts";

/**
 * Runs for every request before routing, 404s, 405s and liveness answers
 * included, after the accept step (request id, client IP): the slots of IP
 * filters, CORS preflight and metrics (PolicyFactory.preRoute). Their
 * hooks see ctx.route set once routing found a route, null before and on 404/405.
 */
export const PRE_ROUTE: readonly PolicyFactory<any>[] = [];

/** A route's steps, in request order. */
export const RECIPE: readonly PolicyFactory<any>[] = [
  auth, //          3. access: authentication, authorization, identity headers
  rateLimit, //     4. limits: rate limits, quotas, concurrency
  credentials, //   6. request transform: strip credentials the upstream must not see
  stripPrefix, //   6. request transform: the route's path prefix
  transform, //     6. request transform: path template, headers, query, JSON body; 8. response transform
];

/** Every entry once, for what runs per entry rather than per route (shared memory, control services, setup). */
export const FACTORIES: readonly PolicyFactory<any>[] = [...new Set([...PRE_ROUTE, ...RECIPE])];
