import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { parseConfig } from "../../src/config/load.ts";
import { ConfigSchema, RouteSchema } from "../../src/config/schema.ts";
import { ConfigError } from "../../src/errors.ts";
import { problemsOf, route, UPSTREAM, withUpstream } from "./helpers.ts";

describe("unknown keys", () => {
  test("at every depth, named by key path", () => {
    expect(
      problemsOf(`
colour = "blue"
[server]
listen = "0.0.0.0:8080"
lisen = "x"
tls = { cert = "tls-cert.pem", key = "tls-key.pem", chain = "c.pem" }
[[upstreams]]
name = "api"
targets = [{ url = "http://127.0.0.1:3001", wieght = 2 }]
health_check = { path = "/", intervall = "5s" }
[[routes]]
name = "r"
path = "/"
pathh = "/x"
upstream = "api"
rate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1s", adaptive = { lag = "5ms" } }]
`),
    ).toEqual([
      "colour: unknown key",
      "server.lisen: unknown key",
      "server.tls.chain: unknown key",
      "upstreams[0].targets[0].wieght: unknown key",
      "upstreams[0].health_check.intervall: unknown key",
      "routes[0].pathh: unknown key",
      "routes[0].rate_limits[0].adaptive.lag: unknown key",
    ]);
  });

  test("keys that need quotes in TOML are quoted in the path", () => {
    expect(problemsOf(withUpstream('[server]\n"max.body" = 1'))).toEqual(['server."max.body": unknown key']);
  });

  test("in [jwt] as a table and as a list", () => {
    expect(problemsOf(withUpstream('[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\nissuerr = "x"'))).toEqual([
      "jwt.issuerr: unknown key",
    ]);
    expect(problemsOf(withUpstream('[[jwt]]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\n[[jwt]]\nissuer = "b"\nsecret = "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"\nalgorithms = ["HS256"]\nfoo = 1'))).toEqual([
      "jwt[1].foo: unknown key",
      "jwt[0].issuer: required when several [[jwt]] issuers are configured",
    ]);
  });

  test("cache elsewhere is just an unknown key", () => {
    expect(problemsOf(withUpstream('[server]\ncache = true'))).toEqual(["server.cache: unknown key"]);
  });
});

describe("required keys", () => {
  test("are reported once each, without a type error on top", () => {
    expect(
      problemsOf(`
[admin]
[[upstreams]]
balancer = "random"
[[routes]]
methods = ["GET"]
[[consumers]]
roles = []
[redis]
mode = "sync"
`),
    ).toEqual([
      "admin.token: required key missing",
      "redis.url: required key missing",
      "upstreams[0].name: required key missing",
      "routes[0].name: required key missing",
      "routes[0].path: required key missing",
      "consumers[0].name: required key missing",
      // Checked after the schema: an upstream with discovery.dns_srv needs no targets of its own.
      "upstreams[0].targets: required key missing",
      // Checked after the schema: an aggregate route needs no upstream of its own.
      "routes[0].upstream: required key missing",
    ]);
  });

  test("rate limits need algorithm and limit, and a window unless concurrency", () => {
    expect(problemsOf(withUpstream(route("rate_limits = [{ key = \"ip\" }, { algorithm = \"token_bucket\", limit = 5 }]")))).toEqual([
      "routes[0].rate_limits[0].algorithm: required key missing",
      "routes[0].rate_limits[0].limit: required key missing",
      "routes[0].rate_limits[1].window: required key missing",
    ]);
  });
});

