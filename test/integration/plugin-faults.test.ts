// Plugin faults end to end with the compiled ./gateway (run `bun run build` first): every way a
// plugin's code can go wrong costs only the request that met it, with the gateway's JSON error,
// a log line naming plugin, hook and stack, and a count on /metrics; the workers keep serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayProcess, startGateway } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";

const dir = mkdtempSync(join(tmpdir(), "plugin-faults-"));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

const faults = file(
  "faults.ts",
  `const never = () => new Promise(() => {});
export default { name: "faults",
  schema: { type: "object", properties: { mode: { type: "string" } }, required: ["mode"], additionalProperties: false },
  create({ mode }, api) {
    const hits = api.metrics.counter("faults_plugin_hits_total", "Requests the faults plugin saw", ["mode"]).labels([mode]);
    const h = {};
    h.onRequest = (ctx) => {
      hits.inc();
      switch (mode) {
        case "throw": throw new Error("kaput-throw");
        case "reject": return Promise.reject(new Error("kaput-reject"));
        case "garbage": return "hello";
        case "garbage-async": return Promise.resolve({ status: 200 });
        case "hang": return never();
        case "mutate": ctx.requestId = "forged"; return;
        case "mutate-params": ctx.params.id = "evil"; return;
        case "background": setTimeout(() => { throw new Error("kaput-timer"); }, 0); Promise.reject(new Error("kaput-forgotten")); return;
      }
    };
    if (mode === "resp-throw") h.onResponse = () => { throw new Error("kaput-response"); };
    if (mode === "resp-hang") h.onResponse = () => never();
    if (mode === "resp-garbage") h.onResponse = () => 42;
    if (mode === "upstream-throw") h.onUpstreamRequest = () => { throw new Error("kaput-upstream"); };
    if (mode === "upstream-hang") h.onUpstreamRequest = () => never();
    if (mode === "log-throw") h.onLog = () => { throw new Error("kaput-log"); };
    return h;
  } };`,
);
// onError: answers for a dead upstream, unless told to fail itself.
const fallback = file(
  "fallback.ts",
  `export default { name: "fallback",
  create(config) { return { onError(ctx, error) {
    if (config.broken) throw new Error("kaput-onerror");
    return new Response(JSON.stringify({ fallback: true, kind: error.kind, status: error.status, route: ctx.route }), { status: 503, headers: { "content-type": "application/json" } });
  } }; } };`,
);
// Every hook of a healthy plugin, to show the request still goes through with the others faulting.
const stamp = file("stamp.ts", `export default { name: "stamp", create() { return { onResponse(ctx, res) { res.headers.set("x-stamp", ctx.params.id ?? "none"); } }; } };`);

let upstream: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;
const MODES = ["throw", "reject", "garbage", "garbage-async", "hang", "mutate", "mutate-params", "resp-throw", "resp-hang", "resp-garbage", "upstream-throw", "upstream-hang", "log-throw", "background"];

beforeAll(async () => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => new Response(`ok ${new URL(r.url).pathname}`) });
  const routes = MODES.map(
    (mode) => `
[[routes]]
name = "${mode}"
path = "/${mode}/:id"
upstream = "u"
timeout = "300ms"
plugins = [{ name = "stamp" }, { name = "faults", config = { mode = "${mode}" } }]`,
  ).join("\n");
  gw = await startGateway(
    `
[server]
listen = "127.0.0.1:0"
workers = 2
[metrics]
listen = "127.0.0.1:0"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
[[upstreams]]
name = "dead"
targets = [{ url = "http://127.0.0.1:1" }]
[[plugins]]
name = "faults"
path = "${faults}"
[[plugins]]
name = "fast"
path = "${faults}"
timeout = "100ms"
[[plugins]]
name = "fallback"
path = "${fallback}"
[[plugins]]
name = "stamp"
path = "${stamp}"
${routes}
[[routes]]
name = "fast-hang"
path = "/fast-hang"
upstream = "u"
plugins = [{ name = "fast", config = { mode = "hang" } }]
[[routes]]
name = "fine"
path = "/fine/:id"
upstream = "u"
plugins = [{ name = "stamp" }]
[[routes]]
name = "down"
path = "/down"
upstream = "dead"
plugins = [{ name = "fallback" }]
[[routes]]
name = "down-broken"
path = "/down-broken"
upstream = "dead"
plugins = [{ name = "fallback", config = { broken = true } }]
`,
    { binary: true },
  );
}, 30_000);
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

async function jsonError(res: Response, status: number, error: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, string>;
  expect(body.error).toBe(error);
  expect(body.request_id).toBe(res.headers.get("x-request-id")!);
}

