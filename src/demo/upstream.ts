/**
 * A small demo upstream so the shipped config.toml works out of the box:
 * `bun src/demo/upstream.ts [host:port]` (default 127.0.0.1:3001).
 * GET /health → 200; anything else echoes what the gateway sent.
 */
const listen = process.argv[2] ?? "127.0.0.1:3001";
const c = listen.lastIndexOf(":");
const server = Bun.serve({
  hostname: listen.slice(0, c),
  port: Number(listen.slice(c + 1)),
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return Response.json({ status: "ok" });
    const body = req.body ? await req.text() : "";
    return Response.json({
      service: "demo-upstream",
      method: req.method,
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(req.headers),
      body_length: body.length,
    });
  },
});
console.error(`demo upstream listening on http://${server.hostname}:${server.port}`);

export {};
