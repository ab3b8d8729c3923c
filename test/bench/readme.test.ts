// The README's "Bench" TOML example, as printed, is a valid config.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testConfig } from "../helpers/config.ts";

test("README Bench example parses, budgets and [bench] as documented", () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Bench\n"), readme.indexOf("\n## Config reference\n"));
  const block = /```toml\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block).toBeDefined();
  const c = testConfig(`[[upstreams]]\nname = "users"\ntargets = [{ url = "http://127.0.0.1:3001" }]\n${block}`, { BENCH_TOKEN: "t", USERS_KEY: "k" });
  expect(c.routes[0]!.budget).toEqual({ p99: 5, overhead_p99: 1, min_rps: 5000 });
  expect(c.bench).toMatchObject({ duration: 5000, warmup: 1000, connections: 16, rate: 0, ramp_steps: 5, faults: [], budget: { p99: 20, max_failed: 0 } });
  expect(c.bench.stub).toEqual({ latency: 1, body: 1024 });
  expect(c.bench.headers).toEqual({ authorization: "Bearer t" });
  expect(c.bench.params).toEqual({ id: "42" });
  expect(c.bench.requests).toEqual({ users: { method: "GET", path: "/users/7?full=1", headers: { "x-api-key": "k" } } });
});