describe("types", () => {
  test.each([
    ["[server]\nlisten = 8080", "server.listen: expected a string"],
    ["[server]\nworkers = 0", 'server.workers: expected a positive integer or "auto"'],
    ["[server]\nworkers = 1.5", 'server.workers: expected a positive integer or "auto"'],
    ['[server]\nworkers = "all"', 'server.workers: expected a positive integer or "auto"'],
    ["[server]\naccess_log = \"yes\"", "server.access_log: expected true or false"],
    ["[server]\ntrusted_proxies = \"10.0.0.0/8\"", "server.trusted_proxies: expected a list of strings"],
    ["[server]\ntrusted_proxies = [\"10.0.0.0/8\", 7]", "server.trusted_proxies[1]: expected a string"],
    ["[server]\nmax_body_size = 1024", 'server.max_body_size: expected a size string such as "512B", "64KB", "10MB"'],
    ['[server]\nmax_body_size = "10 MB"', 'server.max_body_size: invalid size "10 MB" (expected a number and a unit: B, KB, MB, GB)'],
    ["[server]\ndrain_timeout = 30", 'server.drain_timeout: expected a duration string such as "250ms", "5s", "1m", "24h"'],
    ['[server]\ndrain_timeout = "5 s"', 'server.drain_timeout: invalid duration "5 s" (expected a number and a unit: ms, s, m, h, d)'],
    ['[server]\ndrain_timeout = "1.5ms"', 'server.drain_timeout: invalid duration "1.5ms" (not a whole number of milliseconds)'],
    ["[server]\ntls = \"cert.pem\"", "server.tls: expected a table { cert, key } or a non-empty list of them"],
    ["server = 1", "server: expected a table"],
    ['[redis]\nurl = "redis://h"\nmode = "async"', 'redis.mode: expected one of "sync", "strict"'],
    ['[redis]\nurl = "redis://h"\non_error = "fail"', 'redis.on_error: expected one of "local", "allow", "deny"'],
    ["[rate_limit]\nslots = 0", "rate_limit.slots: expected a positive integer"],
    ["[rate_limit]\nlegacy_headers = 1", "rate_limit.legacy_headers: expected true or false"],
    ["[auth]\ntoken_cache_size = -1", "auth.token_cache_size: expected an integer >= 0"],
    ['[auth]\napi_key_header = ""', "auth.api_key_header: expected a non-empty string"],
    ["[auth]\nforward_claims = { sub = 1 }", "auth.forward_claims.sub: expected a string"],
    ['[auth]\nforward_claims = "sub"', 'auth.forward_claims: expected a table of claim = "header"'],
    ["[[routes]]\nname = \"r\"\npath = \"/\"\nupstream = \"api\"\nauth = \"basic\"", 'routes[0].auth: expected one of "none", "jwt", "api_key", "any"'],
    ["upstreams = 5", "upstreams: expected a list of [[upstreams]] tables"],
    ["jwt = 5", "jwt: expected a [jwt] table or a list of [[jwt]] tables"],
  ])("%p", (toml, message) => {
    const base = toml.startsWith("upstreams") ? "" : UPSTREAM;
    expect(problemsOf(`${toml}\n${base}`)).toEqual([message]);
  });

  test("upstream fields", () => {
    expect(
      problemsOf(`
[[upstreams]]
name = ""
balancer = "fastest"
targets = [{ url = 5, weight = 0, backup = "no" }]
retries = 11
retry_budget = { ratio = 1.5, min_per_second = -1 }
pool = { max_connections = 0, max_queue = -1 }
health_check = { path = "/", healthy = 0, expected_status = true }
circuit_breaker = { statuses = [500, 600, "502"] }
preserve_host = "yes"
`),
    ).toEqual([
      "upstreams[0].name: expected a non-empty string",
      'upstreams[0].balancer: expected one of "round_robin", "weighted", "least_conn", "least_time", "ip_hash", "hash", "random"',
      "upstreams[0].targets[0].url: expected a string",
      "upstreams[0].targets[0].weight: expected a positive integer",
      "upstreams[0].targets[0].backup: expected true or false",
      "upstreams[0].health_check.healthy: expected a positive integer",
      'upstreams[0].health_check.expected_status: expected an HTTP status such as 200 or a range such as "200-399"',
      "upstreams[0].circuit_breaker.statuses[1]: expected an HTTP status from 100 to 599",
      "upstreams[0].circuit_breaker.statuses[2]: expected an HTTP status from 100 to 599",
      "upstreams[0].retries: expected an integer from 0 to 10",
      "upstreams[0].retry_budget.ratio: expected a number from 0 to 1",
      "upstreams[0].retry_budget.min_per_second: expected an integer >= 0",
      "upstreams[0].pool.max_connections: expected a positive integer",
      "upstreams[0].pool.max_queue: expected an integer >= 0",
      "upstreams[0].preserve_host: expected true or false",
    ]);
  });

  test("an empty target list", () => {
    expect(problemsOf('[[upstreams]]\nname = "api"\ntargets = []')).toEqual([
      "upstreams[0].targets: expected a non-empty list of targets",
    ]);
  });

  test("rate-limit fields", () => {
    expect(
      problemsOf(
        withUpstream(
          route(`rate_limits = [
  { algorithm = "leaky", limit = 0, window = "1s" },
  { algorithm = "leaky_bucket", limit = 1.5, window = 5, burst = -1, delay = "yes" },
  { algorithm = "token_bucket", limit = 1, window = "1s", key = 5 },
  { algorithm = "token_bucket", limit = 1, window = "1s", key = ["ip", 5] },
  { algorithm = "token_bucket", limit = 1, window = "1s", adaptive = { lag_threshold = "fast", min_factor = 0 } },
]`),
        ),
      ),
    ).toEqual([
      'routes[0].rate_limits[0].algorithm: expected one of "token_bucket", "sliding_window", "fixed_window", "leaky_bucket", "concurrency"',
      "routes[0].rate_limits[0].limit: expected a positive integer",
      "routes[0].rate_limits[1].limit: expected a positive integer",
      'routes[0].rate_limits[1].window: expected a duration string such as "250ms", "5s", "1m", "24h"',
      "routes[0].rate_limits[1].burst: expected an integer >= 0",
      "routes[0].rate_limits[1].delay: expected true or false",
      "routes[0].rate_limits[2].key: expected a string or a list of strings",
      "routes[0].rate_limits[3].key[1]: expected a string",
      'routes[0].rate_limits[4].adaptive.lag_threshold: invalid duration "fast" (expected a number and a unit: ms, s, m, h, d)',
      "routes[0].rate_limits[4].adaptive.min_factor: expected a number greater than 0 and at most 1",
    ]);
  });

  test("route list fields", () => {
    expect(
      problemsOf(withUpstream(route('hosts = "a.com"\nmethods = [1]\nroles = [""]\nscopes = "read"\nmethod_roles = { GET = "admin" }\ntimeout = 5\nauth = "jwt"\n[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]'))),
    ).toEqual([
      "routes[0].hosts: expected a list of strings",
      "routes[0].methods[0]: expected a string",
      "routes[0].roles[0]: expected a non-empty string",
      "routes[0].scopes: expected a list of strings",
      "routes[0].method_roles.GET: expected a list of strings",
      'routes[0].timeout: expected a duration string such as "250ms", "5s", "1m", "24h"',
    ]);
  });

  test("jwt fields", () => {
    expect(
      problemsOf(withUpstream('[jwt]\nissuer = ""\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = []\naudience = [1]\nrequire_exp = "no"\nmax_token_size = "8kb"')),
    ).toEqual([
      "jwt.issuer: expected a non-empty string",
      "jwt.audience[0]: expected a string",
      "jwt.algorithms: expected a non-empty list of algorithms",
      "jwt.require_exp: expected true or false",
      'jwt.max_token_size: invalid size "8kb" (expected a number and a unit: B, KB, MB, GB)',
    ]);
  });
});

