import { describe, expect, test } from "bun:test";
import { parseLatency } from "../../src/bench/config.ts";
import { testConfig } from "../helpers/config.ts";

const BASE = `
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "r"
path = "/"
upstream = "u"
`;

const problems = (toml: string): string => {
  try {
    testConfig(toml);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the config to be refused");
};

describe("[bench] and route budget keys", () => {
  test("latencies below the millisecond; the route's budget over [bench] budget", () => {
    expect([parseLatency("500us"), parseLatency("1.5ms"), parseLatency("2s"), parseLatency("250µs")]).toEqual([0.5, 1.5, 2000, 0.25]);
    const c = testConfig(`${BASE}budget = { p99 = "500us", overhead_p99 = "1ms", min_rps = 5000 }
[bench]
duration = "2s"
connections = 8
faults = ["reload", "slow"]
budget = { p50 = "1ms", max_failed = 0 }
stub = { latency = "1ms", body = "2KB" }
headers = { authorization = "Bearer x" }
params = { id = "7" }
`);
    expect(c.routes[0]!.budget).toEqual({ p99: 0.5, overhead_p99: 1, min_rps: 5000 });
    expect(c.bench).toMatchObject({ duration: 2000, connections: 8, faults: ["reload", "slow"], budget: { p50: 1, max_failed: 0 }, stub: { latency: 1, body: 2048 } });
    expect(c.bench.headers).toEqual({ authorization: "Bearer x" });
    expect(c.bench.params).toEqual({ id: "7" });
  });

  test("bad values are refused with their key path", () => {
    expect(problems(`${BASE}budget = { p99 = "5 ms" }`)).toContain("routes[0].budget.p99");
    expect(problems(`${BASE}budget = { p98 = "5ms" }`)).toContain("routes[0].budget.p98");
    expect(problems(`${BASE}budget = { min_rps = 0 }`)).toContain("routes[0].budget.min_rps");
    expect(problems(`${BASE}[bench]\nfaults = ["meteor"]`)).toContain("bench.faults[0]");
    expect(problems(`${BASE}[bench]\nduration = "fast"`)).toContain("bench.duration");
    expect(problems(`${BASE}[bench]\nheaders = { authorization = 5 }`)).toContain("bench.headers.authorization");
    expect(problems(`${BASE}[bench]\nstub = { latency = "1 ms" }`)).toContain("bench.stub.latency");
    expect(problems(`${BASE}[bench.requests.r]\npath = "no-slash"`)).toContain("bench.requests.r.path");
    expect(problems(`${BASE}[bench.requests.r]\nmethod = "post"`)).toContain("bench.requests.r.method");
    expect(problems(`${BASE}[bench.requests.r]\nverb = "POST"`)).toContain("bench.requests.r.verb");
  });
});