describe("a faulty hook fails only its request, with the gateway's JSON error", () => {
  for (const mode of ["throw", "reject", "garbage", "garbage-async", "mutate", "mutate-params", "upstream-throw"]) {
    test(`onRequest/onUpstreamRequest: ${mode} -> 500 internal`, async () => {
      await jsonError(await fetch(`${gw.url}/${mode}/1`), 500, "internal");
    });
  }
  for (const mode of ["resp-throw", "resp-garbage"]) {
    test(`onResponse: ${mode} -> 500 internal, the earlier policies' response hooks still run`, async () => {
      const res = await fetch(`${gw.url}/${mode}/7`);
      await jsonError(res, 500, "internal");
      // stamp comes first on the route, so its onResponse runs after faults' (reverse order), on the 500.
      expect(res.headers.get("x-stamp")).toBe("7");
    });
  }
  test("onLog throwing changes nothing of the answer", async () => {
    const res = await fetch(`${gw.url}/log-throw/3`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok /log-throw/3");
    expect(res.headers.get("x-stamp")).toBe("3");
  });
});

describe("a hook that never settles is bounded", () => {
  for (const mode of ["hang", "resp-hang", "upstream-hang"]) {
    test(`${mode}: 504 plugin_timeout after the route's timeout (300ms)`, async () => {
      const t0 = performance.now();
      await jsonError(await fetch(`${gw.url}/${mode}/1`), 504, "plugin_timeout");
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(280);
      expect(took).toBeLessThan(2000);
    });
  }
  test("[[plugins]] timeout overrides the route's", async () => {
    const t0 = performance.now();
    await jsonError(await fetch(`${gw.url}/fast-hang`), 504, "plugin_timeout");
    expect(performance.now() - t0).toBeLessThan(280);
  });
});

test("a plugin cannot change the request other policies see: params stay the router's", async () => {
  await jsonError(await fetch(`${gw.url}/mutate-params/42`), 500, "internal");
  const res = await fetch(`${gw.url}/fine/42`);
  expect(res.headers.get("x-stamp")).toBe("42");
  expect(await res.text()).toBe("ok /fine/42");
});

test("onError answers for a dead upstream; a throwing onError leaves the gateway's own error", async () => {
  const res = await fetch(`${gw.url}/down`);
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ fallback: true, kind: "upstream_unreachable", status: 502, route: "down" });
  expect(res.headers.get("x-request-id")).toBeString();
  await jsonError(await fetch(`${gw.url}/down-broken`), 502, "upstream_unreachable");
});

test("faults are logged with plugin, hook, reason and stack; counted on /metrics; the plugin's own counter is there", async () => {
  for (const mode of ["throw", "hang"]) await (await fetch(`${gw.url}/${mode}/9`)).arrayBuffer();
  await Bun.sleep(100);
  const lines = gw
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const threw = lines.find((l) => l.plugin === "faults" && l.hook === "onRequest" && l.reason === "threw");
  expect(threw).toBeDefined();
  expect(threw!.level).toBe("error");
  expect(threw!.error).toBe("kaput-throw");
  expect(String(threw!.stack)).toContain("faults.ts");
  expect(threw!.request_id).toBeString();
  expect(threw!.route).toBe("throw");
  expect(lines.some((l) => l.plugin === "faults" && l.reason === "timeout" && l.hook === "onResponse")).toBe(true);
  expect(lines.some((l) => l.plugin === "faults" && l.reason === "invalid" && String(l.error).includes("returned a string"))).toBe(true);
  expect(lines.some((l) => l.plugin === "faults" && l.hook === "onLog" && l.error === "kaput-log")).toBe(true);
  expect(lines.some((l) => l.plugin === "fallback" && l.hook === "onError" && l.error === "kaput-onerror")).toBe(true);

  const m = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
  const errors = (labels: Record<string, string>) => valueOf(m, "gateway_plugin_errors_total", labels);
  expect(errors({ plugin: "faults", hook: "onRequest", reason: "threw" })).toBeGreaterThanOrEqual(2);
  expect(errors({ plugin: "faults", hook: "onRequest", reason: "rejected" })).toBeGreaterThanOrEqual(1);
  expect(errors({ plugin: "faults", hook: "onRequest", reason: "invalid" })).toBeGreaterThanOrEqual(2);
  expect(errors({ plugin: "faults", hook: "onRequest", reason: "timeout" })).toBeGreaterThanOrEqual(2);
  expect(errors({ plugin: "fast", hook: "onRequest", reason: "timeout" })).toBeGreaterThanOrEqual(1);
  expect(errors({ plugin: "faults", hook: "onUpstreamRequest", reason: "threw" })).toBeGreaterThanOrEqual(1);
  expect(valueOf(m, "faults_plugin_hits_total", { mode: "throw" })).toBeGreaterThanOrEqual(2);
});

test("a plugin failing outside its hooks (a timer that throws, a forgotten rejection) does not end the worker", async () => {
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${gw.url}/background/${i}`, { headers: { connection: "close" } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  await Bun.sleep(100);
  expect(gw.stderr()).not.toContain("worker crashed");
  const lines = gw.stderr().split("\n").filter((l) => l.includes('"hook":"background"'));
  expect(lines.some((l) => l.includes("kaput-timer") && l.includes('"plugin":"faults"'))).toBe(true);
  expect(lines.some((l) => l.includes("kaput-forgotten"))).toBe(true);
  const m = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
  expect(valueOf(m, "gateway_plugin_errors_total", { plugin: "faults", hook: "background", reason: "threw" })).toBeGreaterThanOrEqual(1);
});

test("after all of it both workers still serve", async () => {
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${gw.url}/fine/${i}`, { headers: { connection: "close" } })));
  for (const [i, r] of answers.entries()) {
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(`ok /fine/${i}`);
  }
  expect(gw.proc.exitCode).toBeNull();
});
