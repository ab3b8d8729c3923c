// End to end with the compiled ./gateway (run `bun run build` first): plugins loaded from a temp dir.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway } from "../helpers/gateway.ts";

const dir = mkdtempSync(join(tmpdir(), "plugins-"));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const tenant = file(
  "tenant.ts",
  `export default { name: "tenant",
  schema: { type: "object", properties: { header: { type: "string" } }, required: ["header"], additionalProperties: false },
  create(config, api) { return {
    onRequest(ctx) { if (ctx.request.headers.get(config.header) !== "acme") return api.reject(ctx, 403, "forbidden", "tenant not allowed"); },
    onUpstreamRequest(ctx, d) { d.setHeader("x-tenant-seen", ctx.requestId ? "yes" : "no"); },
    onResponse(ctx, res) { res.headers.set("x-route", String(ctx.route)); },
  }; } };`,
);
const thrower = file("thrower.ts", `export default { name: "boom", create() { return { onRequest() { throw new Error("kaput"); } }; } };`);
const broken = file("broken.ts", `export default { name: "x", create( { return {} } };`);

let upstream: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => new Response(`seen=${r.headers.get("x-tenant-seen")}`) });
});
afterAll(() => upstream.stop(true));

const toml = (plugins: string, route: string) => `
[server]
listen = "127.0.0.1:0"
workers = 2
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
${plugins}
[[routes]]
name = "r"
path = "/x"
upstream = "u"
${route}
[[routes]]
name = "b"
path = "/boom"
upstream = "u"
${plugins.includes("boom") ? 'plugins = [{ name = "boom" }]' : ""}
`;

function check(text: string): { code: number; err: string } {
  const p = join(dir, `c${Math.random()}.toml`);
  writeFileSync(p, text);
  const r = Bun.spawnSync([join(import.meta.dir, "../../gateway"), "--check", "--config", p], { cwd: tmpdir() });
  return { code: r.exitCode, err: r.stderr.toString() + r.stdout.toString() };
}

