import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/errors.ts";
import { testConfig } from "../../helpers/config.ts";

const base = (route: string, extra = "") => `
[server]
listen = "127.0.0.1:0"
${extra}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
timeouts = { read = "30s" }
[[routes]]
name = "r"
path = "/api/*"
upstream = "u"
${route}
`;

function problemsOf(toml: string): string[] {
  try {
    testConfig(toml);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("idempotency config", () => {
  test("defaults: off on a route without the key; required false, ttl 24h, POST and PATCH, lock_timeout 1m, no wait_in_flight", () => {
    expect(testConfig(base("")).routes[0]!.idempotency).toBeNull();
    expect(testConfig(base("idempotency = {}")).routes[0]!.idempotency).toEqual({ required: false, ttl: 86_400_000, methods: ["POST", "PATCH"], lock_timeout: 60_000, wait_in_flight: 0 });
    const c = testConfig(base('idempotency = { required = true, ttl = "10m", methods = ["post"], lock_timeout = "45s", wait_in_flight = "2500ms" }'));
    expect(c.routes[0]!.idempotency).toEqual({ required: true, ttl: 600_000, methods: ["POST"], lock_timeout: 45_000, wait_in_flight: 2500 });
    expect(c.idempotency).toEqual({ size: 64 * 1024 * 1024, max_response_size: 1024 * 1024, store: "memory" });
  });

  test("the store is Redis when [redis] is set, unless told otherwise", () => {
    const redis = '[redis]\nurl = "redis://127.0.0.1:6379"';
    expect(testConfig(base("idempotency = {}") + redis).idempotency!.store).toBe("redis");
    expect(testConfig(base("idempotency = {}") + redis + '\n[idempotency]\nstore = "memory"').idempotency!.store).toBe("memory");
  });

  test("bad values are reported with their key paths", () => {
    expect(problemsOf(base('idempotency = { ttl = "soon" }'))[0]).toMatch(/^routes\[0\]\.idempotency\.ttl: /);
    expect(problemsOf(base('idempotency = { ttl = "0s" }'))).toContain("routes[0].idempotency.ttl: must be greater than 0");
    expect(problemsOf(base('idempotency = { lock_timeout = "0s" }'))).toContain("routes[0].idempotency.lock_timeout: must be greater than 0");
    expect(problemsOf(base('idempotency = { wait_in_flight = "a while" }'))[0]).toMatch(/^routes\[0\]\.idempotency\.wait_in_flight: /);
    expect(problemsOf(base("idempotency = { wait_in_flight = 5 }"))[0]).toMatch(/^routes\[0\]\.idempotency\.wait_in_flight: /);
    expect(problemsOf(base("idempotency = { required = \"yes\" }"))).toEqual(["routes[0].idempotency.required: expected true or false"]);
    expect(problemsOf(base("idempotency = { methods = [] }"))).toEqual(["routes[0].idempotency.methods: expected a non-empty list of methods"]);
    expect(problemsOf(base('idempotency = { methods = ["POST", "post"] }'))).toEqual(["routes[0].idempotency.methods[1]: lists POST twice"]);
    expect(problemsOf(base('idempotency = { methods = ["PO ST"] }'))).toEqual(['routes[0].idempotency.methods[0]: invalid method name "PO ST"']);
    expect(problemsOf(base('methods = ["POST"]\nidempotency = { methods = ["PATCH"] }'))).toEqual(["routes[0].idempotency.methods[0]: PATCH is not one of the route's methods (POST)"]);
    expect(problemsOf(base("idempotency = { ttl = \"1h\", colour = 1 }"))).toEqual(["routes[0].idempotency.colour: unknown key"]);
    expect(problemsOf(base("idempotency = true"))).toEqual(["routes[0].idempotency: expected a table"]);
  });

  test("[idempotency] section problems", () => {
    expect(problemsOf(base("idempotency = {}") + '\n[idempotency]\nstore = "redis"')).toEqual(['idempotency.store: "redis" needs a [redis] section']);
    expect(problemsOf(base("idempotency = {}") + '\n[idempotency]\nstore = "disk"')[0]).toMatch(/^idempotency\.store: expected one of "memory", "redis"/);
    expect(problemsOf(base("idempotency = {}") + '\n[idempotency]\nsize = "1MB"\nmax_response_size = "2MB"')).toEqual(["idempotency.max_response_size: must be smaller than idempotency.size"]);
    expect(problemsOf(base("idempotency = {}") + '\n[idempotency]\nsize = "big"')[0]).toMatch(/^idempotency\.size: /);
  });

  test("a lock_timeout shorter than the upstream read timeout is refused (a retry could run while the first is in flight)", () => {
    const p = problemsOf(base('idempotency = { lock_timeout = "10s" }'));
    expect(p).toEqual([
      "routes[0].idempotency.lock_timeout: 10000ms is shorter than the route's upstream read timeout (30000ms): a retry could run while the first request is still in flight",
    ]);
    expect(problemsOf(base('timeout = "5s"\nidempotency = { lock_timeout = "10s" }'))).toEqual([]);
  });
});
