// The cache's config keys: defaults, every bad value with its key path.
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/errors.ts";
import { testConfig } from "../../helpers/config.ts";

const BASE = `
[server]
listen = "127.0.0.1:0"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
`;
const route = (extra: string) => `${BASE}\n[[routes]]\nname = "r"\npath = "/*"\nupstream = "u"\n${extra}\n`;

function problems(toml: string): string[] {
  try {
    testConfig(toml);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("route cache", () => {
  test("absent or false: null; true or {}: RFC 9111 alone; a table: its durations in ms", () => {
    expect(testConfig(route("")).routes[0]!.cache).toBeNull();
    expect(testConfig(route("cache = false")).routes[0]!.cache).toBeNull();
    expect(testConfig(route("cache = true")).routes[0]!.cache).toEqual({ ttl: 0, stale_while_revalidate: 0, stale_if_error: 0 });
    expect(testConfig(route("cache = {}")).routes[0]!.cache).toEqual({ ttl: 0, stale_while_revalidate: 0, stale_if_error: 0 });
    expect(testConfig(route('cache = { ttl = "60s", stale_while_revalidate = "30s", stale_if_error = "5m" }')).routes[0]!.cache).toEqual({
      ttl: 60_000,
      stale_while_revalidate: 30_000,
      stale_if_error: 300_000,
    });
  });
  test("bad values name their key path", () => {
    expect(problems(route('cache = { ttl = "soon" }'))).toEqual(['routes[0].cache.ttl: invalid duration "soon" (expected a number and a unit: ms, s, m, h, d)']);
    expect(problems(route("cache = { stale_if_error = 5 }"))).toEqual(['routes[0].cache.stale_if_error: expected a duration string such as "250ms", "5s", "1m", "24h"']);
    expect(problems(route('cache = { ttl = "1s", tll = "2s" }'))).toEqual(["routes[0].cache.tll: unknown key"]);
    expect(problems(route('cache = "yes"'))).toEqual(["routes[0].cache: expected a cache table, true or false"]);
  });
});

describe("[cache]", () => {
  test("defaults", () => {
    expect(testConfig(BASE).cache).toEqual({ size: 64 * 1024 * 1024, max_object_size: 8 * 1024 * 1024, redis: false, lock_timeout: 5000 });
    expect(testConfig(`${BASE}\n[cache]\nsize = "256MB"\nmax_object_size = "1MB"\nlock_timeout = "2s"\n`).cache).toEqual({
      size: 256 * 1024 * 1024,
      max_object_size: 1024 * 1024,
      redis: false,
      lock_timeout: 2000,
    });
  });
  test("redis = true with a [redis] section: the second tier is on", () => {
    const c = testConfig(`${BASE}\n[redis]\nurl = "redis://127.0.0.1:6379"\n[cache]\nredis = true\n`);
    expect(c.cache.redis).toBe(true);
    expect(testConfig(`${BASE}\n[redis]\nurl = "redis://127.0.0.1:6379"\n`).cache.redis).toBe(false);
  });
  test("bad values name their key path", () => {
    expect(problems(`${BASE}\n[cache]\nsize = "lots"\n`)).toEqual(['cache.size: invalid size "lots" (expected a number and a unit: B, KB, MB, GB)']);
    expect(problems(`${BASE}\n[cache]\nsize = "100KB"\n`)).toEqual(["cache.size: must be at least 1MB"]);
    expect(problems(`${BASE}\n[cache]\nsize = "4MB"\nmax_object_size = "2MB"\n`)).toEqual(["cache.max_object_size: must be between 1B and a quarter of cache.size"]);
    expect(problems(`${BASE}\n[cache]\nredis = true\n`)).toEqual(["cache.redis: the Redis second tier needs a [redis] section (its url); add one or set redis = false"]);
    expect(problems(`${BASE}\n[cache]\nredis = "yes"\n`)).toEqual(["cache.redis: expected true or false"]);
    expect(problems(`${BASE}\n[cache]\nsizee = "1MB"\n`)).toEqual(["cache.sizee: unknown key"]);
  });
});