test("a plugin rejects, edits upstream headers and response headers; a throwing hook is a 500 JSON error; workers survive", async () => {
  const gw = await startGateway(
    toml(
      `[[plugins]]\nname = "tenant"\npath = "${tenant}"\n[[plugins]]\nname = "boom"\npath = "${thrower}"`,
      `plugins = [{ name = "tenant", config = { header = "x-tenant" } }]`,
    ),
    { binary: true },
  );
  try {
    const denied = await fetch(`${gw.url}/x`);
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as Record<string, string>;
    expect(body.error).toBe("forbidden");
    expect(body.request_id).toBe(denied.headers.get("x-request-id")!);
    const ok = await fetch(`${gw.url}/x`, { headers: { "x-tenant": "acme" } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("seen=yes");
    expect(ok.headers.get("x-route")).toBe("r");
    for (let i = 0; i < 6; i++) {
      const boom = await fetch(`${gw.url}/boom`);
      expect(boom.status).toBe(500);
      expect(((await boom.json()) as Record<string, string>).request_id).toBeString();
    }
    expect((await fetch(`${gw.url}/x`, { headers: { "x-tenant": "acme" } })).status).toBe(200);
  } finally {
    await gw.stop();
  }
}, 20000);

test("bad plugin config, missing file and syntax error fail --check with key paths", () => {
  const bad = check(toml(`[[plugins]]\nname = "tenant"\npath = "${tenant}"`, `plugins = [{ name = "tenant", config = { header = 5 } }]`));
  expect(bad.code).not.toBe(0);
  expect(bad.err).toContain("routes[0].plugins[0].config.header: expected string");
  const missing = check(toml(`[[plugins]]\nname = "tenant"\npath = "${join(dir, "nope.ts")}"`, ""));
  expect(missing.code).not.toBe(0);
  expect(missing.err).toContain("plugins[0].path: cannot read");
  const syntax = check(toml(`[[plugins]]\nname = "x"\npath = "${broken}"`, ""));
  expect(syntax.code).not.toBe(0);
  expect(syntax.err).toContain("plugins[0].path: failed to load");
  const undeclared = check(toml("", `plugins = [{ name = "nobody" }]`));
  expect(undeclared.err).toContain('routes[0].plugins[0].name: no [[plugins]] entry named "nobody"');
});

test("SIGHUP picks up an edited plugin file in every worker", async () => {
  const stamp = (v: string) =>
    file("stamp.ts", `export default { name: "stamp", create() { return { onResponse(ctx, res) { res.headers.set("x-stamp", "${v}"); } }; } };`);
  const path = stamp("one");
  const gw = await startGateway(toml(`[[plugins]]\nname = "stamp"\npath = "${path}"`, `plugins = [{ name = "stamp" }]`), { binary: true });
  try {
    expect((await fetch(`${gw.url}/x`)).headers.get("x-stamp")).toBe("one");
    await Bun.sleep(20); // a distinct mtime
    stamp("two");
    gw.signal("SIGHUP");
    let seen = "";
    for (let i = 0; i < 50 && seen !== "two,two,two,two"; i++) {
      await Bun.sleep(100);
      const got = await Promise.all([0, 1, 2, 3].map(() => fetch(`${gw.url}/x`).then((r) => r.headers.get("x-stamp"))));
      seen = got.join(",");
    }
    expect(seen).toBe("two,two,two,two");
  } finally {
    await gw.stop();
  }
}, 20000);

test("create() that throws, returns garbage, an unknown hook or a promise fails --check with the route's key path", () => {
  const cases: [string, string][] = [
    [`create() { throw new Error("no database"); }`, "routes[0].plugins[0]: create() threw: no database"],
    [`create() { return "hooks"; }`, "routes[0].plugins[0]: create() returned string"],
    [`create() { return { onReqest() {} }; }`, 'routes[0].plugins[0]: create() returned an unknown hook "onReqest"'],
    [`create() { return { onRequest: 5 }; }`, "routes[0].plugins[0]: create() returned onRequest that is not a function"],
    [`async create() { return {}; }`, "routes[0].plugins[0]: create() returned a promise"],
    [`after: "nowhere", create() { return {}; }`, 'routes[0].plugins[0].name: plugin "c" asks to run after "nowhere"'],
  ];
  for (const [body, message] of cases) {
    const path = file(`c${Math.random().toString(36).slice(2)}.ts`, `export default { name: "c", ${body} };`);
    const r = check(toml(`[[plugins]]\nname = "c"\npath = "${path}"`, `plugins = [{ name = "c" }]`));
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
  }
  // A definition that is not one.
  const notDef = file("notdef.ts", `export default { name: "", create: 1 };`);
  expect(check(toml(`[[plugins]]\nname = "c"\npath = "${notDef}"`, "")).err).toContain("plugins[0].path:");
  const badTimeout = check(toml(`[[plugins]]\nname = "tenant"\npath = "${tenant}"\ntimeout = "soon"`, ""));
  expect(badTimeout.err).toContain("plugins[0].timeout: invalid duration");
  // And a good one passes, create() run once in --check.
  const ok = check(toml(`[[plugins]]\nname = "tenant"\npath = "${tenant}"`, `plugins = [{ name = "tenant", config = { header = "x-tenant" } }]`));
  expect(ok.err).toContain("config OK");
  expect(ok.code).toBe(0);
});

test("reload picking up an edited plugin under load: no failed request; a broken edit keeps the running plugin", async () => {
  const write = (v: string) =>
    file("live.ts", `export default { name: "live", create() { return { async onRequest() { await Bun.sleep(1); }, onResponse(ctx, res) { res.headers.set("x-live", "${v}"); } }; } };`);
  const path = write("v0");
  const gw = await startGateway(toml(`[[plugins]]\nname = "live"\npath = "${path}"`, `plugins = [{ name = "live" }]`), { binary: true });
  try {
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const client = async () => {
      while (!stop) {
        try {
          const r = await fetch(`${gw.url}/x`);
          await r.arrayBuffer();
          if (r.status !== 200) failures.push(`status ${r.status}`);
          else seen.add(r.headers.get("x-live")!);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let v = 1; v <= 4; v++) {
      await Bun.sleep(150);
      write(`v${v}`);
      gw.signal("SIGHUP");
    }
    // A syntax error: the reload is refused, v4 keeps serving.
    await Bun.sleep(300);
    file("live.ts", `export default { name: "live", create( { };`);
    gw.signal("SIGHUP");
    await Bun.sleep(400);
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(seen.has("v0")).toBe(true);
    expect(seen.has("v4")).toBe(true);
    expect(gw.stderr()).toContain("failed to load");
    expect((await fetch(`${gw.url}/x`)).headers.get("x-live")).toBe("v4");
  } finally {
    await gw.stop();
  }
}, 30000);
