/**
 * [server], [admin], [redis] and [rate_limit]: raw tables → normalized config
 * with every default filled (defaults documented in types.ts and here).
 */

import { resolve } from "node:path";
import { compileCidrs } from "../util/cidr.ts";
import { parseRedisUrl } from "../util/redis.ts";
import { parseListen } from "./addresses.ts";
import {
  type NormalizeContext,
  present,
  readDuration,
  readHeaderName,
  readSize,
  requirePositive,
} from "./normalize-common.ts";
import { TLS_DEFAULT_CIPHERS, normalizeHsts, normalizeTls } from "./normalize-tls.ts";
import type { KeyPath } from "./problems.ts";
import type { Loose, RawAdmin, RawRateLimitGlobal, RawRedis, RawServer } from "./schema.ts";
import type { AdminConfig, RateLimitGlobalConfig, RedisConfig, ServerConfig } from "./types.ts";

export const SERVER_DEFAULTS = {
  listen: "0.0.0.0:8080",
  workers: 1,
  max_body_size: 10 * 1024 * 1024,
  max_header_size: 16 * 1024,
  max_url_length: 8 * 1024,
  drain_timeout: 30_000,
  idle_timeout: 60_000,
  access_log: true,
  health_path: "/__health",
  request_id_header: "x-request-id",
} as const;

/** Bun.serve's idleTimeout is in seconds and capped at 255. */
const MAX_IDLE_TIMEOUT = 255_000;

export function normalizeServer(ctx: NormalizeContext, raw: Loose<RawServer> | undefined): ServerConfig {
  const s = raw ?? {};
  const at = (key: string): KeyPath => ["server", key];
  const listen = s.listen ?? SERVER_DEFAULTS.listen;
  const address = readListen(ctx, listen, at("listen"));

  const workers = s.workers === "auto" ? Math.max(1, navigator.hardwareConcurrency || 1) : (s.workers ?? SERVER_DEFAULTS.workers);

  const trusted_proxies: string[] = [];
  for (const [entry, i] of present(s.trusted_proxies)) {
    try {
      compileCidrs([entry]);
    } catch (e) {
      ctx.problems.add(["server", "trusted_proxies", i], (e as Error).message);
    }
    trusted_proxies.push(entry);
  }

  const tls = normalizeTls(ctx, s.tls);
  const hsts = normalizeHsts(ctx, s.hsts, tls);

  const idle_timeout = readDuration(ctx, s.idle_timeout, at("idle_timeout"), SERVER_DEFAULTS.idle_timeout);
  if (idle_timeout > MAX_IDLE_TIMEOUT) ctx.problems.add(at("idle_timeout"), 'must be at most "255s" (Bun\'s limit)');

  const health_path = s.health_path ?? SERVER_DEFAULTS.health_path;
  if (health_path !== "" && !health_path.startsWith("/")) {
    ctx.problems.add(at("health_path"), 'must start with "/" (or be "" to disable it)');
  }

  return {
    listen,
    host: address.host,
    port: address.port,
    workers,
    max_body_size: readSize(ctx, s.max_body_size, at("max_body_size"), SERVER_DEFAULTS.max_body_size),
    max_header_size: readSize(ctx, s.max_header_size, at("max_header_size"), SERVER_DEFAULTS.max_header_size),
    max_url_length: readSize(ctx, s.max_url_length, at("max_url_length"), SERVER_DEFAULTS.max_url_length),
    trusted_proxies,
    tls,
    tls_min_version: s.tls_min_version ?? "1.2",
    tls_ciphers: s.tls_ciphers ?? TLS_DEFAULT_CIPHERS,
    http2: s.http2 ?? true,
    hsts,
    drain_timeout: readDuration(ctx, s.drain_timeout, at("drain_timeout"), SERVER_DEFAULTS.drain_timeout),
    idle_timeout,
    access_log: s.access_log ?? SERVER_DEFAULTS.access_log,
    health_path,
    request_id_header:
      s.request_id_header === undefined
        ? SERVER_DEFAULTS.request_id_header
        : readHeaderName(ctx, s.request_id_header, at("request_id_header")),
  };
}

export function normalizeAdmin(
  ctx: NormalizeContext,
  raw: Loose<RawAdmin> | undefined,
  server: ServerConfig,
): AdminConfig | null {
  if (raw === undefined) return null;
  const listen = raw.listen ?? "127.0.0.1:9901";
  const address = readListen(ctx, listen, ["admin", "listen"]);
  if (address.port !== 0 && address.port === server.port && address.host === server.host) {
    ctx.problems.add(["admin", "listen"], `same address as server.listen (${server.listen})`);
  }
  const state_file = resolve(ctx.configDir, raw.state_file ?? "gateway-state.json");
  return { listen, host: address.host, port: address.port, token: raw.token ?? "", state_file };
}

export function normalizeRedis(ctx: NormalizeContext, raw: Loose<RawRedis> | undefined): RedisConfig | null {
  if (raw === undefined) return null;
  const at = (key: string): KeyPath => ["redis", key];
  const url = raw.url ?? "";
  if (raw.url !== undefined) {
    // redis://, rediss://, redis+sentinel://, redis+cluster:// (src/util/redis.ts).
    const parsed = parseRedisUrl(url);
    if (typeof parsed === "string") ctx.problems.add(at("url"), parsed);
  }
  const sync_interval = readDuration(ctx, raw.sync_interval, at("sync_interval"), 50);
  requirePositive(ctx, sync_interval, raw.sync_interval, at("sync_interval"));
  const command_timeout = readDuration(ctx, raw.command_timeout, at("command_timeout"), 100);
  requirePositive(ctx, command_timeout, raw.command_timeout, at("command_timeout"));
  return {
    url,
    mode: raw.mode ?? "sync",
    sync_interval,
    on_error: raw.on_error ?? "local",
    command_timeout,
    key_prefix: raw.key_prefix ?? "gw:",
  };
}

export function normalizeRateLimitGlobal(raw: Loose<RawRateLimitGlobal> | undefined): RateLimitGlobalConfig {
  return { slots: raw?.slots ?? 65536, legacy_headers: raw?.legacy_headers ?? true };
}

function readListen(ctx: NormalizeContext, listen: string, path: KeyPath): { host: string; port: number } {
  const parsed = parseListen(listen);
  if (typeof parsed === "string") {
    ctx.problems.add(path, parsed);
    return { host: "", port: 0 };
  }
  return parsed;
}
