/**
 * The public HTTP caching test suite (npm `http-cache-tests`, pinned by
 * scripts/ensure-http-cache-tests.sh): where it is installed, its origin
 * server and CLI as child processes (both Node), and its results scored the
 * way the suite's own display does (lib/display.mjs determineTestResult):
 * a test passes when its result is `true` and every test it `depends_on`
 * passed (or answered "yes"); `kind` absent or "required" counts as
 * required, "optimal" as optional, "check" as informational. The CLI, like
 * a reverse proxy run on cache-tests.fyi, skips `browser_only` tests.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
export const SUITE_VERSION = "0.4.5";
export const SUITE_DIR = process.env.HTTP_CACHE_TESTS_DIR ?? join(ROOT, ".tools/http-cache-tests");
export const SUITE_PKG = join(SUITE_DIR, "http-cache-tests");
const LOOPBACK = join(ROOT, "test/fixtures/http-cache-tests/loopback.mjs");

/** Installs the suite when it is not there yet (scripts/test.sh already did, normally). */
export function ensureSuite(): void {
  if (existsSync(join(SUITE_PKG, "cli.mjs")) && existsSync(join(SUITE_DIR, "node_modules/node-fetch"))) return;
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/ensure-http-cache-tests.sh")], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error("scripts/ensure-http-cache-tests.sh failed");
}

/** A test as the suite defines it (tests/*.mjs), the fields scoring needs. */
export interface SuiteTest {
  id: string;
  name: string;
  kind?: "required" | "optimal" | "check";
  depends_on?: string[];
  browser_only?: boolean;
}

/** The suites the CLI runs: tests/index.mjs plus the Surrogate-Control suite it appends. */
export async function loadSuite(): Promise<Map<string, SuiteTest>> {
  const index = (await import(join(SUITE_PKG, "tests/index.mjs"))).default as { tests: SuiteTest[] }[];
  const surrogate = (await import(join(SUITE_PKG, "tests/surrogate-control.mjs"))).default as { tests: SuiteTest[] };
  const all = new Map<string, SuiteTest>();
  for (const s of [...index, surrogate]) for (const t of s.tests) if (t.browser_only !== true) all.set(t.id, t);
  return all;
}

/** The CLI's JSON: test id → true, or [error name, message] ("Assertion", "Setup", …). */
export type Results = Record<string, true | [string, string]>;

type Outcome = "pass" | "fail" | "yes" | "no" | "setup" | "retry" | "dependency" | "untested";

export function outcome(tests: Map<string, SuiteTest>, results: Results, id: string): Outcome {
  const t = tests.get(id)!;
  const r = results[id];
  if (r === undefined) return "untested";
  for (const dep of t.depends_on ?? []) {
    const d = outcome(tests, results, dep);
    if (d !== "pass" && d !== "yes") return "dependency";
  }
  if (Array.isArray(r) && r[0] === "Setup") return r[1] === "retry" ? "retry" : "setup";
  if (t.kind === "check") return r === true ? "yes" : "no";
  return r === true ? "pass" : "fail";
}

export interface Score {
  required: { passed: number; total: number };
  optional: { passed: number; total: number };
  checks: { yes: number; total: number };
  /** Required tests not passed: id, outcome and the suite's message. */
  requiredFailures: { id: string; outcome: Outcome; message: string; name: string }[];
}

export function score(tests: Map<string, SuiteTest>, results: Results): Score {
  const s: Score = { required: { passed: 0, total: 0 }, optional: { passed: 0, total: 0 }, checks: { yes: 0, total: 0 }, requiredFailures: [] };
  for (const [id, t] of tests) {
    const o = outcome(tests, results, id);
    const kind = t.kind ?? "required";
    if (kind === "required") {
      s.required.total++;
      if (o === "pass") s.required.passed++;
      else {
        const r = results[id];
        const message = r === undefined ? "not run" : r === true ? `passed, but a test it depends on did not (${t.depends_on!.join(", ")})` : r[1];
        s.requiredFailures.push({ id, outcome: o, message, name: t.name });
      }
    } else if (kind === "optimal") {
      s.optional.total++;
      if (o === "pass") s.optional.passed++;
    } else {
      s.checks.total++;
      if (o === "yes") s.checks.yes++;
    }
  }
  return s;
}

export interface SuiteOrigin {
  url: string;
  stop(): Promise<void>;
}

/** The suite's origin server (server/server.mjs) on 127.0.0.1, port 0: the port it reports. */
export async function startSuiteOrigin(tmp: string): Promise<SuiteOrigin> {
  const proc = Bun.spawn(["node", "--import", LOOPBACK, join(SUITE_PKG, "server/server.mjs")], {
    cwd: tmp,
    // The server reads npm's config variables, as `npm run server` would set them.
    env: { ...process.env, npm_config_protocol: "http", npm_config_port: "0", npm_config_pidfile: join(tmp, "server.pid") },
    stdout: "pipe",
    stderr: "inherit",
  });
  let out = "";
  void (async () => {
    // Keep draining: the server logs a line per odd request and must never block on a full pipe.
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) if (out.length < 65536) out += dec.decode(chunk, { stream: true });
  })();
  const deadline = Date.now() + 10_000;
  let m: RegExpMatchArray | null = null;
  while ((m = out.match(/Listening on (http:\/\/127\.0\.0\.1:\d+)\//)) === null) {
    if (proc.exitCode !== null) throw new Error(`http-cache-tests origin exited with ${proc.exitCode}: ${out}`);
    if (Date.now() > deadline) throw new Error(`http-cache-tests origin did not start: ${out}`);
    await Bun.sleep(20);
  }
  return {
    url: m[1]!,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** The suite's CLI (cli.mjs) against `base`: every test, results as JSON on stdout. */
export async function runSuiteCli(base: string, timeoutMs: number): Promise<Results> {
  const proc = Bun.spawn(["node", "--no-warnings", join(SUITE_PKG, "cli.mjs")], {
    cwd: SUITE_PKG,
    // `npm run cli --base=…` sets these; an empty id means "all tests".
    env: { ...process.env, npm_config_base: base, npm_config_id: "", npm_package_config_id: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const start = stdout.indexOf("{");
  if (code !== 0 || start < 0) throw new Error(`http-cache-tests CLI exited with ${code}:\n${stderr}\n${stdout.slice(0, 2000)}`);
  return JSON.parse(stdout.slice(start)) as Results;
}
