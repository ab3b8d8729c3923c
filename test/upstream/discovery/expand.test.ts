import { describe, expect, test } from "bun:test";
import type { UpstreamConfig } from "../../../src/config/types.ts";
import { expandUpstream, type ResolvedNames, type SrvEndpoint } from "../../../src/upstream/discovery/expand.ts";
import { testConfig } from "../../helpers/config.ts";

function upstream(extra: string): UpstreamConfig {
  return testConfig(`
[[upstreams]]
name = "u"
${extra}
[[routes]]
name = "r"
path = "/*"
upstream = "u"
`).upstreams[0]!;
}

function names(hosts: Record<string, string[]>, srv: Record<string, SrvEndpoint[]> = {}): ResolvedNames {
  return { host: (n) => hosts[n] ?? null, srv: (n) => srv[n] ?? null };
}

describe("expandUpstream", () => {
  test("a host name becomes one target per address, keeping scheme, port, weight, backup and the name", () => {
    const u = upstream(`targets = [{ url = "http://users.test:3001", weight = 3 }, { url = "http://127.0.0.9:4000", backup = true }]`);
    const out = expandUpstream(u, names({ "users.test": ["10.0.0.1", "::1"] }));
    expect(out.targets).toEqual([
      { url: "http://10.0.0.1:3001", protocol: "http:", host: "10.0.0.1", port: 3001, weight: 3, backup: false, hostname: "users.test" },
      { url: "http://[::1]:3001", protocol: "http:", host: "::1", port: 3001, weight: 3, backup: false, hostname: "users.test" },
      { url: "http://127.0.0.9:4000", protocol: "http:", host: "127.0.0.9", port: 4000, weight: 1, backup: true },
    ]);
    // The declared config is not touched.
    expect(u.targets).toHaveLength(2);
  });

  test("an unresolved name stays as configured (never an empty upstream); IP literals and localhost are never looked up", () => {
    const u = upstream(`targets = [{ url = "http://users.test:3001" }, { url = "http://localhost:3002" }]`);
    const out = expandUpstream(u, names({ localhost: ["10.9.9.9"] }));
    expect(out).toBe(u);
  });

  test("one target growing into several gets the default connect-failure passive check, as several configured ones do", () => {
    const u = upstream(`targets = [{ url = "http://users.test:3001" }]`);
    expect(u.passive).toBeNull();
    expect(expandUpstream(u, names({ "users.test": ["10.0.0.1", "10.0.0.2"] })).passive).toEqual({ max_fails: 1, fail_timeout: 10_000, connect_only: true });
    expect(expandUpstream(u, names({ "users.test": ["10.0.0.1"] })).passive).toBeNull();
  });

  test("two names giving the same address and port give one target", () => {
    const u = upstream(`targets = [{ url = "http://a.test:3001" }, { url = "http://b.test:3001" }]`);
    const out = expandUpstream(u, names({ "a.test": ["10.0.0.1"], "b.test": ["10.0.0.1", "10.0.0.2"] }));
    expect(out.targets.map((t) => t.url)).toEqual(["http://10.0.0.1:3001", "http://10.0.0.2:3001"]);
  });

  test("SRV (RFC 2782): ports and weights from the records, the lowest priority serves, higher ones are backups, weight 0 counts as 1", () => {
    const u = upstream(`discovery = { dns_srv = "_https._tcp.users.test" }`);
    expect(u.targets).toEqual([]);
    expect(u.discovery).toEqual({ dns_srv: "_https._tcp.users.test", interval: 0, scheme: "https:" });
    const out = expandUpstream(
      u,
      names({}, {
        "_https._tcp.users.test": [
          { host: "a.test", port: 8443, priority: 10, weight: 5, addresses: ["10.0.0.1"] },
          { host: "b.test", port: 8444, priority: 10, weight: 0, addresses: ["10.0.0.2"] },
          { host: "c.test", port: 8445, priority: 20, weight: 1, addresses: ["10.0.0.3"] },
        ],
      }),
    );
    expect(out.targets.map((t) => [t.url, t.weight, t.backup, t.hostname])).toEqual([
      ["https://10.0.0.1:8443", 5, false, "a.test"],
      ["https://10.0.0.2:8444", 1, false, "b.test"],
      ["https://10.0.0.3:8445", 1, true, "c.test"],
    ]);
  });
});
