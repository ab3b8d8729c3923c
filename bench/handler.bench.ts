/**
 * The handler's own CPU cost, without sockets: the real compiled snapshot and
 * handler, with the target's client replaced by one that answers at once
 * (what the pool resolves with for a small keep-alive response). Compared in
 * the same run with the floor: a Request in, a canned Response out; and the
 * same with a local rate limit on the route (policy + RateLimit headers).
 *
 *   bun bench/handler.bench.ts
 */
import { bench, run, summary } from "mitata";
import { benchServer, cannedClient, localHandler } from "./handler-kit.ts";

const configText = (route: string) => `[server]
listen = "127.0.0.1:0"
access_log = false
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
strip_prefix = "/api"
${route}
`;
const body = new TextEncoder().encode('{"ok":true,"service":"bench-upstream"}');
const canned = cannedClient(() => ({
  status: 200,
  statusText: "OK",
  headers: [["server", "nginx"], ["date", "Sun, 22 Nov 2026 22:00:00 GMT"], ["content-type", "text/plain"], ["content-length", String(body.length)], ["connection", "keep-alive"]],
  body: null,
  bodyBytes: body,
  contentLength: body.length,
}));
const handlerFor = (text: string) => localHandler(text, canned).handle;
const handle = handlerFor(configText(""));
const handleLimited = handlerFor(configText('rate_limits = [{ algorithm = "token_bucket", limit = 100000000, window = "1s", key = "ip" }]'));
const server = benchServer;
const headers = { host: "127.0.0.1:8080", "user-agent": "wrk/4.2", accept: "*/*" };

summary(() => {
  bench("floor: new Request + canned Response", async () => {
    const req = new Request("http://127.0.0.1:8080/api/bench", { headers });
    await canned.request("", null, { readTimeout: 1, method: "GET" });
    return new Response(body, { status: 200, headers: [["content-type", "text/plain"]] });
  });
  bench("gateway handler, proxy only", async () => {
    const req = new Request("http://127.0.0.1:8080/api/bench", { headers });
    return await handle(req, server);
  });
  bench("gateway handler, local token-bucket limit", async () => {
    const req = new Request("http://127.0.0.1:8080/api/bench", { headers });
    return await handleLimited(req, server);
  });
});
await run();