describe("several problems at once", () => {
  test("schema and semantic problems from every section are reported together", () => {
    expect(
      problemsOf(`
[server]
workers = 0
listen = "0.0.0.0:99999"
[admin]
token = "\${GATEWAY_ADMIN_TOKEN}"
[[upstreams]]
name = "users"
targets = [{ url = "http://127.0.0.1:3001/v1" }]
[[upstreams]]
name = "users"
targets = [{ url = "http://127.0.0.1:3002" }]
[[routes]]
name = "a"
path = "/api/users"
upstream = "userz"
[[routes]]
name = "b"
pathh = "/x"
path = "/b"
upstream = "users"
`),
    ).toEqual([
      "admin.token: environment variable GATEWAY_ADMIN_TOKEN is not set",
      'server.workers: expected a positive integer or "auto"',
      "routes[1].pathh: unknown key",
      'server.listen: invalid port "99999" (expected 0-65535)',
      'upstreams[0].targets[0].url: must not have a path, query or fragment (a target is scheme://host:port), got "http://127.0.0.1:3001/v1"',
      'upstreams[1].name: duplicate upstream name "users" (also upstreams[0])',
      'routes[0].upstream: no upstream named "userz"',
    ]);
  });

  test("the ConfigError message lists them all", () => {
    const err = (() => {
      try {
        parseConfig("[server]\nworkers = 0\nfoo = 1", "x.toml", {});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      '2 problems:\n  server.foo: unknown key\n  server.workers: expected a positive integer or "auto"',
    );
  });
});

describe("the schemas as plain JSON Schema (for the admin API)", () => {
  test("a valid raw route passes, an unknown key does not", () => {
    expect(Value.Check(RouteSchema, { name: "r", path: "/", upstream: "u" })).toBe(true);
    expect(Value.Check(RouteSchema, { name: "r", path: "/", upstream: "u", pathh: "/" })).toBe(false);
    expect(Value.Check(ConfigSchema, { jwt: [{ secret: "s", algorithms: ["HS256"] }] })).toBe(true);
    expect(Value.Check(ConfigSchema, { server: { drain_timeout: "5 s" } })).toBe(false);
  });
});
