/**
 * `[discovery]` and an upstream's `discovery = { … }` → DiscoveryConfig /
 * UpstreamDiscoveryConfig (src/upstream/discovery/config.ts). Defaults are
 * there; this file checks shapes the schema cannot (addresses, SRV names,
 * min_ttl <= max_ttl).
 */
import { parseIPv4, parseIPv6 } from "../util/cidr.ts";
import { DISCOVERY_DEFAULTS, type DiscoveryConfig, type UpstreamDiscoveryConfig } from "../upstream/discovery/config.ts";
import { type NormalizeContext, readDuration, requirePositive } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";

export interface RawDiscovery {
  nameservers?: (string | undefined)[];
  min_ttl?: string;
  max_ttl?: string;
  timeout?: string;
  retry?: string;
}

export interface RawUpstreamDiscovery {
  dns_srv?: string;
  interval?: string;
  scheme?: "http" | "https";
}

/** RFC 2782 owner name: "_service._proto.name" (labels of letters, digits, hyphens, underscores). */
const SRV_NAME = /^_[A-Za-z0-9-]+\._(tcp|udp)(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?)+\.?$/;

export function normalizeDiscovery(ctx: NormalizeContext, raw: RawDiscovery | undefined): DiscoveryConfig | undefined {
  if (raw === undefined) return undefined;
  const at = (key: string): KeyPath => ["discovery", key];
  const d = DISCOVERY_DEFAULTS;
  const nameservers: string[] = [];
  (raw.nameservers ?? []).forEach((s, i) => {
    if (s === undefined) return;
    const problem = nameserverProblem(s);
    if (problem !== null) ctx.problems.add(["discovery", "nameservers", i], problem);
    nameservers.push(s);
  });
  const min_ttl = readDuration(ctx, raw.min_ttl, at("min_ttl"), d.min_ttl);
  const max_ttl = readDuration(ctx, raw.max_ttl, at("max_ttl"), d.max_ttl);
  const timeout = readDuration(ctx, raw.timeout, at("timeout"), d.timeout);
  const retry = readDuration(ctx, raw.retry, at("retry"), d.retry);
  requirePositive(ctx, min_ttl, raw.min_ttl, at("min_ttl"));
  requirePositive(ctx, timeout, raw.timeout, at("timeout"));
  requirePositive(ctx, retry, raw.retry, at("retry"));
  if (max_ttl < min_ttl) ctx.problems.add(at("max_ttl"), `must not be shorter than min_ttl (${min_ttl} ms)`);
  return { nameservers, min_ttl, max_ttl, timeout, retry };
}

/** "10.0.0.2", "10.0.0.2:5353", "::1", "[::1]:5353" (what node:dns setServers takes). */
function nameserverProblem(s: string): string | null {
  const bad = `expected an IP address with an optional port ("10.0.0.2", "127.0.0.1:5353", "[::1]:5353"), got ${JSON.stringify(s)}`;
  let host = s;
  let port: string | null = null;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return bad;
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return bad;
      port = rest.slice(1);
    }
    if (parseIPv6(host) === null) return bad;
  } else if (parseIPv6(s) === null) {
    const colon = s.lastIndexOf(":");
    if (colon >= 0) {
      host = s.slice(0, colon);
      port = s.slice(colon + 1);
    }
    if (parseIPv4(host) === null) return bad;
  }
  if (port !== null && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return bad;
  return null;
}

export function normalizeUpstreamDiscovery(ctx: NormalizeContext, raw: RawUpstreamDiscovery | undefined, path: KeyPath): UpstreamDiscoveryConfig | undefined {
  if (raw === undefined) return undefined;
  const at = (key: string): KeyPath => [...path, key];
  const dns_srv = raw.dns_srv ?? null;
  if (dns_srv !== null && !SRV_NAME.test(dns_srv)) {
    ctx.problems.add(at("dns_srv"), `expected an SRV name such as "_http._tcp.users.internal", got ${JSON.stringify(dns_srv)}`);
  }
  const interval = readDuration(ctx, raw.interval, at("interval"), 0);
  requirePositive(ctx, interval, raw.interval, at("interval"));
  const https = raw.scheme === undefined ? dns_srv !== null && dns_srv.toLowerCase().startsWith("_https.") : raw.scheme === "https";
  return { dns_srv, interval, scheme: https ? "https:" : "http:" };
}
