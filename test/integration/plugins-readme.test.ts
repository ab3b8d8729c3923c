// The README's two plugin examples, taken from README.md as they are printed, run by the
// compiled ./gateway (run `bun run build` first) from files next to a temporary config, on
// 4 workers; the typed one imports "gateway:plugin", which only the binary provides.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayProcess, startGatewayAt } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";

/** The ```ts blocks of README "Writing a plugin" whose first line names their file. */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const start = readme.indexOf("### Writing a plugin");
  const section = readme.slice(start, readme.indexOf("\n## ", start));
  const out = new Map<string, string>();
  for (const m of section.matchAll(/```ts\n\/\/ (plugins\/[a-z]+\.ts)\n([\s\S]*?)```/g)) out.set(m[1]!, m[2]!);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "plugins-readme-"));
mkdirSync(join(dir, "plugins"));
const examples = readmeExamples();
for (const [path, text] of examples) writeFileSync(join(dir, path), text);
// Which worker served: a thread id per worker.
writeFileSync(
  join(dir, "plugins/worker.ts"),
  `import { threadId } from "node:worker_threads";
export default { name: "worker", create(_c, api) { api.logger.info("created", { thread: threadId }); return { onResponse(_ctx, res) { res.headers.set("x-worker", String(threadId)); } }; } };`,
);

let upstream: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;
beforeAll(async () => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => new Response(`hello ${new URL(r.url).pathname}`) });
  const config = join(dir, "config.toml");
  writeFileSync(
    config,
    `
[server]
listen = "127.0.0.1:0"
workers = 4
access_log = true
[metrics]
listen = "127.0.0.1:0"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
[[plugins]]
name = "tenant"
path = "plugins/tenant.ts"
[[plugins]]
name = "stamp"
path = "plugins/stamp.ts"
[[plugins]]
name = "worker"
path = "plugins/worker.ts"
[[routes]]
name = "orders"
path = "/orders"
upstream = "u"
plugins = [{ name = "tenant", config = { header = "x-tenant", allow = ["acme"] } }, { name = "worker" }]
[[routes]]
name = "users"
path = "/users/*"
upstream = "u"
plugins = [{ name = "stamp", config = { header = "x-served-by", value = "edge-1" } }]
`,
  );
  gw = await startGatewayAt(config, { binary: true });
}, 30_000);
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

test("README has both examples", () => {
  expect([...examples.keys()].sort()).toEqual(["plugins/stamp.ts", "plugins/tenant.ts"]);
  expect(examples.get("plugins/stamp.ts")).toContain('from "gateway:plugin"');
});

test("the tenant example answers 403 JSON with the request id, admits a listed tenant, stamps it", async () => {
  for (const headers of [{}, { "x-tenant": "evil" }] as Record<string, string>[]) {
    const res = await fetch(`${gw.url}/orders`, { headers });
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toEqual({ error: "forbidden", message: "tenant not allowed", request_id: res.headers.get("x-request-id")! });
  }
  const ok = await fetch(`${gw.url}/orders`, { headers: { "x-tenant": "acme" } });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toBe("hello /orders");
  expect(ok.headers.get("x-tenant")).toBe("acme");
});

test("the typed stamp example (import from gateway:plugin) stamps responses and adds its access-log field", async () => {
  const res = await fetch(`${gw.url}/users/7`);
  expect(res.status).toBe(200);
  expect(res.headers.get("x-served-by")).toBe("edge-1");
  expect(res.headers.get("x-request-route")).toBe("users");
  for (let i = 0; i < 40 && !gw.stdout().includes('"stamp":"x-served-by"'); i++) await Bun.sleep(50);
  expect(gw.stdout()).toContain('"stamp":"x-served-by"');
});

test("the plugin's own counter is on /metrics, summed over the workers", async () => {
  const before = valueOf(parsePrometheus(await (await fetch(gw.metricsUrl!)).text()), "tenant_denied_total", { route: "orders" });
  await Promise.all(Array.from({ length: 20 }, () => fetch(`${gw.url}/orders`, { headers: { connection: "close" } }).then((r) => r.arrayBuffer())));
  const m = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
  expect(valueOf(m, "tenant_denied_total", { route: "orders" }) - before).toBe(20);
  expect(m.get("tenant_denied_total")?.help).toBe("Requests refused by the tenant plugin");
});

test("all 4 workers load the plugin and run it", async () => {
  const created = new Set(
    gw
      .stderr()
      .split("\n")
      .filter((l) => l.includes('"plugin":"worker"') && l.includes('"msg":"created"'))
      .map((l) => (JSON.parse(l) as { thread: number }).thread)
      // thread 0: the main thread's create() at config load, which validates it
      .filter((t) => t !== 0),
  );
  expect(created.size).toBe(4);
  const served = new Set<string>();
  for (let round = 0; round < 10 && served.size < 4; round++) {
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`${gw.url}/orders`, { headers: { "x-tenant": "acme", connection: "close" } })),
    );
    for (const r of answers) {
      expect(r.status).toBe(200);
      served.add(r.headers.get("x-worker")!);
      await r.arrayBuffer();
    }
  }
  expect(served.size).toBe(4);
  for (const t of served) expect(created.has(Number(t))).toBe(true);
});
