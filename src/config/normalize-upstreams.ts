/**
 * [[upstreams]] → UpstreamConfig[].
 *
 * Defaults: balancer "round_robin"; target weight 1, backup false;
 * health_check (when the table is given) interval "5s", timeout "1s",
 * healthy 2, unhealthy 3, expected_status "200-399"; passive (when given)
 * max_fails 3, fail_timeout "30s", counting every failure (connect errors,
 * timeouts, lost connections, 5xx or the breaker's statuses); max_fails 0
 * turns it off;
 * passive (when absent) nginx's default, max_fails 1, fail_timeout "10s",
 * counting only connect failures (refused, unreachable, connect timeout),
 * so a target that refuses connections leaves the rotation at once while
 * one 500 ejects nothing; off for a single target, as in nginx (there is
 * nowhere else to go, and ejecting it would only delay its recovery);
 * circuit_breaker (when given) failures 5,
 * open_for "30s", half_open_requests 1, statuses 500-599; timeouts connect
 * "2s", read "30s", total "0s" (none); retries 1; retry_budget ratio 0.2,
 * min_per_second 10; pool max_connections 1024, idle_timeout "60s",
 * max_queue 1024, queue_timeout "5s"; preserve_host false.
 */

import { isToken, parseTargetUrl } from "./addresses.ts";
import { normalizeUpstreamDiscovery } from "./normalize-discovery.ts";
import { type NormalizeContext, present, readDuration, requirePositive, values } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import type { Loose, RawUpstream } from "./schema.ts";
import type { HealthCheckConfig, TargetConfig, UpstreamConfig } from "./types.ts";

const HASH_KEY_FORMS = "ip, path, header:NAME, cookie:NAME or query:NAME";
/** Without a passive table: nginx's max_fails=1 fail_timeout=10s, for connect failures only. */
const DEFAULT_PASSIVE = { max_fails: 1, fail_timeout: 10_000, connect_only: true } as const;

export function normalizeUpstreams(
  ctx: NormalizeContext,
  raw: readonly (Loose<RawUpstream> | undefined)[] | undefined,
): UpstreamConfig[] {
  const out: UpstreamConfig[] = [];
  const firstByName = new Map<string, number>();
  for (const [upstream, i] of present(raw)) {
    if (upstream.name !== undefined) {
      const first = firstByName.get(upstream.name);
      if (first !== undefined) {
        ctx.problems.add(["upstreams", i, "name"], `duplicate upstream name ${JSON.stringify(upstream.name)} (also upstreams[${first}])`);
      } else firstByName.set(upstream.name, i);
    }
    out.push(normalizeUpstream(ctx, upstream, ["upstreams", i]));
  }
  return out;
}

function normalizeUpstream(ctx: NormalizeContext, raw: Loose<RawUpstream>, path: KeyPath): UpstreamConfig {
  const at = (...keys: (string | number)[]): KeyPath => [...path, ...keys];
  const balancer = raw.balancer ?? "round_robin";

  let hash_key: string | null = null;
  if (raw.hash_key !== undefined) {
    if (balancer !== "hash") ctx.problems.add(at("hash_key"), 'only used with balancer = "hash"');
    hash_key = normalizeHashKey(raw.hash_key);
    if (hash_key === null) ctx.problems.add(at("hash_key"), `invalid hash key ${JSON.stringify(raw.hash_key)} (expected ${HASH_KEY_FORMS})`);
  } else if (balancer === "hash") {
    ctx.problems.add(at("hash_key"), 'required when balancer = "hash"');
  }

  const targets: TargetConfig[] = [];
  for (const [target, i] of present(raw.targets)) {
    if (target.url === undefined) continue;
    const parsed = parseTargetUrl(target.url);
    if (typeof parsed === "string") {
      ctx.problems.add(at("targets", i, "url"), parsed);
      continue;
    }
    const twin = targets.findIndex((t) => t.url === parsed.url);
    if (twin !== -1) ctx.problems.add(at("targets", i, "url"), `duplicate target ${JSON.stringify(parsed.url)}`);
    targets.push({ ...parsed, weight: target.weight ?? 1, backup: target.backup ?? false });
  }
  const discovery = normalizeUpstreamDiscovery(ctx, raw.discovery, at("discovery"));
  // SRV may supply every target; otherwise the list is required (the schema checks it is not empty).
  if (raw.targets === undefined && !discovery?.dns_srv) ctx.problems.add(at("targets"), "required key missing");
  const listed = present(raw.targets);
  if (listed.length > 0 && listed.every(([t]) => t.backup === true)) {
    ctx.problems.add(at("targets"), "at least one target must not be a backup");
  }

  return {
    name: raw.name ?? "",
    balancer,
    hash_key,
    targets,
    health_check: normalizeHealthCheck(ctx, raw.health_check, at("health_check")),
    passive: normalizePassive(ctx, raw.passive, targets.length, at("passive")),
    circuit_breaker: normalizeBreaker(ctx, raw.circuit_breaker, at("circuit_breaker")),
    timeouts: {
      connect: positiveDuration(ctx, raw.timeouts?.connect, at("timeouts", "connect"), 2000),
      read: positiveDuration(ctx, raw.timeouts?.read, at("timeouts", "read"), 30_000),
      total: readDuration(ctx, raw.timeouts?.total, at("timeouts", "total"), 0),
    },
    retries: raw.retries ?? 1,
    retry_budget: {
      ratio: raw.retry_budget?.ratio ?? 0.2,
      min_per_second: raw.retry_budget?.min_per_second ?? 10,
    },
    pool: {
      max_connections: raw.pool?.max_connections ?? 1024,
      idle_timeout: readDuration(ctx, raw.pool?.idle_timeout, at("pool", "idle_timeout"), 60_000),
      max_queue: raw.pool?.max_queue ?? 1024,
      queue_timeout: readDuration(ctx, raw.pool?.queue_timeout, at("pool", "queue_timeout"), 5000),
    },
    preserve_host: raw.preserve_host ?? false,
    ...(discovery === undefined ? {} : { discovery }),
  };
}

