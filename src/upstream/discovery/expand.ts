/**
 * The targets workers use, from the configured ones and what DNS answered:
 * a target naming a host becomes one target per address (same scheme, port,
 * weight and backup flag; the name kept as `hostname` for Host and TLS), and
 * an upstream with `discovery.dns_srv` gets one target per SRV target
 * address (RFC 2782: the lowest priority serves, higher ones are backups;
 * weight 0 counts as 1, the smallest share the balancers know).
 *
 * A name DNS never answered stays as configured, so its connections resolve
 * it as they did without discovery: discovery never empties an upstream.
 * Pure: the same inputs give the same list in the same order (sorted
 * addresses), so state carried over by URL across swaps lines up.
 */
import type { TargetConfig, UpstreamConfig } from "../../config/types.ts";
import { addressUrl, isDiscoverableHost } from "./names.ts";

export interface SrvEndpoint {
  /** The SRV target's name (or address). */
  host: string;
  port: number;
  priority: number;
  weight: number;
  /** Sorted addresses of `host`. */
  addresses: readonly string[];
}

export interface ResolvedNames {
  /** Sorted addresses of a host name, or null when never resolved. */
  host(name: string): readonly string[] | null;
  /** The SRV answer of a name, or null when never resolved. */
  srv(name: string): readonly SrvEndpoint[] | null;
}

/** Without a passive table: the normalizer's default for more than one target (nginx max_fails=1 fail_timeout=10s, connect failures). */
const DEFAULT_PASSIVE = { max_fails: 1, fail_timeout: 10_000, connect_only: true } as const;

export function expandUpstreams(upstreams: readonly UpstreamConfig[], names: ResolvedNames): UpstreamConfig[] {
  return upstreams.map((u) => expandUpstream(u, names));
}

export function expandUpstream(u: UpstreamConfig, names: ResolvedNames): UpstreamConfig {
  const out: TargetConfig[] = [];
  const seen = new Set<string>();
  const push = (t: TargetConfig) => {
    if (seen.has(t.url)) return;
    seen.add(t.url);
    out.push(t);
  };
  let changed = false;
  for (const t of u.targets) {
    const addresses = isDiscoverableHost(t.host) ? names.host(t.host) : null;
    if (addresses === null || addresses.length === 0) {
      push(t);
      continue;
    }
    changed = true;
    for (const a of addresses) push({ ...t, url: addressUrl(t.protocol, a, t.port), host: a, hostname: t.host });
  }
  const srvName = u.discovery?.dns_srv;
  const srv = srvName ? names.srv(srvName) : null;
  if (srv !== null && srv.length > 0) {
    changed = true;
    const protocol = u.discovery!.scheme;
    const best = Math.min(...srv.map((e) => e.priority));
    for (const e of srv) {
      for (const a of e.addresses) {
        const t: TargetConfig = {
          url: addressUrl(protocol, a, e.port),
          protocol,
          host: a,
          port: e.port,
          weight: Math.max(1, e.weight),
          backup: e.priority !== best,
        };
        if (a !== e.host) t.hostname = e.host.replace(/\.$/, "");
        push(t);
      }
    }
  }
  if (!changed) return u;
  const passive = u.passive === null && out.length > 1 ? { ...DEFAULT_PASSIVE } : u.passive;
  return { ...u, targets: out, passive };
}
