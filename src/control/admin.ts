/**
 * The admin API: an Elysia app on its own listener (`[admin] listen`), on the
 * main thread, never on the request path. Every endpoint needs
 * `Authorization: Bearer <admin.token>` (compared in constant time).
 *
 *   GET    /status              version, uptime, workers, routes, upstreams
 *   GET    /upstreams           every target: health, breaker, in-flight, latency, failures
 *   POST   /reload              load config.toml again (same as SIGHUP); 200 or 422 with the problems
 *   POST   /revocations         { kind: "jti" | "api_key", value } → revoked on every worker (and instance, with Redis)
 *   DELETE /revocations         same body → unrevoked
 *   GET    /config              running config (secrets redacted), hash, load time (admin-config.ts)
 *   /consumers…, /upstreams/:name/targets   runtime consumers, keys, targets (admin-runtime.ts)
 *   GET    /discovery           DNS discovery: names, endpoints in use, failures (admin-discovery.ts)
 *   GET    /openapi.json        OpenAPI 3.1 document of all of the above (admin-api.ts)
 *   GET    /docs, /dashboard    human-readable API reference and live status page (admin-pages.ts);
 *                               the pages are static HTML without data and ask for the token in the browser
 */
import { timingSafeEqual } from "node:crypto";
import { Elysia, t } from "elysia";
import { AdminApi } from "./admin-api.ts";
import { addConfigRoutes } from "./admin-config.ts";
import { DASHBOARD_HTML, DOCS_HTML } from "./admin-pages.ts";
import { addRuntimeRoutes } from "./admin-runtime.ts";
import { addDiscoveryRoutes } from "./admin-discovery.ts";
import { addCacheRoutes, cacheStats } from "./admin-cache.ts";
import type { CacheControl } from "../policies/cache/control.ts";
import type { NameStatus } from "../upstream/discovery/discovery.ts";
import type { ApplyResult, RuntimeConfig } from "./runtime-config.ts";
import type { RevocationController } from "../auth/index.ts";
import type { AdminConfig, GatewayConfig } from "../config/types.ts";
import type { UpstreamSnapshot } from "../upstream/index.ts";
import { VERSION } from "../version.ts";
import { cacheSummary, requestSummary } from "../metrics/summary.ts";
import { addMetricsRoutes, type MetricsSource } from "./metrics-server.ts";

/** What the admin API may see and do of the running gateway. */
export interface AdminControls {
  config(): GatewayConfig;
  workers(): number;
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  upstreams(): UpstreamSnapshot[];
  revocation(): RevocationController;
  runtime(): RuntimeConfig;
  /** Swap every worker to a validated config (runtime changes). */
  apply(config: GatewayConfig): Promise<ApplyResult>;
  /** The shared metrics (GET /metrics with [metrics] listen = "admin", the request totals of /status). */
  metrics?: MetricsSource;
  /** DNS discovery state (GET /discovery). */
  discovery?(): NameStatus[];
  /** The response cache arena (stats); null without a cached route. */
  cache?(): SharedArrayBuffer | null;
  /** The cache's main-thread service (purges, Redis tier state). */
  cacheControl?(): CacheControl | null;
}

export interface AdminServer {
  readonly port: number;
  stop(): void;
}

const RevocationBody = t.Object({ kind: t.Union([t.Literal("jti"), t.Literal("api_key")]), value: t.String({ minLength: 1, maxLength: 8192 }) });

/** The cache block of GET /status: the arena's figures, the Redis tier's state and the requests by cache result. */
function withRequests(state: unknown, metrics: MetricsSource | undefined): unknown {
  if (state === null || metrics === undefined) return state;
  return { ...(state as object), requests: cacheSummary(metrics.metrics()) };
}

