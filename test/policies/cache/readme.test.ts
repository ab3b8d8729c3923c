// The README's "Response cache" TOML example, as printed, is a valid config with the values it documents.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DEFAULTS } from "../../../src/policies/cache/config.ts";
import { testConfig } from "../../helpers/config.ts";

const readme = readFileSync(join(import.meta.dir, "../../../README.md"), "utf8");
const section = readme.slice(readme.indexOf("\n### Response cache: `[cache]` and route `cache`\n"), readme.indexOf("\n#### The Redis tier"));

test("README Response cache example parses as documented", () => {
  const block = /```toml\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block).toBeDefined();
  const c = testConfig(`[[upstreams]]\nname = "users"\ntargets = [{ url = "http://127.0.0.1:3001" }]\n${block}`);
  expect(c.cache).toEqual({ size: 256 * 1024 * 1024, max_object_size: 8 * 1024 * 1024, lock_timeout: 5000, redis: false });
  expect(c.routes[0]!.cache).toEqual({ ttl: 60_000, stale_while_revalidate: 30_000, stale_if_error: 300_000 });
});

test("README [cache] table states the defaults the code has", () => {
  const row = (key: string) => new RegExp(`\\| \`${key}\` \\| \`"?([^"\`]*)"?\` \\|`).exec(section)?.[1];
  expect(row("size")).toBe(`${CACHE_DEFAULTS.size / 1024 / 1024}MB`);
  expect(row("max_object_size")).toBe(`${CACHE_DEFAULTS.max_object_size / 1024 / 1024}MB`);
  expect(row("lock_timeout")).toBe(`${CACHE_DEFAULTS.lock_timeout / 1000}s`);
  expect(row("redis")).toBe(String(CACHE_DEFAULTS.redis));
});