/** "header:X-Shard" → "header:x-shard" (header names are case-insensitive; cookie and query names are not). */
function normalizeHashKey(key: string): string | null {
  if (key === "ip" || key === "path") return key;
  const colon = key.indexOf(":");
  if (colon === -1) return null;
  const kind = key.slice(0, colon);
  const name = key.slice(colon + 1);
  if (name === "") return null;
  if (kind === "header") return isToken(name) ? `header:${name.toLowerCase()}` : null;
  if (kind === "cookie" || kind === "query") return key;
  return null;
}

function normalizeHealthCheck(
  ctx: NormalizeContext,
  raw: Loose<RawUpstream>["health_check"],
  path: KeyPath,
): HealthCheckConfig | null {
  if (raw === undefined) return null;
  const at = (key: string): KeyPath => [...path, key];
  if (raw.path !== undefined && !raw.path.startsWith("/")) ctx.problems.add(at("path"), 'must start with "/"');
  const interval = positiveDuration(ctx, raw.interval, at("interval"), 5000);
  const timeout = positiveDuration(ctx, raw.timeout, at("timeout"), 1000);
  if (timeout > interval) ctx.problems.add(at("timeout"), "must not be longer than interval");
  return {
    path: raw.path ?? "/",
    interval,
    timeout,
    healthy: raw.healthy ?? 2,
    unhealthy: raw.unhealthy ?? 3,
    expected_status: readStatusRange(ctx, raw.expected_status, at("expected_status")),
  };
}

function readStatusRange(ctx: NormalizeContext, raw: string | number | undefined, path: KeyPath): [number, number] {
  if (raw === undefined) return [200, 399];
  const bad = 'expected an HTTP status such as 200 or a range such as "200-399"';
  if (typeof raw === "number") {
    if (raw < 100 || raw > 599) ctx.problems.add(path, bad);
    return [raw, raw];
  }
  const m = /^(\d{3})-(\d{3})$/.exec(raw);
  const low = m === null ? 0 : Number(m[1]);
  const high = m === null ? 0 : Number(m[2]);
  if (m === null || low < 100 || high > 599 || low > high) {
    ctx.problems.add(path, bad);
    return [200, 399];
  }
  return [low, high];
}

/** Absent: the default connect-only check, for more than one target. Given: today's check of every failure. */
function normalizePassive(
  ctx: NormalizeContext,
  raw: Loose<RawUpstream>["passive"],
  targets: number,
  path: KeyPath,
): UpstreamConfig["passive"] {
  if (raw === undefined) return targets > 1 ? { ...DEFAULT_PASSIVE } : null;
  return {
    max_fails: raw.max_fails ?? 3,
    fail_timeout: readDuration(ctx, raw.fail_timeout, [...path, "fail_timeout"], 30_000),
  };
}

function normalizeBreaker(
  ctx: NormalizeContext,
  raw: Loose<RawUpstream>["circuit_breaker"],
  path: KeyPath,
): UpstreamConfig["circuit_breaker"] {
  if (raw === undefined) return null;
  const statuses =
    raw.statuses === undefined
      ? Array.from({ length: 100 }, (_, i) => 500 + i)
      : [...new Set(values(raw.statuses))].sort((a, b) => a - b);
  return {
    failures: raw.failures ?? 5,
    open_for: positiveDuration(ctx, raw.open_for, [...path, "open_for"], 30_000),
    half_open_requests: raw.half_open_requests ?? 1,
    statuses,
  };
}

function positiveDuration(ctx: NormalizeContext, raw: string | undefined, path: KeyPath, fallback: number): number {
  const ms = readDuration(ctx, raw, path, fallback);
  requirePositive(ctx, ms, raw, path);
  return ms;
}
