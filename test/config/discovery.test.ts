import { describe, expect, test } from "bun:test";
import { testConfig } from "../helpers/config.ts";
import { problemsOf } from "./helpers.ts";

const base = (upstream: string, top = "") => `
${top}
[[upstreams]]
name = "u"
${upstream}
[[routes]]
name = "r"
path = "/*"
upstream = "u"
`;

describe("[discovery] and upstream discovery", () => {
  test("defaults: no section, no discovery key on upstreams", () => {
    const c = testConfig(base(`targets = [{ url = "http://users.test:3001" }]`));
    expect(c.discovery).toBeUndefined();
    expect(c.upstreams[0]!.discovery).toBeUndefined();
  });

  test("every key", () => {
    const c = testConfig(
      base(
        `discovery = { dns_srv = "_api._tcp.users.test", interval = "30s", scheme = "https" }`,
        `[discovery]\nnameservers = ["127.0.0.1:5353", "10.0.0.2", "[::1]:53", "::1"]\nmin_ttl = "2s"\nmax_ttl = "1m"\ntimeout = "500ms"\nretry = "3s"`,
      ),
    );
    expect(c.discovery).toEqual({ nameservers: ["127.0.0.1:5353", "10.0.0.2", "[::1]:53", "::1"], min_ttl: 2000, max_ttl: 60_000, timeout: 500, retry: 3000 });
    expect(c.upstreams[0]!.discovery).toEqual({ dns_srv: "_api._tcp.users.test", interval: 30_000, scheme: "https:" });
    expect(c.upstreams[0]!.targets).toEqual([]);
  });

  test("bad values are reported with their key path", () => {
    expect(
      problemsOf(
        base(
          `discovery = { dns_srv = "users.test", interval = "0s", scheme = "ftp", extra = 1 }`,
          `[discovery]\nnameservers = ["dns.example:53", "127.0.0.1:99999", 5]\nmin_ttl = "10s"\nmax_ttl = "1s"\ntimeout = "soon"\nttl = "1s"`,
        ),
      ),
    ).toEqual([
      "upstreams[0].discovery.extra: unknown key",
      'upstreams[0].discovery.scheme: expected one of "http", "https"',
      "discovery.ttl: unknown key",
      "discovery.nameservers[2]: expected a non-empty string",
      'discovery.timeout: invalid duration "soon" (expected a number and a unit: ms, s, m, h, d)',
      'upstreams[0].discovery.dns_srv: expected an SRV name such as "_http._tcp.users.internal", got "users.test"',
      "upstreams[0].discovery.interval: must be greater than 0",
      'discovery.nameservers[0]: expected an IP address with an optional port ("10.0.0.2", "127.0.0.1:5353", "[::1]:5353"), got "dns.example:53"',
      'discovery.nameservers[1]: expected an IP address with an optional port ("10.0.0.2", "127.0.0.1:5353", "[::1]:5353"), got "127.0.0.1:99999"',
      "discovery.max_ttl: must not be shorter than min_ttl (10000 ms)",
    ]);
  });

  test("targets stay required without dns_srv", () => {
    expect(problemsOf(base(`discovery = { interval = "5s" }`))).toEqual(["upstreams[0].targets: required key missing"]);
  });
});
