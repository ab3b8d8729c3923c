import { describe, expect, test } from "bun:test";
import { parse, problemsOf, route, withUpstream } from "./helpers.ts";

const JWT = '[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\n';

function limits(list: string, auth = "none"): string {
  return withUpstream(JWT + route(`auth = "${auth}"\nrate_limits = [${list}]`));
}

describe("keys", () => {
  test.each([
    ['"ip"', ["ip"]],
    ['"route"', ["route"]],
    ['"global"', ["global"]],
    ['"consumer"', ["consumer"]],
    ['"header:X-Tenant"', ["header:x-tenant"]],
    ['"claim:tenant_id"', ["claim:tenant_id"]],
    ['["ip", "header:X-Tenant"]', ["ip", "header:x-tenant"]],
  ])("key %s → %p", (key, normalized) => {
    const config = parse(limits(`{ algorithm = "fixed_window", limit = 1, window = "1s", key = ${key} }`, "jwt"));
    expect(config.routes[0]!.rate_limits[0]!.key).toEqual(normalized);
  });

  test.each(["user", "header:", "header:bad name", "claim:", "IP", "cookie:x"])("key %p is refused", (key) => {
    expect(problemsOf(limits(`{ algorithm = "fixed_window", limit = 1, window = "1s", key = "${key}" }`, "jwt"))).toEqual([
      `routes[0].rate_limits[0].key: invalid key ${JSON.stringify(key)} (expected ip, consumer, route, global, header:NAME or claim:NAME)`,
    ]);
  });

  test("list keys: each part checked, duplicates and empty lists refused", () => {
    expect(
      problemsOf(
        limits(
          `{ algorithm = "fixed_window", limit = 1, window = "1s", key = ["ip", "nope", "header:A", "header:a"] },
           { algorithm = "fixed_window", limit = 1, window = "1s", key = [] }`,
          "jwt",
        ),
      ),
    ).toEqual([
      'routes[0].rate_limits[0].key[1]: invalid key "nope" (expected ip, consumer, route, global, header:NAME or claim:NAME)',
      'routes[0].rate_limits[0].key[3]: duplicate key part "header:a"',
      "routes[0].rate_limits[1].key: expected at least one key part",
    ]);
  });

  test("consumer and claim keys need an identity", () => {
    expect(
      problemsOf(
        limits(
          `{ algorithm = "fixed_window", limit = 1, window = "1s", key = "consumer" },
           { algorithm = "fixed_window", limit = 1, window = "1s", key = ["ip", "claim:sub"] }`,
        ),
      ),
    ).toEqual([
      'routes[0].rate_limits[0].key: key "consumer" needs the route to authenticate (auth is "none")',
      'routes[0].rate_limits[1].key[1]: key "claim:sub" needs auth = "jwt" or "any" (auth is "none")',
    ]);
    expect(
      problemsOf(
        withUpstream(
          '[[consumers]]\nname = "c"\napi_keys = ["k"]\n' +
            route('auth = "api_key"\nrate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1s", key = "claim:sub" }]'),
        ),
      ),
    ).toEqual(['routes[0].rate_limits[0].key: key "claim:sub" needs auth = "jwt" or "any" (auth is "api_key")']);
  });
});

describe("algorithm-specific fields", () => {
  test("burst defaults: limit for token_bucket, 0 otherwise", () => {
    const [tb, lb, fw] = parse(
      limits(`{ algorithm = "token_bucket", limit = 7, window = "1s" },
              { algorithm = "leaky_bucket", limit = 7, window = "1s" },
              { algorithm = "fixed_window", limit = 7, window = "1s" }`),
    ).routes[0]!.rate_limits;
    expect([tb!.burst, lb!.burst, fw!.burst]).toEqual([7, 0, 0]);
  });

  test("burst only for token_bucket (at least 1) and leaky_bucket (0 allowed)", () => {
    expect(
      problemsOf(
        limits(`{ algorithm = "sliding_window", limit = 1, window = "1s", burst = 5 },
                { algorithm = "token_bucket", limit = 1, window = "1s", burst = 0 },
                { algorithm = "leaky_bucket", limit = 1, window = "1s", burst = 0 }`),
      ),
    ).toEqual([
      "routes[0].rate_limits[0].burst: only used by token_bucket and leaky_bucket",
      "routes[0].rate_limits[1].burst: must be at least 1 for token_bucket (it is the bucket's capacity)",
    ]);
  });

  test("delay only for leaky_bucket", () => {
    expect(parse(limits('{ algorithm = "leaky_bucket", limit = 1, window = "1s", delay = true }')).routes[0]!.rate_limits[0]!.delay).toBe(
      true,
    );
    expect(problemsOf(limits('{ algorithm = "token_bucket", limit = 1, window = "1s", delay = false }'))).toEqual([
      "routes[0].rate_limits[0].delay: only used by leaky_bucket",
    ]);
  });

  test("concurrency has no window; every other algorithm needs one above 0", () => {
    expect(parse(limits('{ algorithm = "concurrency", limit = 4 }')).routes[0]!.rate_limits[0]!.window).toBe(0);
    expect(
      problemsOf(
        limits(`{ algorithm = "concurrency", limit = 4, window = "1s" },
                { algorithm = "fixed_window", limit = 4 },
                { algorithm = "fixed_window", limit = 4, window = "0s" }`),
      ),
    ).toEqual([
      "routes[0].rate_limits[0].window: not used by the concurrency algorithm",
      "routes[0].rate_limits[1].window: required key missing",
      "routes[0].rate_limits[2].window: must be greater than 0",
    ]);
  });

  test("adaptive: defaults and checks", () => {
    const [a, b] = parse(
      limits(`{ algorithm = "token_bucket", limit = 1, window = "1s", adaptive = {} },
              { algorithm = "token_bucket", limit = 1, window = "1s", adaptive = { lag_threshold = "100ms", min_factor = 1 } }`),
    ).routes[0]!.rate_limits;
    expect(a!.adaptive).toEqual({ lag_threshold: 50, min_factor: 0.25 });
    expect(b!.adaptive).toEqual({ lag_threshold: 100, min_factor: 1 });
    expect(
      problemsOf(limits('{ algorithm = "token_bucket", limit = 1, window = "1s", adaptive = { lag_threshold = "0ms", min_factor = 1.5 } }')),
    ).toEqual([
      "routes[0].rate_limits[0].adaptive.min_factor: expected a number greater than 0 and at most 1",
      "routes[0].rate_limits[0].adaptive.lag_threshold: must be greater than 0",
    ]);
  });
});

test("ids: <route>#<index> and consumer:<name>#<index>", () => {
  const config = parse(
    withUpstream(
      route('rate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1s" }, { algorithm = "concurrency", limit = 2 }]', "users") +
        '[[consumers]]\nname = "app"\nrate_limits = [{ algorithm = "token_bucket", limit = 5, window = "1m" }, { algorithm = "concurrency", limit = 1 }]',
    ),
  );
  expect(config.routes[0]!.rate_limits.map((l) => l.id)).toEqual(["users#0", "users#1"]);
  expect(config.consumers[0]!.rate_limits.map((l) => l.id)).toEqual(["consumer:app#0", "consumer:app#1"]);
  expect(config.consumers[0]!.rate_limits[0]!.key).toEqual(["consumer"]);
});

test("calendar quotas: whole days", () => {
  const config = parse(limits('{ algorithm = "fixed_window", limit = 10000, window = "30d" }'));
  expect(config.routes[0]!.rate_limits[0]!.window).toBe(30 * 86_400_000);
});
