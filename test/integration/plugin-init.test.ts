// `./gateway plugin init NAME`: the starter plugin and its types, type-checked by tsc with no package install,
// then loaded by the compiled binary and run (run `bun run build` first).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGatewayAt } from "../helpers/gateway.ts";

const GATEWAY = join(import.meta.dir, "../../gateway");
const TSC = join(import.meta.dir, "../../node_modules/typescript/bin/tsc");
const dir = mkdtempSync(join(tmpdir(), "plugin-init-"));
const run = (args: string[]) => {
  const r = Bun.spawnSync([GATEWAY, ...args], { cwd: dir });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
};

let upstream: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
});
afterAll(() => upstream.stop(true));

test("init writes plugins/NAME.ts and gateway-plugin.d.ts; a second init refuses to overwrite", () => {
  const r = run(["plugin", "init", "audit"]);
  expect(r.code).toBe(0);
  expect(existsSync(join(dir, "plugins/audit.ts"))).toBe(true);
  expect(readFileSync(join(dir, "plugins/gateway-plugin.d.ts"), "utf8")).toContain('declare module "gateway:plugin"');
  const again = run(["plugin", "init", "audit"]);
  expect(again.code).not.toBe(0);
  expect(again.out).toContain("audit.ts");
});

test("bad command lines are exit 2 with the usage", () => {
  for (const args of [["plugin"], ["plugin", "init"], ["plugin", "make", "x"], ["plugin", "init", "x", "--bogus"]]) {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.out).toContain("usage: gateway plugin init NAME");
  }
});

test("the starter type-checks with tsc and only its own d.ts; a type error in it is reported", () => {
  const tsc = (file: string) =>
    Bun.spawnSync(["bun", TSC, "--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", file], { cwd: dir });
  const ok = tsc("plugins/audit.ts");
  expect(ok.stdout.toString() + ok.stderr.toString()).toBe("");
  expect(ok.exitCode).toBe(0);
  const text = readFileSync(join(dir, "plugins/audit.ts"), "utf8");
  writeFileSync(join(dir, "plugins/wrong.ts"), text.replace("config.header", "config.nosuchkey"));
  const bad = tsc("plugins/wrong.ts");
  expect(bad.exitCode).not.toBe(0);
  expect(bad.stdout.toString()).toContain("nosuchkey");
});

test("the starter passes --check, runs in the binary (403 on deny, header stamped), and its counter is on /metrics", async () => {
  const config = `
[server]
listen = "127.0.0.1:0"
access_log = false
[metrics]
listen = "127.0.0.1:0"
[[plugins]]
name = "audit"
path = "plugins/audit.ts"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
plugins = [{ name = "audit", config = { header = "x-audit" } }]
`;
  writeFileSync(join(dir, "config.toml"), config);
  const c = run(["--check", "--config", join(dir, "config.toml")]);
  expect(c.code).toBe(0);
  const bad = join(dir, "bad.toml");
  writeFileSync(bad, config.replace('config = { header = "x-audit" }', "config = { header = 7 }"));
  const b = run(["--check", "--config", bad]);
  expect(b.code).not.toBe(0);
  expect(b.out).toContain("routes[0].plugins[0].config.header");

  const gw = await startGatewayAt(join(dir, "config.toml"), { binary: true });
  try {
    const ok = await fetch(`${gw.url}/a`);
    expect(await ok.text()).toBe("ok");
    expect(ok.headers.get("x-audit")).toBe("audit");
    const denied = await fetch(`${gw.url}/a`, { headers: { "x-audit": "deny" } });
    expect(denied.status).toBe(403);
    expect((await denied.json()) as Record<string, unknown>).toMatchObject({ error: "forbidden", message: "denied by audit" });
    const metrics = await (await fetch(gw.metricsUrl!)).text();
    expect(metrics).toMatch(/^audit_requests_total\{route="r"\} 2$/m);
  } finally {
    await gw.stop();
  }
});
