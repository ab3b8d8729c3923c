import { expect, test } from "bun:test";
import { DISCOVERY_DEFAULTS } from "../../../src/upstream/discovery/config.ts";
import { DnsDiscovery } from "../../../src/upstream/discovery/discovery.ts";
import { createDnsClient } from "../../../src/upstream/discovery/resolver.ts";
import type { UpstreamConfig } from "../../../src/config/types.ts";
import { startDnsmasq } from "../../helpers/dnsmasq.ts";
import { until } from "../../helpers/wait.ts";

// Re-resolution follows the record's TTL, bounded by [min_ttl, max_ttl], against a real DNS server
// (dnsmasq on loopback, answering with TTL = --local-ttl): the gaps between query rounds are measured.
const upstream = { name: "u", targets: [{ host: "svc.test" }], discovery: null } as unknown as UpstreamConfig;

async function gaps(ttl: number, bounds: { min_ttl: number; max_ttl: number }, rounds: number): Promise<number[]> {
  const dns = await startDnsmasq({ hosts: ["127.0.0.1 svc.test"], ttl });
  const at: number[] = [];
  const d = new DnsDiscovery(createDnsClient({ nameservers: [dns.server], timeout: 500 }), { ...DISCOVERY_DEFAULTS, ...bounds }, {
    resolved: (_k, _n, ok) => void (ok && at.push(performance.now())),
  });
  try {
    expect(await d.track([upstream])).toEqual([]);
    expect(d.host("svc.test")).toEqual(["127.0.0.1"]);
    await until(`${rounds} rounds`, () => at.length > rounds, rounds * (bounds.max_ttl + 1000));
    return at.slice(1, rounds + 1).map((t, i) => t - at[i]!);
  } finally {
    d.stop();
    await dns.stop();
  }
}

/** Never sooner than the bound (timers are not early), and typically on it: the median within half again (a loaded box delays timers and queries). */
const near = (xs: number[], ms: number) => {
  for (const x of xs) expect(x).toBeGreaterThanOrEqual(ms - 20);
  const median = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  expect(median).toBeLessThan(ms * 1.5 + 100);
};

test("inside the bounds the TTL decides: TTL 1 s, bounds 100 ms .. 10 s → a round every second", async () => {
  near(await gaps(1, { min_ttl: 100, max_ttl: 10_000 }, 3), 1000);
}, 20_000);

test("a TTL above max_ttl is cut to it: TTL 30 s, max 400 ms → every 400 ms", async () => {
  near(await gaps(30, { min_ttl: 100, max_ttl: 400 }, 4), 400);
}, 20_000);

test("a TTL below min_ttl is raised to it: TTL 0, min 300 ms → every 300 ms, not a query storm", async () => {
  near(await gaps(0, { min_ttl: 300, max_ttl: 10_000 }, 4), 300);
}, 20_000);
