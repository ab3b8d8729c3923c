/**
 * The DNS queries discovery needs, over node:dns's Resolver (c-ares in Bun):
 * it talks to the configured servers directly (any port, so tests run their
 * own server on loopback) and reports each A/AAAA record's TTL, which
 * getaddrinfo-style lookups (dns.lookup, Bun.dns.lookup) do not.
 */
import { Resolver } from "node:dns/promises";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  /** Seconds, as the server sent it. */
  ttl: number;
}

/** RFC 2782 SRV record. */
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export interface DnsClient {
  /** A and AAAA of `name` (together); throws DnsError when neither gives an address. */
  addresses(name: string): Promise<ResolvedAddress[]>;
  /** SRV records of `name`; throws DnsError when there are none. */
  srv(name: string): Promise<SrvRecord[]>;
  /** Cancel queries in flight (they reject). */
  cancel(): void;
}

/** Why a name did not resolve: the c-ares code (ENOTFOUND = NXDOMAIN, ENODATA, ETIMEOUT, ECONNREFUSED, EREFUSED, ESERVFAIL…). */
export class DnsError extends Error {
  constructor(
    readonly code: string,
    readonly host: string,
  ) {
    super(`${code} ${host}`);
    this.name = "DnsError";
  }
}

export interface DnsClientOptions {
  /** "ip" or "ip:port"; empty = the system's servers. */
  nameservers: readonly string[];
  /** ms per query attempt. */
  timeout: number;
}

export function createDnsClient(opts: DnsClientOptions): DnsClient {
  // Two attempts per query: one lost UDP datagram must not count as a failure.
  const r = new Resolver({ timeout: opts.timeout, tries: 2 });
  if (opts.nameservers.length > 0) r.setServers([...opts.nameservers]);
  return {
    async addresses(name) {
      const [a, aaaa] = await Promise.allSettled([r.resolve4(name, { ttl: true }), r.resolve6(name, { ttl: true })]);
      const out: ResolvedAddress[] = [];
      if (a.status === "fulfilled") for (const x of a.value) out.push({ address: x.address, family: 4, ttl: x.ttl });
      if (aaaa.status === "fulfilled") for (const x of aaaa.value) out.push({ address: x.address, family: 6, ttl: x.ttl });
      if (out.length > 0) return out;
      // Prefer the reason that is not "this family has no record".
      const reasons = [a, aaaa].map((s) => (s.status === "rejected" ? codeOf(s.reason) : "ENODATA"));
      throw new DnsError(reasons.find((c) => c !== "ENODATA") ?? "ENODATA", name);
    },
    async srv(name) {
      let records: SrvRecord[];
      try {
        records = await r.resolveSrv(name);
      } catch (e) {
        throw new DnsError(codeOf(e), name);
      }
      if (records.length === 0) throw new DnsError("ENODATA", name);
      return records.map((x) => ({ name: x.name, port: x.port, priority: x.priority, weight: x.weight }));
    },
    cancel: () => r.cancel(),
  };
}

function codeOf(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" ? code : "EUNKNOWN";
}
