import { describe, expect, test } from "bun:test";
import { parseBenchArgs } from "../../src/bench/args.ts";

const ok = (argv: string[]) => {
  const r = parseBenchArgs(argv);
  if ("error" in r || "help" in r) throw new Error(JSON.stringify(r));
  return r;
};
const err = (argv: string[]) => {
  const r = parseBenchArgs(argv);
  if (!("error" in r)) throw new Error(`expected an error for ${argv.join(" ")}`);
  return r.error;
};

describe("gateway bench flags", () => {
  test("defaults leave every load key to the config", () => {
    const a = ok([]);
    expect(a.config).toBe("config.toml");
    expect(a.duration).toBeNull();
    expect(a.faults).toBeNull();
    expect(a.report).toBe(true);
  });

  test("values, inline values and repeatable flags", () => {
    const a = ok(["--config=x.toml", "--stub", "--stub-latency", "500us", "--stub-body", "2KB", "--duration", "1.5s", "--warmup", "0ms", "--route", "a", "--route", "b",
      "--header", "Authorization: Bearer abc", "--connections", "4", "--rate", "100", "--ramp-steps", "0", "--max-requests", "50", "--json", "--out", "/tmp/x", "--no-report"]);
    expect(a.config).toBe("x.toml");
    expect(a.stubLatency).toBe(0.5);
    expect(a.stubBody).toBe(2048);
    expect(a.duration).toBe(1500);
    expect(a.warmup).toBe(0);
    expect(a.routes).toEqual(["a", "b"]);
    expect(a.headers).toEqual([["Authorization", "Bearer abc"]]);
    expect([a.connections, a.rate, a.rampSteps, a.maxRequests]).toEqual([4, 100, 0, 50]);
    expect([a.json, a.out, a.report]).toEqual([true, "/tmp/x", false]);
  });

  test("--faults: alone means all, a list names some, unknown names are refused", () => {
    expect(ok(["--faults"]).faults).toEqual(["target", "reload", "redis", "slow"]);
    expect(ok(["--faults", "--json"]).faults).toEqual(["target", "reload", "redis", "slow"]);
    expect(ok(["--faults", "reload,slow"]).faults).toEqual(["reload", "slow"]);
    expect(ok(["--faults=all"]).faults).toHaveLength(4);
    expect(err(["--faults", "reload,meteor"])).toContain('unknown fault "meteor"');
  });

  test("--target must be an http URL; it excludes --stub", () => {
    expect(ok(["--target", "http://127.0.0.1:8080/ignored"]).target).toBe("http://127.0.0.1:8080");
    expect(err(["--target", "nope"])).toContain("--target: expected a URL");
    expect(err(["--target", "https://127.0.0.1"])).toContain("only http://");
    expect(err(["--stub", "--target", "http://127.0.0.1:1"])).toContain("exclude each other");
  });

  test("bad values name the flag", () => {
    expect(err(["--duration", "5 s"])).toContain("--duration: expected a duration");
    expect(err(["--duration", "0ms"])).toContain("--duration: must be at least 1ms");
    expect(err(["--connections", "0"])).toContain("--connections: expected 1-10000");
    expect(err(["--rate", "-5"])).toContain("--rate: expected a whole number");
    expect(err(["--stub-latency", "fast"])).toContain("--stub-latency: expected a latency");
    expect(err(["--stub-body", "big"])).toContain("--stub-body: expected a size");
    expect(err(["--header", "no colon"])).toContain('--header: expected "Name: value"');
    expect(err(["--config"])).toBe("--config needs a value");
    expect(err(["--route", "--json"])).toBe("--route needs a value");
    expect(err(["--frobnicate"])).toContain('unknown argument "--frobnicate"');
  });

  test("--help", () => {
    expect(parseBenchArgs(["--stub", "--help"])).toEqual({ help: true });
  });
});