export function startAdmin(cfg: AdminConfig, controls: AdminControls): AdminServer {
  const expected = Buffer.from(`Bearer ${cfg.token}`);
  const started = Date.now();
  const authorized = (header: string | null): boolean => {
    if (header === null) return false;
    const given = Buffer.from(header);
    // Length differs: compare against itself so the time does not depend on where the mismatch is.
    return given.length === expected.length ? timingSafeEqual(given, expected) : (timingSafeEqual(expected, expected), false);
  };

  const api = new AdminApi();
  const cacheBuffer = () => controls.cache?.() ?? null;
  const cacheControl = () => controls.cacheControl?.() ?? null;
  const cacheState = cacheStats(cacheBuffer, cacheControl);
  const html = (page: string) => (ctx: { set: { headers: Record<string, string | number> } }) => {
    ctx.set.headers["content-type"] = "text/html; charset=utf-8";
    // The pages fetch the API themselves; nothing else may run in them.
    ctx.set.headers["content-security-policy"] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";
    return page;
  };
  const Err = t.Object({ error: t.String(), message: t.String() });
  api
    .add({
      method: "get", path: "/status", tag: "status", summary: "Version, uptime, workers, routes, upstreams",
      responses: { 200: { description: "status" } },
      handler: () => {
        const c = controls.config();
        const requests = controls.metrics ? requestSummary(controls.metrics.metrics()) : null;
        const breakers = { closed: 0, open: 0, half_open: 0 };
        for (const u of controls.upstreams()) for (const t of u.targets) breakers[t.breaker]++;
        return {
          version: VERSION,
          uptime_s: Math.round((Date.now() - started) / 1000),
          workers: controls.workers(),
          listen: c.server.listen,
          routes: c.routes.map((r) => ({
            name: r.name,
            path: r.path,
            upstream: r.upstream,
            auth: r.auth,
            requests: requests?.routes[r.name]?.total ?? 0,
            rate_limited: requests?.routes[r.name]?.rate_limited ?? 0,
            latency_ms: requests?.routes[r.name]?.latency_ms ?? null,
          })),
          upstreams: c.upstreams.map((u) => u.name),
          redis: c.redis ? { mode: c.redis.mode, on_error: c.redis.on_error } : null,
          revocation: { pending: controls.revocation().pending, last_error: controls.revocation().lastError },
          // The seed's summary: one object, from the shared counters a scrape reads.
          totals: requests && {
            requests: requests.total,
            success: requests.success,
            failed: requests.failed,
            rate_limited: requests.rate_limited,
            cache_hits: requests.cache.hit ?? 0,
            cache_misses: requests.cache.miss ?? 0,
            cache_stale: requests.cache.stale ?? 0,
          },
          breakers,
          requests,
          cache: withRequests(cacheState(), controls.metrics),
        };
      },
    })
    .add({
      method: "get", path: "/upstreams", tag: "upstreams", summary: "Every target: health, breaker, in-flight, latency, failures",
      responses: { 200: { description: "upstreams and their targets" } },
      handler: () => controls.upstreams(),
    })
    .add({
      method: "post", path: "/reload", tag: "config", summary: "Load config.toml again (same as SIGHUP)",
      responses: { 200: { description: "reloaded" }, 422: { description: "the new config is refused; the running one stays", schema: Err } },
      handler: async ({ set }) => {
        const r = await controls.reload();
        if (r.ok) return { status: "reloaded" };
        set.status = 422;
        return { error: "invalid_config", message: r.error };
      },
    })
    .add({
      method: "post", path: "/revocations", tag: "revocations", summary: "Revoke a JWT id or an API key on every worker", body: RevocationBody,
      responses: { 200: { description: "revoked" }, 422: { description: "bad body", schema: Err } },
      handler: async ({ body }) => {
        const b = body as { kind: "jti" | "api_key"; value: string };
        return { revoked: true, replicated: await controls.revocation().revoke(b.kind, b.value) };
      },
    })
    .add({
      method: "delete", path: "/revocations", tag: "revocations", summary: "Lift a revocation", body: RevocationBody,
      responses: { 200: { description: "unrevoked" }, 422: { description: "bad body", schema: Err } },
      handler: async ({ body }) => {
        const b = body as { kind: "jti" | "api_key"; value: string };
        return { revoked: false, replicated: await controls.revocation().unrevoke(b.kind, b.value) };
      },
    });
  addConfigRoutes(api, controls.runtime);
  addMetricsRoutes(api, controls.config().metrics, controls.metrics);
  addRuntimeRoutes(api, { runtime: controls.runtime, apply: controls.apply });
  addDiscoveryRoutes(api, () => controls.discovery?.() ?? []);
  addCacheRoutes(api, cacheBuffer, cacheControl);
  api
    .add({
      method: "get", path: "/openapi.json", tag: "docs", summary: "This document",
      responses: { 200: { description: "OpenAPI 3.1 document" } },
      handler: () => document,
    })
    .add({
      method: "get", path: "/docs", tag: "docs", public: true, summary: "Human-readable page of the OpenAPI document (asks for the token)",
      responses: { 200: { description: "HTML page", contentType: "text/html" } },
      handler: html(DOCS_HTML),
    })
    .add({
      method: "get", path: "/dashboard", tag: "status", public: true, summary: "Live status page (asks for the token; refreshes itself)",
      responses: { 200: { description: "HTML page", contentType: "text/html" } },
      handler: html(DASHBOARD_HTML),
    });
  const document = api.document({ title: "gateway admin API", version: VERSION });
  const open = new Set(api.endpoints.filter((e) => e.public).map((e) => e.path));

  // normalize: false, so a body with unknown keys is refused (as in config.toml) instead of silently trimmed.
  const app = new Elysia({ normalize: false })
    .onRequest(({ request, set }) => {
      if (request.method === "GET" && open.has(new URL(request.url).pathname)) return;
      if (!authorized(request.headers.get("authorization"))) {
        set.status = 401;
        set.headers["www-authenticate"] = 'Bearer realm="gateway-admin"';
        return { error: "unauthorized", message: "admin token required" };
      }
    })
    // Elysia hooks apply to the routes registered after them: errors first.
    .onError(({ code, error, set }) => {
      if (code === "VALIDATION" || code === "PARSE") {
        set.status = 422;
        return { error: "invalid_body", message: validationMessage(error) };
      }
      if (code === "NOT_FOUND") {
        set.status = 404;
        return { error: "not_found", message: "no such admin endpoint" };
      }
      console.error(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "admin API error", error: String(error) }));
      set.status = 500;
      return { error: "internal", message: "internal error" };
    });
  api.mount(app as unknown as Elysia);
  app.listen({ hostname: cfg.host, port: cfg.port });

  return {
    get port() {
      return app.server?.port ?? cfg.port;
    },
    stop() {
      void app.stop();
    },
  };
}

/** "body.rate_limits[0].limit: expected a positive integer", from Elysia's TypeBox error; never the submitted value. */
function validationMessage(error: unknown): string {
  const e = error as { type?: string; valueError?: { path?: string; message?: string; schema?: { errorMessage?: string } } };
  if (e?.valueError) {
    const where = (e.valueError.path ?? "").split("/").filter(Boolean).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
    const what = e.valueError.schema?.errorMessage ?? e.valueError.message ?? "invalid";
    return `${e.type ?? "body"}${where}: ${what}`;
  }
  return "body must be JSON matching the endpoint's schema (see /openapi.json)";
}
