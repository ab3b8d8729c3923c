/**
 * `gateway bench` end to end: the real command (from source), its gateway
 * child, stub upstream processes and real sockets; short runs (about 2 s of
 * load in the longest test). The report it writes is opened in headless
 * Chromium to check the plots render.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function scratch(toml: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), "gw-bench-"));
  dirs.push(dir);
  const config = join(dir, "config.toml");
  writeFileSync(config, toml);
  return { dir, config };
}

async function bench(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, "bench", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const CONFIG = (budget: string) => `
[server]
listen = "127.0.0.1:8080"
workers = 1
access_log = false

[[upstreams]]
name = "api"
targets = [{ url = "http://127.0.0.1:3001" }, { url = "http://127.0.0.1:3002" }, { url = "http://127.0.0.1:3003" }]
retries = 2

[[routes]]
name = "users"
path = "/api/users/:id"
upstream = "api"
strip_prefix = "/api"
budget = ${budget}

[[routes]]
name = "other"
path = "/other"
upstream = "api"
`;

const SHORT = ["--stub", "--duration", "200ms", "--warmup", "100ms", "--connections", "4"];

describe("gateway bench", () => {
  test("a met budget: exit 0, the JSON report, the HTML report with plots that render, 0 failed through reloads and a killed target", async () => {
    const { dir, config } = scratch(CONFIG(`{ p99 = "2s", overhead_p99 = "2s", min_rps = 1 }`));
    const r = await bench(["--config", config, ...SHORT, "--route", "users", "--ramp-steps", "2", "--faults", "reload,target", "--json", "--out", dir], dir);
    expect(r.stderr).toContain("bench: route=users phase=");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(join(dir, "bench-report.json"), "utf8"))).toEqual(report);
    expect(report.pass).toBe(true);
    expect(report.routes.map((x: { name: string }) => x.name)).toEqual(["users"]);
    const route = report.routes[0];
    expect(route.path).toBe("/api/users/1");
    expect(route.closed.rps).toBeGreaterThan(0);
    expect(route.open.gateway.requests).toBeGreaterThan(0);
    expect(route.open.gateway.ok).toBe(route.open.gateway.requests);
    expect(route.open.direct.ok).toBe(route.open.direct.requests);
    for (const k of ["p50", "p90", "p99", "p999", "max"]) expect(route.open.gateway.latency[k]).toBeGreaterThan(0);
    expect(typeof route.overhead.p99).toBe("number");
    expect(route.ramp.length).toBeGreaterThanOrEqual(1);
    expect(route.checks.map((c: { key: string; pass: boolean }) => [c.key, c.pass])).toEqual([
      ["p99", true],
      ["overhead_p99", true],
      ["min_rps", true],
    ]);
    const faults = Object.fromEntries(report.faults.map((f: { name: string }) => [f.name, f]));
    expect(faults.reload.skipped).toBeNull();
    expect(faults.reload.events.at(-1).what).toBe("20 SIGHUPs sent");
    expect(faults.reload.failed).toBe(0);
    expect(faults.target.events.map((e: { what: string }) => e.what.replace(/http:\S+/, "URL"))).toEqual(["target URL killed", "target restarted"]);
    expect(faults.target.failed).toBe(0);
    expect(faults.target.after.requests).toBeGreaterThan(0);
    // The rewritten config is gone; the user's is untouched.
    expect(readFileSync(config, "utf8")).toContain('listen = "127.0.0.1:8080"');
    expect(readdirSync(dir).filter((f) => f.startsWith(".gateway-bench-"))).toEqual([]);

    // The HTML: self-contained, and drawn by a real browser.
    const html = readFileSync(join(dir, "bench-report.html"), "utf8");
    expect(html).not.toMatch(/<link|src="http|href="http|@import|url\(/);
    const dom = Bun.spawnSync(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom", `file://${join(dir, "bench-report.html")}`], {
      stdout: "pipe",
      stderr: "ignore",
      timeout: 30_000,
    });
    const out = dom.stdout.toString();
    const plots = [...out.matchAll(/<svg class="plot"[^>]*data-points="(\d+)"[^>]*data-marks-drawn="(\d+)"/g)];
    // Latency vs load, percentiles, and one timeline per fault.
    expect(plots.length).toBe(4);
    for (const [, points, drawn] of plots) {
      expect(Number(points)).toBeGreaterThan(0);
      expect(Number(drawn)).toBeGreaterThan(0);
    }
    expect(out).toContain('data-plots-rendered="4"');
  }, 40_000);

  test("a missed budget: exit 1, the summary says which", async () => {
    const { dir, config } = scratch(CONFIG(`{ p99 = "1us", min_rps = 1 }`));
    const r = await bench(["--config", config, ...SHORT, "--route", "users", "--ramp-steps", "0", "--no-report"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL p99 <= 1us: \S+/);
    expect(r.stdout).toContain("PASS min_rps >= 1 req/s");
    expect(r.stdout).toContain("RESULT: FAIL (1 of 2 budgets missed)");
    expect(existsSync(join(dir, "bench-report.json"))).toBe(false);
  }, 20_000);

  test("bad flags and configs: exit 2 with a clear message, before any load", async () => {
    const { dir, config } = scratch(CONFIG(`{ p99 = "1ms" }`));
    const cases: [string[], string][] = [
      [["--frobnicate"], 'unknown argument "--frobnicate"'],
      [["--config", config, "--duration", "soon"], '--duration: expected a duration like "500ms" or "5s", got "soon"'],
      [["--config", config, "--route", "nope"], '--route "nope": no such route'],
      [["--config", join(dir, "missing.toml")], "cannot read config file"],
      [["--config", config, "--target", "http://192.0.2.1:80"], "the bench sends load only to loopback or to hosts the config names as targets"],
    ];
    const bad = scratch(CONFIG(`{ p99 = "fast" }`));
    cases.push([["--config", bad.config], 'routes[0].budget.p99: expected a latency such as "500us"']);
    const stray = scratch(`${CONFIG(`{ p99 = "1ms" }`)}\n[bench.requests.ghost]\nmethod = "POST"\n`);
    cases.push([["--config", stray.config], 'bench.requests.ghost: no route named "ghost"']);
    for (const [args, message] of cases) {
      const r = await bench(args, dir);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
    }
  }, 20_000);

  test("credentials per route, the bench's own redis-server killed and restarted, a slow upstream: 0 failed", async () => {
    const { dir, config } = scratch(`
[server]
listen = "127.0.0.1:8080"
workers = 1
access_log = false

[redis]
url = "redis://127.0.0.1:1"
mode = "sync"
on_error = "local"

[[upstreams]]
name = "api"
targets = [{ url = "http://127.0.0.1:3001" }]

[[consumers]]
name = "ci"
api_keys = ["k-123"]

[[routes]]
name = "keyed"
path = "/keyed"
upstream = "api"
auth = "api_key"
rate_limits = [{ algorithm = "token_bucket", limit = 1000000, window = "1s", key = "consumer" }]

[[routes]]
name = "locked"
path = "/locked"
upstream = "api"
auth = "api_key"

[bench.requests.keyed]
headers = { x-api-key = "k-123" }
`);
    const r = await bench(["--config", config, ...SHORT, "--ramp-steps", "0", "--faults", "redis,slow", "--json", "--no-report"], dir);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const [keyed, locked] = report.routes;
    expect(keyed.open.gateway.statuses).toEqual({ "200": keyed.open.gateway.requests });
    expect(keyed.warnings).toEqual([]);
    expect(Object.keys(locked.open.gateway.statuses)).toEqual(["401"]);
    expect(locked.warnings[0]).toContain("most answers were 401");
    const faults = Object.fromEntries(report.faults.map((f: { name: string }) => [f.name, f]));
    expect(faults.redis.route).toBe("keyed");
    expect(faults.redis.events.map((e: { what: string }) => e.what)).toEqual(["redis-server killed", "redis-server restarted"]);
    expect(faults.redis.failed).toBe(0);
    expect(faults.slow.events.map((e: { what: string }) => e.what)).toEqual(["upstream 50 ms slower", "upstream back to normal"]);
    expect(faults.slow.failed).toBe(0);
    // 50 ms slower shows in the latency during the fault.
    expect(faults.slow.during.p99).toBeGreaterThan(50);
    expect(report.checks.map((c: { key: string; pass: boolean }) => [c.key, c.pass])).toEqual([
      ["fault:redis", true],
      ["fault:slow", true],
    ]);
  }, 30_000);

  test("--target with nothing listening: exit 3", async () => {
    const { dir, config } = scratch(CONFIG(`{ p99 = "1ms" }`));
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const r = await bench(["--config", config, "--target", `http://127.0.0.1:${port}`, "--no-report"], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`nothing answers at --target http://127.0.0.1:${port}`);
  }, 20_000);
});
