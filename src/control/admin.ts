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
 */
import { timingSafeEqual } from "node:crypto";
import { Elysia, t } from "elysia";
import type { RevocationController } from "../auth/index.ts";
import type { AdminConfig, GatewayConfig } from "../config/types.ts";
import type { UpstreamSnapshot } from "../upstream/index.ts";
import { VERSION } from "../version.ts";
import { requestSummary } from "../metrics/summary.ts";
import { metricsAdminRoutes, type MetricsSource } from "./metrics-server.ts";

/** What the admin API may see and do of the running gateway. */
export interface AdminControls {
  config(): GatewayConfig;
  workers(): number;
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  upstreams(): UpstreamSnapshot[];
  revocation(): RevocationController;
  /** The shared metrics (GET /metrics with [metrics] listen = "admin", the request totals of /status). */
  metrics?: MetricsSource;
}

export interface AdminServer {
  readonly port: number;
  stop(): void;
}

const RevocationBody = t.Object({ kind: t.Union([t.Literal("jti"), t.Literal("api_key")]), value: t.String({ minLength: 1, maxLength: 8192 }) });

export function startAdmin(cfg: AdminConfig, controls: AdminControls): AdminServer {
  const expected = Buffer.from(`Bearer ${cfg.token}`);
  const started = Date.now();
  const authorized = (header: string | null): boolean => {
    if (header === null) return false;
    const given = Buffer.from(header);
    // Length differs: compare against itself so the time does not depend on where the mismatch is.
    return given.length === expected.length ? timingSafeEqual(given, expected) : (timingSafeEqual(expected, expected), false);
  };

  const app = new Elysia()
    .onRequest(({ request, set }) => {
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
        return { error: "invalid_body", message: "body must be JSON { kind: \"jti\" | \"api_key\", value: string }" };
      }
      if (code === "NOT_FOUND") {
        set.status = 404;
        return { error: "not_found", message: "no such admin endpoint" };
      }
      console.error(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "admin API error", error: String(error) }));
      set.status = 500;
      return { error: "internal", message: "internal error" };
    })
    .get("/status", () => {
      const c = controls.config();
      return {
        version: VERSION,
        uptime_s: Math.round((Date.now() - started) / 1000),
        workers: controls.workers(),
        listen: c.server.listen,
        routes: c.routes.map((r) => ({ name: r.name, path: r.path, upstream: r.upstream, auth: r.auth })),
        upstreams: c.upstreams.map((u) => u.name),
        redis: c.redis ? { mode: c.redis.mode, on_error: c.redis.on_error } : null,
        revocation: { pending: controls.revocation().pending, last_error: controls.revocation().lastError },
        requests: controls.metrics ? requestSummary(controls.metrics.metrics()) : null,
      };
    })
    .use((a) => metricsAdminRoutes(a, controls.config().metrics, controls.metrics))
    .get("/upstreams", () => controls.upstreams())
    .post("/reload", async ({ set }) => {
      const r = await controls.reload();
      if (r.ok) return { status: "reloaded" };
      set.status = 422;
      return { error: "invalid_config", message: r.error };
    })
    .post("/revocations", async ({ body }) => ({ revoked: true, replicated: await controls.revocation().revoke(body.kind, body.value) }), { body: RevocationBody })
    .delete("/revocations", async ({ body }) => ({ revoked: false, replicated: await controls.revocation().unrevoke(body.kind, body.value) }), {
      body: RevocationBody,
    })
    .listen({ hostname: cfg.host, port: cfg.port });

  return {
    get port() {
      return app.server?.port ?? cfg.port;
    },
    stop() {
      void app.stop();
    },
  };
}
