import { describe, expect, test } from "bun:test";
import { TLS_DEFAULT_CIPHERS } from "../../src/config/normalize-tls.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, parseConfig } from "../../src/config/load.ts";
import type { GatewayConfig } from "../../src/config/types.ts";
import { ConfigError } from "../../src/errors.ts";
import { FIXTURES, problemsOf } from "./helpers.ts";

async function loadProblems(path: string, env: Record<string, string> = {}): Promise<string[]> {
  try {
    await loadConfig(path, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const SERVER_500 = Array.from({ length: 100 }, (_, i) => 500 + i);

const BENCH_DEFAULTS = { duration: 5000, connections: 16, rate: 0, warmup: 1000, ramp_steps: 5, faults: [], budget: null, stub: { latency: 0, body: 1024 }, headers: {}, params: {}, requests: {} };

describe("reading the file", () => {
  test("a missing file", async () => {
    const path = join(FIXTURES, "does-not-exist.toml");
    expect(await loadProblems(path)).toEqual([`cannot read config file "${path}": no such file or directory`]);
  });

  test("a directory", async () => {
    expect(await loadProblems(FIXTURES)).toEqual([`cannot read config file "${FIXTURES}": is a directory`]);
  });

  // Tests run as root in CI, where a mode-000 file is still readable; a path
  // through a regular file fails to open for every user, so it stands in for
  // "cannot open" and exercises the same error path.
  test("a path that cannot be opened", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-config-"));
    const file = join(dir, "plain.toml");
    writeFileSync(file, "");
    const path = join(file, "nested.toml");
    try {
      expect(await loadProblems(path)).toEqual([`cannot read config file "${path}": a parent is not a directory`]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("the error is a ConfigError whose message is the problem", async () => {
    const err = await loadConfig("/nonexistent/gateway.toml").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('cannot read config file "/nonexistent/gateway.toml": no such file or directory');
  });
});

describe("TOML syntax errors", () => {
  test.each([
    ['a = 1\nb = [1,\nc = "x"\n', 'cfg.toml: invalid TOML at line 3: Strings must be quoted: "c"'],
    ['[server]\nlisten = "a"\nlisten = "b"\n', "cfg.toml: invalid TOML at line 3: Cannot redefine key 'listen'"],
    ['[server]\nlisten = "a\nworkers = 1\n', "cfg.toml: invalid TOML at line 2: Unterminated string; newlines must be escaped in basic strings"],
    ["[jwt]\nsecret = \"s\"\n[[jwt]]\nsecret = \"t\"\n", "cfg.toml: invalid TOML at line 3: Cannot redefine table 'jwt' as an array of tables"],
    ['s = """\nabc\n"""\nt = """\nxyz\n', "cfg.toml: invalid TOML at line 4: Unterminated string"],
    ["[server]\nworkers =\n", "cfg.toml: invalid TOML at line 2: Missing value after '='; values must be on the same line"],
  ])("%p", (text, message) => {
    let problems: string[] = [];
    try {
      parseConfig(text, "cfg.toml", {});
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems).toEqual([message]);
  });

  test("through loadConfig, the message names the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-config-"));
    const path = join(dir, "gateway.toml");
    writeFileSync(path, "[server]\nworkers = = 2\n");
    try {
      const [problem] = await loadProblems(path);
      expect(problem).toStartWith(`${path}: invalid TOML at line 2: `);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("TOML dates are refused with their key path", () => {
    expect(problemsOf("[server]\ndrain_timeout = 1979-05-27T07:32:00Z\n")).toEqual([
      "server.drain_timeout: TOML dates and times are not accepted (quote the value if it is a string)",
    ]);
  });
});

describe("the DESIGN.md example", () => {
  const env = { GATEWAY_ADMIN_TOKEN: "admin-token", MOBILE_APP_KEY: "mobile-key" };
  const path = join(FIXTURES, "design-example.toml");

  test("normalizes with every default filled", async () => {
    const config = await loadConfig(path, env);
    const expected: GatewayConfig = {
      server: {
        listen: "0.0.0.0:8080",
        host: "0.0.0.0",
        port: 8080,
        workers: 1,
        max_body_size: 10_485_760,
        max_header_size: 16_384,
        max_url_length: 8192,
        trusted_proxies: ["127.0.0.1/32"],
        tls: null,
        tls_min_version: "1.2",
        tls_ciphers: TLS_DEFAULT_CIPHERS,
        http2: true,
        hsts: null,
        drain_timeout: 30_000,
        idle_timeout: 60_000,
        access_log: true,
        health_path: "/__health",
        request_id_header: "x-request-id",
      },
      admin: { listen: "127.0.0.1:9901", host: "127.0.0.1", port: 9901, token: "admin-token", state_file: expect.stringMatching(/\/gateway-state\.json$/) },
      redis: {
        url: "redis://127.0.0.1:6379",
        mode: "sync",
        sync_interval: 50,
        on_error: "local",
        command_timeout: 100,
        key_prefix: "gw:",
      },
      upstreams: [
        {
          name: "users",
          balancer: "round_robin",
          hash_key: null,
          targets: [
            { url: "http://127.0.0.1:3001", protocol: "http:", host: "127.0.0.1", port: 3001, weight: 3, backup: false },
            { url: "http://127.0.0.1:3002", protocol: "http:", host: "127.0.0.1", port: 3002, weight: 1, backup: false },
            { url: "http://127.0.0.1:3003", protocol: "http:", host: "127.0.0.1", port: 3003, weight: 1, backup: true },
          ],
          health_check: { path: "/health", interval: 5000, timeout: 1000, healthy: 2, unhealthy: 3, expected_status: [200, 399] },
          passive: { max_fails: 3, fail_timeout: 30_000 },
          circuit_breaker: { failures: 5, open_for: 30_000, half_open_requests: 3, statuses: SERVER_500 },
          timeouts: { connect: 2000, read: 30_000, total: 0 },
          retries: 2,
          retry_budget: { ratio: 0.2, min_per_second: 10 },
          pool: { max_connections: 1024, idle_timeout: 60_000, max_queue: 1024, queue_timeout: 5000 },
          preserve_host: false,
        },
      ],
      routes: [
        {
          name: "users",
          hosts: [],
          path: "/api/users/*",
          methods: ["GET", "POST"],
          upstream: "users",
          strip_prefix: "/api",
          ip: null,
          cors: null,
          compression: null,
          cache: null,
          idempotency: null,
          auth: "jwt",
          roles: ["user"],
          scopes: [],
          method_roles: {},
          rate_limits: [
            {
              algorithm: "token_bucket",
              limit: 100,
              window: 60_000,
              burst: 20,
              key: ["consumer"],
              delay: false,
              adaptive: null,
              id: "users#0",
            },
          ],
          timeout: 0,
          match: null,
          aggregate: [],
          websocket: null,
          request: null,
          response: null,
          budget: null,
        },
      ],
      jwt: [
        {
          issuer: "https://auth.example.com/",
          audience: ["api"],
          jwks_url: "https://auth.example.com/.well-known/jwks.json",
          secret: null,
          public_key: null,
          algorithms: ["RS256"],
          clock_skew: 30_000,
          require_exp: true,
          consumer_claim: "consumer",
          roles_claim: "roles",
          scopes_claim: "scope",
          permissions_claim: "permissions",
          jwks_cooldown: 30_000,
          jwks_refresh: 600_000,
          max_token_size: 8192,
        },
      ],
      auth: {
        api_key_header: "x-api-key",
        api_key_query: null,
        strip_authorization: false,
        strip_api_key: false,
        forward_claims: {},
        revoked_jtis: [],
        revoked_api_keys: [],
        token_cache_size: 10_000,
      },
      consumers: [{ name: "mobile-app", api_keys: ["mobile-key"], roles: ["user"], rate_limits: [] }],
      rate_limit: { slots: 65_536, legacy_headers: true },
      cache: { size: 67_108_864, max_object_size: 8_388_608, redis: false, lock_timeout: 5000 },
      cors: null,
      compression: null,
      idempotency: { size: 64 * 1024 * 1024, max_response_size: 1024 * 1024, store: "redis" },
      ip: null,
      metrics: null,
      tracing: { propagate: true, accept: "any", otlp_url: null, sample_ratio: 1 },
      bench: BENCH_DEFAULTS,
      source: path,
    };
    expect(config).toEqual(expected);
  });

  test("is plain data: structured clone gives an equal object", async () => {
    const config = await loadConfig(path, env);
    expect(structuredClone(config)).toEqual(config);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  });

  test("with a route cache and idempotency keys, loads them", async () => {
    const text = await Bun.file(path).text();
    const withFutureKeys = text.replace(
      'rate_limits = [{ algorithm = "token_bucket"',
      'cache = { ttl = "60s" }\nidempotency = { required = true, ttl = "24h" }\nrate_limits = [{ algorithm = "token_bucket"',
    );
    expect(withFutureKeys).not.toBe(text);
    const config = parseConfig(withFutureKeys, path, env);
    const route = config.routes.find((r) => r.cache !== null)!;
    expect(route.cache).toEqual({ ttl: 60_000, stale_while_revalidate: 0, stale_if_error: 0 });
    expect(route.idempotency).not.toBeNull();
  });

  test("relative paths resolve against the config file, source is absolute", () => {
    const config = parseConfig(
      '[server]\ntls = { cert = "tls-cert.pem", key = "tls-key.pem" }\n',
      join(FIXTURES, "x.toml"),
      {},
    );
    expect(config.server.tls).toEqual([{ cert: join(FIXTURES, "tls-cert.pem"), key: join(FIXTURES, "tls-key.pem"), hosts: [] }]);
    expect(config.source).toBe(join(FIXTURES, "x.toml"));
  });
});

describe("defaults", () => {
  test("an empty file is a valid config of defaults", () => {
    const config = parseConfig("", "/etc/gateway/empty.toml", {});
    expect(config).toEqual({
      server: {
        listen: "0.0.0.0:8080",
        host: "0.0.0.0",
        port: 8080,
        workers: 1,
        max_body_size: 10_485_760,
        max_header_size: 16_384,
        max_url_length: 8192,
        trusted_proxies: [],
        tls: null,
        tls_min_version: "1.2",
        tls_ciphers: TLS_DEFAULT_CIPHERS,
        http2: true,
        hsts: null,
        drain_timeout: 30_000,
        idle_timeout: 60_000,
        access_log: true,
        health_path: "/__health",
        request_id_header: "x-request-id",
      },
      admin: null,
      redis: null,
      upstreams: [],
      routes: [],
      jwt: [],
      auth: {
        api_key_header: "x-api-key",
        api_key_query: null,
        strip_authorization: false,
        strip_api_key: false,
        forward_claims: {},
        revoked_jtis: [],
        revoked_api_keys: [],
        token_cache_size: 10_000,
      },
      consumers: [],
      rate_limit: { slots: 65_536, legacy_headers: true },
      cache: { size: 67_108_864, max_object_size: 8_388_608, redis: false, lock_timeout: 5000 },
      cors: null,
      compression: null,
      idempotency: { size: 64 * 1024 * 1024, max_response_size: 1024 * 1024, store: "memory" },
      ip: null,
      metrics: null,
      tracing: { propagate: true, accept: "any", otlp_url: null, sample_ratio: 1 },
      bench: BENCH_DEFAULTS,
      source: "/etc/gateway/empty.toml",
    });
  });

  test("the minimal fixture fills upstream and route defaults", async () => {
    const config = await loadConfig(join(FIXTURES, "minimal.toml"), {});
    expect(config.upstreams).toEqual([
      {
        name: "api",
        balancer: "round_robin",
        hash_key: null,
        targets: [{ url: "http://127.0.0.1:3001", protocol: "http:", host: "127.0.0.1", port: 3001, weight: 1, backup: false }],
        health_check: null,
        passive: null,
        circuit_breaker: null,
        timeouts: { connect: 2000, read: 30_000, total: 0 },
        retries: 1,
        retry_budget: { ratio: 0.2, min_per_second: 10 },
        pool: { max_connections: 1024, idle_timeout: 60_000, max_queue: 1024, queue_timeout: 5000 },
        preserve_host: false,
      },
    ]);
    expect(config.routes).toEqual([
      {
        name: "all",
        hosts: [],
        path: "/*",
        methods: [],
        upstream: "api",
        strip_prefix: null,
        ip: null,
        cors: null,
        compression: null,
        cache: null,
        idempotency: null,
        auth: "none",
        roles: [],
        scopes: [],
        method_roles: {},
        rate_limits: [],
        timeout: 0,
        match: null,
        aggregate: [],
        websocket: null,
        request: null,
        response: null,
        budget: null,
      },
    ]);
  });

  test("sub-tables given empty get their own defaults", () => {
    const config = parseConfig(
      `[[upstreams]]
name = "api"
targets = [{ url = "http://127.0.0.1:3001" }]
health_check = { path = "/" }
passive = {}
circuit_breaker = {}
[[routes]]
name = "r"
path = "/"
upstream = "api"
rate_limits = [
  { algorithm = "token_bucket", limit = 10, window = "1s" },
  { algorithm = "leaky_bucket", limit = 10, window = "1s", adaptive = {} },
  { algorithm = "sliding_window", limit = 10, window = "1s" },
]
[[consumers]]
name = "c"
rate_limits = [{ algorithm = "fixed_window", limit = 5, window = "1d" }]
[redis]
url = "redis://localhost"
[admin]
token = "t"`,
      "/x/y.toml",
      {},
    );
    const up = config.upstreams[0]!;
    expect(up.health_check).toEqual({ path: "/", interval: 5000, timeout: 1000, healthy: 2, unhealthy: 3, expected_status: [200, 399] });
    expect(up.passive).toEqual({ max_fails: 3, fail_timeout: 30_000 });
    expect(up.circuit_breaker).toEqual({ failures: 5, open_for: 30_000, half_open_requests: 1, statuses: SERVER_500 });
    const [tb, lb, sw] = config.routes[0]!.rate_limits;
    expect(tb).toEqual({ algorithm: "token_bucket", limit: 10, window: 1000, burst: 10, key: ["ip"], delay: false, adaptive: null, id: "r#0" });
    expect(lb).toEqual({
      algorithm: "leaky_bucket",
      limit: 10,
      window: 1000,
      burst: 0,
      key: ["ip"],
      delay: false,
      adaptive: { lag_threshold: 50, min_factor: 0.25 },
      id: "r#1",
    });
    expect(sw!.burst).toBe(0);
    expect(config.consumers[0]!.rate_limits).toEqual([
      { algorithm: "fixed_window", limit: 5, window: 86_400_000, burst: 0, key: ["consumer"], delay: false, adaptive: null, id: "consumer:c#0" },
    ]);
    expect(config.redis).toEqual({ url: "redis://localhost", mode: "sync", sync_interval: 50, on_error: "local", command_timeout: 100, key_prefix: "gw:" });
    expect(config.admin).toEqual({ listen: "127.0.0.1:9901", host: "127.0.0.1", port: 9901, token: "t", state_file: expect.stringMatching(/\/gateway-state\.json$/) });
  });

  test('workers = "auto" is the machine\'s core count', () => {
    const config = parseConfig('[server]\nworkers = "auto"', "/x.toml", {});
    expect(config.server.workers).toBe(navigator.hardwareConcurrency);
  });
});

describe("every key", () => {
  test("every-key.toml uses every accepted key and normalizes as written", async () => {
    const config = await loadConfig(join(FIXTURES, "every-key.toml"), {
      ADMIN_TOKEN: "t0k",
      JWT_SECRET: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      PARTNER_KEY: "pk",
    });
    const ecKey = await Bun.file(join(FIXTURES, "jwt-ec-p256-public.pem")).text();
    expect(config.server).toEqual({
      listen: "[::1]:8443",
      host: "::1",
      port: 8443,
      workers: 4,
      max_body_size: 1_048_576,
      max_header_size: 32_768,
      max_url_length: 4096,
      trusted_proxies: ["10.0.0.0/8", "::1/128", "192.168.1.1"],
      tls: [{ cert: join(FIXTURES, "tls-cert.pem"), key: join(FIXTURES, "tls-key.pem"), hosts: [] }],
      tls_min_version: "1.2",
      tls_ciphers: TLS_DEFAULT_CIPHERS,
      http2: true,
      hsts: null,
      drain_timeout: 10_000,
      idle_timeout: 120_000,
      access_log: false,
      health_path: "/healthz",
      request_id_header: "x-correlation-id",
    });
    expect(config.admin).toEqual({ listen: "127.0.0.1:0", host: "127.0.0.1", port: 0, token: "t0k", state_file: expect.stringMatching(/\/gateway-state\.json$/) });
    expect(config.redis).toEqual({
      url: "rediss://user:pass@redis.internal:6380/2",
      mode: "strict",
      sync_interval: 100,
      on_error: "deny",
      command_timeout: 250,
      key_prefix: "edge:",
    });
    expect(config.rate_limit).toEqual({ slots: 1024, legacy_headers: false });
    expect(config.auth).toEqual({
      api_key_header: "x-key",
      api_key_query: "api_key",
      strip_authorization: true,
      strip_api_key: true,
      forward_claims: { sub: "x-user-id", "https://example.com/tenant": "x-tenant" },
      revoked_jtis: ["jti-1"],
      revoked_api_keys: ["old-key"],
      token_cache_size: 500,
    });
    expect(config.upstreams).toEqual([
      {
        name: "shards",
        balancer: "hash",
        hash_key: "header:x-shard",
        targets: [
          { url: "https://[::1]:9443", protocol: "https:", host: "::1", port: 9443, weight: 5, backup: false },
          { url: "http://backend.internal", protocol: "http:", host: "backend.internal", port: 80, weight: 1, backup: true },
        ],
        health_check: { path: "/ready", interval: 10_000, timeout: 2000, healthy: 1, unhealthy: 5, expected_status: [204, 204] },
        passive: { max_fails: 10, fail_timeout: 60_000 },
        circuit_breaker: { failures: 20, open_for: 60_000, half_open_requests: 2, statuses: [502, 503] },
        timeouts: { connect: 500, read: 5000, total: 12_000 },
        retries: 0,
        retry_budget: { ratio: 0.5, min_per_second: 0 },
        pool: { max_connections: 64, idle_timeout: 30_000, max_queue: 0, queue_timeout: 1000 },
        preserve_host: true,
      },
    ]);
    expect(config.routes).toEqual([
      {
        name: "orders",
        hosts: ["api.example.com", "*.example.org"],
        path: "/v1/orders/:id",
        methods: ["GET", "PUT", "DELETE"],
        upstream: "shards",
        strip_prefix: "/v1",
        ip: null,
        cors: null,
        compression: null,
        cache: null,
        idempotency: null,
        auth: "any",
        roles: ["user", "admin"],
        scopes: ["orders:read"],
        method_roles: { DELETE: ["admin"] },
        timeout: 3000,
        match: null,
        aggregate: [],
        websocket: null,
        request: null,
        response: null,
        budget: null,
        rate_limits: [
          { algorithm: "leaky_bucket", limit: 10, window: 1000, burst: 5, key: ["ip", "header:x-tenant"], delay: true, adaptive: null, id: "orders#0" },
          {
            algorithm: "sliding_window",
            limit: 1000,
            window: 3_600_000,
            burst: 0,
            key: ["claim:sub"],
            delay: false,
            adaptive: { lag_threshold: 20, min_factor: 0.5 },
            id: "orders#1",
          },
          { algorithm: "fixed_window", limit: 100_000, window: 2_592_000_000, burst: 0, key: ["consumer"], delay: false, adaptive: null, id: "orders#2" },
          { algorithm: "concurrency", limit: 8, window: 0, burst: 0, key: ["global"], delay: false, adaptive: null, id: "orders#3" },
        ],
      },
    ]);
    expect(config.jwt).toEqual([
      {
        issuer: "https://a.example.com/",
        audience: ["api", "web"],
        jwks_url: null,
        secret: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        public_key: null,
        algorithms: ["HS256", "HS512"],
        clock_skew: 5000,
        require_exp: false,
        consumer_claim: "client_id",
        roles_claim: "groups",
        scopes_claim: "scp",
        permissions_claim: "perms",
        jwks_cooldown: 60_000,
        jwks_refresh: 3_600_000,
        max_token_size: 4096,
      },
      {
        issuer: "https://b.example.com/",
        audience: [],
        jwks_url: null,
        secret: null,
        public_key: ecKey,
        algorithms: ["ES256"],
        clock_skew: 30_000,
        require_exp: true,
        consumer_claim: "consumer",
        roles_claim: "roles",
        scopes_claim: "scope",
        permissions_claim: "permissions",
        jwks_cooldown: 30_000,
        jwks_refresh: 600_000,
        max_token_size: 8192,
      },
    ]);
    expect(config.consumers).toEqual([
      {
        name: "partner",
        api_keys: ["pk", "second-key"],
        roles: ["user"],
        rate_limits: [
          { algorithm: "token_bucket", limit: 50, window: 60_000, burst: 50, key: ["consumer"], delay: false, adaptive: null, id: "consumer:partner#0" },
        ],
      },
    ]);
  });
});
