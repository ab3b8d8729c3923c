// The README's Idempotency-Key example, as printed, is a valid config that means what the section says.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testConfig } from "../../helpers/config.ts";

test("README Idempotency-Key example parses with the documented keys and defaults", () => {
  const readme = readFileSync(join(import.meta.dir, "../../../README.md"), "utf8");
  const start = readme.indexOf("\n### Idempotency-Key: route `idempotency`\n");
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf("\n### ", start + 10));
  const block = /```toml\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block).toBeDefined();
  const c = testConfig(`[[upstreams]]\nname = "payments"\ntargets = [{ url = "http://127.0.0.1:3001" }]\n\n[[consumers]]\nname = "shop"\napi_keys = ["k"]\n\n${block}`);
  expect(c.routes[0]!.idempotency).toEqual({ required: true, ttl: 86_400_000, methods: ["POST", "PATCH"], lock_timeout: 60_000, wait_in_flight: 5000 });
  expect(c.idempotency).toEqual({ size: 64 * 1024 * 1024, max_response_size: 1024 * 1024, store: "memory" });
  // Every route key the table documents is one the schema accepts, and the defaults are as printed.
  for (const key of ["required", "ttl", "methods", "lock_timeout", "wait_in_flight"]) expect(section).toContain(`| \`${key}\` |`);
  expect(testConfig(`[[upstreams]]\nname = "u"\ntargets = [{ url = "http://127.0.0.1:3001" }]\n[[routes]]\nname = "r"\npath = "/*"\nupstream = "u"\nidempotency = {}`).routes[0]!.idempotency).toEqual({
    required: false,
    ttl: 86_400_000,
    methods: ["POST", "PATCH"],
    lock_timeout: 60_000,
    wait_in_flight: 0,
  });
});
