import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startDnsmasq, type Dnsmasq } from "../helpers/dnsmasq.ts";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { until } from "../helpers/wait.ts";

/**
 * DNS discovery end to end against a real DNS server (dnsmasq on loopback):
 * the gateway resolves target names at load, follows the answer as it
 * changes (TTL 1 s), drains removed addresses, keeps the last good set when
 * DNS fails, and reports all of it as events and metrics.
 */
const TOKEN = "admin-token-for-dns-tests-0123456789";

/** A server on one loopback address answering with its name and what it saw. */
function server(name: string, hostname: string, port: number) {
  return Bun.serve({
    hostname,
    port,
    async fetch(req) {
      if (new URL(req.url).pathname === "/slow") await Bun.sleep(1500);
      return Response.json({ name, host: req.headers.get("host") });
    },
  });
}

const events = (gw: GatewayProcess, event: string) =>
  gw
    .stderr()
    .split("\n")
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("A/AAAA: a target naming a host", () => {
  let dns: Dnsmasq;
  let a: ReturnType<typeof Bun.serve>;
  let b: ReturnType<typeof Bun.serve>;
  let gw: GatewayProcess;
  const admin = async (path: string) => (await fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<any>;
  const who = async (path = "/") => (await (await fetch(`${gw.url}${path}`)).json()) as { name: string; host: string };
  const seen = async (n: number) => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) names.add((await who()).name);
    return [...names].sort();
  };

  beforeAll(async () => {
    a = server("a", "127.0.0.1", 0);
    // Same port on another loopback address: the DNS answer alone decides who serves.
    b = server("b", "127.0.0.2", a.port!);
    dns = await startDnsmasq({ hosts: ["127.0.0.1 svc.test"], ttl: 1 });
    gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false
[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"
[metrics]
listen = "127.0.0.1:0"
[discovery]
nameservers = ["${dns.server}"]
min_ttl = "100ms"
max_ttl = "1s"
timeout = "300ms"
retry = "200ms"
[[upstreams]]
name = "svc"
targets = [{ url = "http://svc.test:${a.port}", weight = 2 }]
[[routes]]
name = "r"
path = "/*"
upstream = "svc"
`);
  });
  afterAll(async () => {
    await gw?.stop();
    await dns?.stop();
    a?.stop(true);
    b?.stop(true);
  });

  test("resolved at load: requests go to the address, with the name as Host", async () => {
    expect(await who()).toEqual({ name: "a", host: `svc.test:${a.port}` });
    const [u] = await admin("/upstreams");
    expect(u.targets.map((t: any) => [t.url, t.weight])).toEqual([[`http://127.0.0.1:${a.port}`, 2]]);
    expect(await admin("/discovery")).toEqual([{ kind: "host", name: "svc.test", endpoints: ["127.0.0.1"], failing: false, error: null }]);
  });

  test("a new address joins the balancer; the one kept keeps its state", async () => {
    const before = (await admin("/upstreams"))[0].targets[0].requests as number;
    expect(before).toBeGreaterThan(0);
    await dns.setHosts(["127.0.0.1 svc.test", "127.0.0.2 svc.test"]);
    await until("both addresses serve", async () => (await seen(6)).length === 2, 8000);
    const targets = (await admin("/upstreams"))[0].targets;
    expect(targets.map((t: any) => t.url)).toEqual([`http://127.0.0.1:${a.port}`, `http://127.0.0.2:${a.port}`]);
    // Counters carried over by address: the swap did not reset the target that stayed.
    expect(targets[0].requests).toBeGreaterThan(before);
    const changed = events(gw, "dns_targets_changed");
    expect(changed[0]).toMatchObject({ level: "info", kind: "host", name: "svc.test", added: ["127.0.0.2"], removed: [] });
  });

  test("an address that disappears is drained: its request in flight finishes, no new ones go to it", async () => {
    // Park a slow request on a, then take a out of DNS.
    let slow: Promise<{ name: string }> | null = null;
    await until("a slow request lands on a", async () => {
      const r = fetch(`${gw.url}/slow`).then((res) => res.json() as Promise<{ name: string }>);
      await Bun.sleep(50);
      const inFlight = (await admin("/upstreams"))[0].targets.find((t: any) => t.url.includes("127.0.0.1"))?.in_flight;
      if (inFlight === 1) slow = r;
      else await r;
      return inFlight === 1;
    }, 10_000);
    await dns.setHosts(["127.0.0.2 svc.test"]);
    await until("only b is a target", async () => (await admin("/upstreams"))[0].targets.length === 1, 8000);
    expect(await seen(6)).toEqual(["b"]);
    expect((await slow!).name).toBe("a");
    expect(events(gw, "dns_targets_changed").at(-1)).toMatchObject({ removed: ["127.0.0.1"], added: [] });
  });

  test("DNS down: the last good set stays, the failure is logged once and counted; back: logged", async () => {
    await dns.stop();
    await until("the failure event", () => events(gw, "dns_resolve_failed").length > 0, 8000);
    expect(events(gw, "dns_resolve_failed")[0]).toMatchObject({ level: "warn", name: "svc.test", kept: 1 });
    expect(await seen(4)).toEqual(["b"]);
    const d = await admin("/discovery");
    expect(d[0]).toMatchObject({ endpoints: ["127.0.0.2"], failing: true });
    expect(typeof d[0].error).toBe("string");
    const scrape = async () => parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    // Retried every `retry`: counted each time, one event for the whole outage.
    await until("a second failed round", async () => (valueOf(await scrape(), "gateway_dns_resolutions_total", { name: "svc.test", result: "failure" }) ?? 0) >= 2, 8000);
    expect(events(gw, "dns_resolve_failed")).toHaveLength(1);
    const m = await scrape();
    expect(valueOf(m, "gateway_dns_resolutions_total", { name: "svc.test", result: "success" })).toBeGreaterThanOrEqual(3);
    expect(valueOf(m, "gateway_dns_addresses", { name: "svc.test" })).toBe(1);
    expect(valueOf(m, "gateway_events_total", { event: "dns_resolve_failed" })).toBe(1);

    await dns.restart();
    await until("the recovery event", () => events(gw, "dns_resolve_recovered").length > 0, 8000);
    expect((await admin("/discovery"))[0]).toMatchObject({ failing: false, error: null });
    expect(await seen(4)).toEqual(["b"]);
  });
});

