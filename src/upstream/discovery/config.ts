/**
 * DNS service discovery settings (normalized; durations in ms).
 *
 * `[discovery]` (optional) says how names are resolved for every upstream;
 * an upstream's `discovery = { dns_srv = … }` adds targets from DNS SRV
 * (RFC 2782). A target whose URL names a host (not an IP literal, not
 * `localhost`) is resolved (A and AAAA) and re-resolved in the background
 * without either: see discovery.ts.
 */
export interface DiscoveryConfig {
  /** "ip" or "ip:port" DNS servers; empty = the system's (/etc/resolv.conf). */
  nameservers: string[];
  /** A record's TTL is honoured within [min_ttl, max_ttl]. Defaults 1 s and 5 min. */
  min_ttl: number;
  max_ttl: number;
  /** Per query (A, AAAA or SRV); default 2 s. */
  timeout: number;
  /** After a failed resolution, try again this soon (capped by max_ttl); default 5 s. */
  retry: number;
}

export interface UpstreamDiscoveryConfig {
  /** SRV owner name, "_http._tcp.users.internal"; null: only the targets' own names. */
  dns_srv: string | null;
  /** Re-query at least this often (caps TTLs; the period of the SRV query, whose TTL the resolver does not report); 0 = [discovery] max_ttl. */
  interval: number;
  /** Scheme of SRV targets; default "https" when the service label is "_https", else "http". */
  scheme: "http:" | "https:";
}

export const DISCOVERY_DEFAULTS: DiscoveryConfig = Object.freeze({
  nameservers: [],
  min_ttl: 1000,
  max_ttl: 300_000,
  timeout: 2000,
  retry: 5000,
}) as DiscoveryConfig;

/** SRV answers carry no TTL through node:dns: re-queried this often unless `interval` says otherwise. */
export const SRV_DEFAULT_INTERVAL = 10_000;
