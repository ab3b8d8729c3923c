/**
 * What a plugin costs a request, without sockets: the real compiled snapshot
 * and handler (the target's client answers at once, as in handler.bench.ts).
 * In one run: a route on a config without plugins; the same route on a config
 * that loads a plugin another route uses (must cost nothing); and a route with
 * a trivial plugin (an onRequest that returns nothing; then onRequest and an
 * onResponse that sets one header). The differences are the plugin's cost.
 *
 *   bun bench/plugins.bench.ts [ROUNDS=21] [REQUESTS=20000]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchServer, cannedClient, localHandler, median } from "./handler-kit.ts";

const dir = mkdtempSync(join(tmpdir(), "plugins-bench-"));
writeFileSync(join(dir, "noop.ts"), `export default { name: "noop", create() { return { onRequest() {} }; } };\n`);
writeFileSync(
  join(dir, "stamp.ts"),
  `export default { name: "stamp", create() { return { onRequest() {}, onResponse(ctx, res) { res.headers.set("x-stamp", "1"); } }; } };\n`,
);

const configText = (plugins: string, use: string) => `[server]
listen = "127.0.0.1:0"
access_log = false
${plugins}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
strip_prefix = "/api"
${use}
[[routes]]
name = "other"
path = "/other/*"
upstream = "u"
${plugins ? 'plugins = [{ name = "noop" }, { name = "stamp" }]' : ""}
`;
const PLUGINS = `[[plugins]]\nname = "noop"\npath = "noop.ts"\n[[plugins]]\nname = "stamp"\npath = "stamp.ts"\n`;
const configPath = join(dir, "bench.toml");

const body = new TextEncoder().encode('{"ok":true,"service":"bench-upstream"}');
const canned = cannedClient(() => ({
  status: 200,
  statusText: "OK",
  headers: [["content-type", "application/json"], ["content-length", String(body.length)]],
  body: null,
  bodyBytes: body,
  contentLength: body.length,
}));
const handlerFor = (text: string) => localHandler(text, canned, configPath).handle;
const plain = handlerFor(configText("", ""));
const declared = handlerFor(configText(PLUGINS, ""));
const noop = handlerFor(configText(PLUGINS, 'plugins = [{ name = "noop" }]'));
const stamp = handlerFor(configText(PLUGINS, 'plugins = [{ name = "stamp" }]'));
const server = benchServer;
const headers = { host: "127.0.0.1:8080", "user-agent": "wrk/4.2", accept: "*/*" };

// Sanity: the plugins run where configured and nowhere else.
const probe = async (h: typeof plain) => ((await h(new Request("http://127.0.0.1:8080/api/x", { headers }), server)) as Response).headers.get("x-stamp");
if ((await probe(stamp)) !== "1" || (await probe(declared)) !== null || (await probe(plain)) !== null) throw new Error("plugin wiring is not what the bench assumes");

// Interleaved rounds, as in compare-handler.ts: drift on a shared machine hits every scenario alike.
const SCENARIOS: [string, typeof plain][] = [
  ["route without plugins, config without plugins", plain],
  ["route without plugins, config loading 2 plugins another route uses", declared],
  ["route with a no-op onRequest plugin", noop],
  ["route with onRequest + onResponse (sets a header)", stamp],
];
const rounds = Number(process.argv[2] ?? 21);
const requests = Number(process.argv[3] ?? 20000);
const samples = SCENARIOS.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < SCENARIOS.length; i++) {
    const h = SCENARIOS[i]![1];
    const t0 = Bun.nanoseconds();
    for (let n = 0; n < requests; n++) await h(new Request("http://127.0.0.1:8080/api/bench", { headers }), server);
    if (r > 0) samples[i]!.push((Bun.nanoseconds() - t0) / requests);
  }
}
const base = samples[0]!;
console.log(`${rounds - 1} rounds x ${requests} requests, median ns/request; delta vs the first row per round (median, p25..p75)`);
for (let i = 0; i < SCENARIOS.length; i++) {
  const d = samples[i]!.map((v, r) => v - base[r]!).sort((a, b) => a - b);
  const q = (f: number) => d[Math.floor(f * (d.length - 1))]!.toFixed(0);
  console.log(`${SCENARIOS[i]![0].padEnd(70)} ${median(samples[i]!).toFixed(0).padStart(6)} ns   delta ${q(0.5).padStart(5)} ns (${q(0.25)}..${q(0.75)})`);
}
