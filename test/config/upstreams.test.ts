import { describe, expect, test } from "bun:test";
import { parse, problemsOf } from "./helpers.ts";

function upstream(keys: string, targets = '[{ url = "http://127.0.0.1:3001" }]'): string {
  return `[[upstreams]]\nname = "api"\ntargets = ${targets}\n${keys}\n`;
}

describe("target urls", () => {
  test.each([
    ["http://127.0.0.1:3001", { url: "http://127.0.0.1:3001", protocol: "http:", host: "127.0.0.1", port: 3001 }],
    ["http://127.0.0.1:3001/", { url: "http://127.0.0.1:3001", protocol: "http:", host: "127.0.0.1", port: 3001 }],
    ["https://api.internal", { url: "https://api.internal", protocol: "https:", host: "api.internal", port: 443 }],
    ["http://API.internal:80", { url: "http://api.internal", protocol: "http:", host: "api.internal", port: 80 }],
    ["http://[::1]:8080", { url: "http://[::1]:8080", protocol: "http:", host: "::1", port: 8080 }],
    ["HTTPS://H:1", { url: "https://h:1", protocol: "https:", host: "h", port: 1 }],
  ])("%p", (url, expected) => {
    const target = parse(upstream("", `[{ url = "${url}" }]`)).upstreams[0]!.targets[0];
    expect(target).toEqual({ ...expected, weight: 1, backup: false } as never);
  });

  const scheme = 'expected an http:// or https:// URL such as "http://127.0.0.1:3001", got';
  const noPath = (u: string) => `must not have a path, query or fragment (a target is scheme://host:port), got "${u}"`;
  test.each([
    ["127.0.0.1:3001", `${scheme} "127.0.0.1:3001"`],
    ["localhost", `${scheme} "localhost"`],
    ["ftp://files.internal", `${scheme} "ftp://files.internal"`],
    ["ws://127.0.0.1:3001", `${scheme} "ws://127.0.0.1:3001"`],
    ["http://", 'invalid URL "http://"'],
    ["http://127.0.0.1:3001/v1", noPath("http://127.0.0.1:3001/v1")],
    ["http://127.0.0.1:3001?x=1", noPath("http://127.0.0.1:3001?x=1")],
    ["http://127.0.0.1:3001/?", noPath("http://127.0.0.1:3001/?")],
    ["http://127.0.0.1:3001#frag", noPath("http://127.0.0.1:3001#frag")],
    ["http://user:pw@127.0.0.1:3001", "must not contain credentials"],
    ["http://127.0.0.1:70000", 'invalid URL "http://127.0.0.1:70000"'],
  ])("%p is refused", (url, message) => {
    expect(problemsOf(upstream("", `[{ url = "${url}" }]`))).toEqual([`upstreams[0].targets[0].url: ${message}`]);
  });

  test("duplicate targets (after normalization) are refused", () => {
    expect(problemsOf(upstream("", '[{ url = "http://h:80" }, { url = "http://h/" }]'))).toEqual([
      'upstreams[0].targets[1].url: duplicate target "http://h"',
    ]);
  });

  test("at least one target is not a backup", () => {
    expect(problemsOf(upstream("", '[{ url = "http://a", backup = true }, { url = "http://b", backup = true }]'))).toEqual([
      "upstreams[0].targets: at least one target must not be a backup",
    ]);
  });
});

describe("balancer and hash_key", () => {
  test.each([
    ["ip", "ip"],
    ["path", "path"],
    ["header:X-Shard", "header:x-shard"],
    ["cookie:SessionID", "cookie:SessionID"],
    ["query:tenant", "query:tenant"],
  ])("hash_key %p → %p", (key, normalized) => {
    expect(parse(upstream(`balancer = "hash"\nhash_key = "${key}"`)).upstreams[0]!.hash_key).toBe(normalized);
  });

  test.each(["header:", "header:bad name", "body:x", "ip:x", "cookie:", "consumer"])("hash_key %p is refused", (key) => {
    expect(problemsOf(upstream(`balancer = "hash"\nhash_key = "${key}"`))).toEqual([
      `upstreams[0].hash_key: invalid hash key ${JSON.stringify(key)} (expected ip, path, header:NAME, cookie:NAME or query:NAME)`,
    ]);
  });

  test('balancer "hash" needs hash_key', () => {
    expect(problemsOf(upstream('balancer = "hash"'))).toEqual(['upstreams[0].hash_key: required when balancer = "hash"']);
  });

  test('hash_key without balancer "hash" is refused', () => {
    expect(problemsOf(upstream('hash_key = "ip"'))).toEqual(['upstreams[0].hash_key: only used with balancer = "hash"']);
    expect(problemsOf(upstream('balancer = "ip_hash"\nhash_key = "ip"'))).toEqual([
      'upstreams[0].hash_key: only used with balancer = "hash"',
    ]);
  });

  test("every balancer name is accepted", () => {
    for (const b of ["round_robin", "weighted", "least_conn", "least_time", "ip_hash", "random"]) {
      expect(parse(upstream(`balancer = "${b}"`)).upstreams[0]!.balancer).toBe(b as never);
    }
  });
});