describe("SRV: ports, weights and priorities from DNS", () => {
  test("the lowest priority serves, the next is a backup; a changed answer is followed", async () => {
    const one = server("one", "127.0.0.1", 0);
    const two = server("two", "127.0.0.1", 0);
    const srv = (p2: number) => [`_http._tcp.api.test,one.test,${one.port},10,3`, `_http._tcp.api.test,two.test,${two.port},${p2},1`];
    const records = ["one.test,127.0.0.1", "two.test,127.0.0.1"];
    const dns = await startDnsmasq({ srv: srv(20), records, ttl: 1 });
    const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false
[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"
[discovery]
nameservers = ["${dns.server}"]
min_ttl = "100ms"
timeout = "300ms"
retry = "200ms"
[[upstreams]]
name = "api"
discovery = { dns_srv = "_http._tcp.api.test", interval = "300ms" }
[[routes]]
name = "r"
path = "/*"
upstream = "api"
`);
    const admin = async (path: string) => (await fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<any>;
    const seen = async (n: number) => {
      const names = new Set<string>();
      for (let i = 0; i < n; i++) names.add(((await (await fetch(gw.url)).json()) as { name: string }).name);
      return [...names].sort();
    };
    try {
      const [u] = await admin("/upstreams");
      expect(u.targets.map((t: any) => [t.url, t.weight, t.backup])).toEqual([
        [`http://127.0.0.1:${one.port}`, 3, false],
        [`http://127.0.0.1:${two.port}`, 1, true],
      ]);
      const first = ((await (await fetch(gw.url)).json()) as { host: string }).host;
      expect(first).toBe(`one.test:${one.port}`);
      expect(await seen(6)).toEqual(["one"]);
      await dns.restart({ srv: srv(10), records });
      await until("both priorities equal: both serve", async () => (await seen(8)).length === 2, 8000);
      expect(events(gw, "dns_targets_changed")[0]).toMatchObject({ kind: "srv", name: "_http._tcp.api.test" });
    } finally {
      await gw.stop();
      await dns.stop();
      one.stop(true);
      two.stop(true);
    }
  }, 30_000);
});

describe("at load", () => {
  test("an SRV name with no answer and no configured targets refuses to start, naming the key", async () => {
    const dns = await startDnsmasq({ ttl: 1 });
    try {
      const err = await startGateway(`
[server]
listen = "127.0.0.1:0"
[discovery]
nameservers = ["${dns.server}"]
timeout = "300ms"
[[upstreams]]
name = "api"
discovery = { dns_srv = "_http._tcp.nothing.test" }
[[routes]]
name = "r"
path = "/*"
upstream = "api"
`).then(
        () => "started",
        (e: Error) => e.message,
      );
      expect(err).toContain("upstreams[0].discovery.dns_srv: no answer for _http._tcp.nothing.test (ENOTFOUND) and no configured targets");
    } finally {
      await dns.stop();
    }
  });

  test("a host name with no answer yet: the gateway starts with the name as configured, says so, and switches once DNS answers", async () => {
    const up = server("late", "127.0.0.1", 0);
    const dns = await startDnsmasq({ ttl: 1 });
    const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false
[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"
[discovery]
nameservers = ["${dns.server}"]
min_ttl = "100ms"
timeout = "300ms"
retry = "200ms"
[[upstreams]]
name = "u"
targets = [{ url = "http://late.test:${up.port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
`);
    const admin = async (path: string) => (await fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<any>;
    try {
      expect(events(gw, "dns_resolve_failed")[0]).toMatchObject({ name: "late.test", kept: 0, error: "ENOTFOUND" });
      expect((await admin("/upstreams"))[0].targets.map((t: any) => t.url)).toEqual([`http://late.test:${up.port}`]);
      await dns.setHosts(["127.0.0.1 late.test"]);
      await until("the address replaces the name", async () => (await admin("/upstreams"))[0].targets[0].url === `http://127.0.0.1:${up.port}`, 8000);
      expect(((await (await fetch(gw.url)).json()) as { host: string }).host).toBe(`late.test:${up.port}`);
    } finally {
      await gw.stop();
      await dns.stop();
      up.stop(true);
    }
  }, 20_000);
});