describe("health checks, breaker, timeouts", () => {
  test.each([
    ["200", [200, 200]],
    ['"200-399"', [200, 399]],
    ['"204-204"', [204, 204]],
    ['"100-599"', [100, 599]],
  ])("expected_status %s → %p", (value, range) => {
    const hc = parse(upstream(`health_check = { path = "/h", expected_status = ${value} }`)).upstreams[0]!.health_check!;
    expect(hc.expected_status).toEqual(range as [number, number]);
  });

  test.each(['"200"', '"399-200"', '"200-600"', '"2xx"', "99", "600", '"200 - 399"'])("expected_status %s is refused", (value) => {
    expect(problemsOf(upstream(`health_check = { path = "/h", expected_status = ${value} }`))).toEqual([
      'upstreams[0].health_check.expected_status: expected an HTTP status such as 200 or a range such as "200-399"',
    ]);
  });

  test("health check path, interval and timeout", () => {
    expect(problemsOf(upstream('health_check = { path = "health", interval = "0s", timeout = "2s" }'))).toEqual([
      'upstreams[0].health_check.path: must start with "/"',
      "upstreams[0].health_check.interval: must be greater than 0",
      "upstreams[0].health_check.timeout: must not be longer than interval",
    ]);
    expect(problemsOf(upstream('health_check = { path = "/h", interval = "1s", timeout = "2s" }'))).toEqual([
      "upstreams[0].health_check.timeout: must not be longer than interval",
    ]);
  });

  test("circuit breaker statuses are sorted and deduplicated", () => {
    const cb = parse(upstream("circuit_breaker = { statuses = [503, 429, 503, 500] }")).upstreams[0]!.circuit_breaker!;
    expect(cb.statuses).toEqual([429, 500, 503]);
  });

  test("connect and read timeouts must be positive; total 0 means none", () => {
    expect(problemsOf(upstream('timeouts = { connect = "0s", read = "0ms", total = "0s" }'))).toEqual([
      "upstreams[0].timeouts.connect: must be greater than 0",
      "upstreams[0].timeouts.read: must be greater than 0",
    ]);
  });

  test("passive: nginx's connect-only max_fails = 1, fail_timeout = 10s when absent (with more than one target); a table keeps its own meaning", () => {
    const two = '[{ url = "http://127.0.0.1:3001" }, { url = "http://127.0.0.1:3002" }]';
    const passive = (keys: string, targets = two) => parse(upstream(keys, targets)).upstreams[0]!.passive;
    expect(passive("")).toEqual({ max_fails: 1, fail_timeout: 10_000, connect_only: true });
    // One target has nowhere else to go (nginx ignores max_fails for it too).
    expect(passive("", '[{ url = "http://127.0.0.1:3001" }]')).toBeNull();
    expect(passive("passive = {}")).toStrictEqual({ max_fails: 3, fail_timeout: 30_000 });
    expect(passive("passive = { max_fails = 0 }")).toStrictEqual({ max_fails: 0, fail_timeout: 30_000 });
  });

  test("retries 0 to 10", () => {
    expect(parse(upstream("retries = 10")).upstreams[0]!.retries).toBe(10);
    expect(parse(upstream("retries = 0")).upstreams[0]!.retries).toBe(0);
    expect(problemsOf(upstream("retries = -1"))).toEqual(["upstreams[0].retries: expected an integer from 0 to 10"]);
  });
});

test("duplicate upstream names", () => {
  expect(
    problemsOf(`${upstream("")}${upstream("")}[[upstreams]]\nname = "other"\ntargets = [{ url = "http://b" }]\n${upstream("")}`),
  ).toEqual([
    'upstreams[1].name: duplicate upstream name "api" (also upstreams[0])',
    'upstreams[3].name: duplicate upstream name "api" (also upstreams[0])',
  ]);
});

test("target URL messages never echo credentials", () => {
  expect(problemsOf(upstream("", '[{ url = "ftp://u:hunter2@h" }]'))).toEqual([
    'upstreams[0].targets[0].url: expected an http:// or https:// URL such as "http://127.0.0.1:3001", got "ftp://***@h"',
  ]);
});
