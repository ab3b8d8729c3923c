import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { rawRequest, runCli, startGateway, writeTempConfig } from "../helpers/gateway.ts";
import { until } from "../helpers/wait.ts";

const ROOT = resolve(import.meta.dir, "../..");

let upstream: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.startsWith("/slow")) await Bun.sleep(Number(url.searchParams.get("ms") ?? 800));
      return Response.json({ path: url.pathname, tag: "v1" });
    },
  });
});
afterAll(() => upstream.stop(true));

function config(opts: { workers?: number; path?: string; drain?: string } = {}): string {
  return `
[server]
listen = "127.0.0.1:0"
workers = ${opts.workers ?? 1}
drain_timeout = "${opts.drain ?? "5s"}"

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "r"
path = "${opts.path ?? "/*"}"
upstream = "u"
`;
}

describe("command line", () => {
  test("--version and --help", async () => {
    const v = await runCli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^gateway \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,40}|unknown)\)$/);
    const h = await runCli(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("--check");
  });

  test("--check accepts a good config", async () => {
    const r = await runCli(["--config", writeTempConfig(config()), "--check"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("config OK");
  });

  test("--check on a bad config names every problem and exits 1", async () => {
    const bad = `${config()}\n[[routes]]\nname = "r2"\npath = "/x"\nupstream = "userz"\nbogus = 1\n`;
    const r = await runCli(["--config", writeTempConfig(bad), "--check"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('routes[1].upstream: no upstream named "userz"');
    expect(r.stderr).toContain("routes[1].bogus: unknown key");
  });

  test("a missing config file is a one-line error and exit 1", async () => {
    const r = await runCli(["--config", "/nonexistent/gw.toml"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("/nonexistent/gw.toml");
    expect(r.stderr).not.toContain("    at ");
  });

  test("a port already in use fails the start with a one-line error and exit 1, no restart loop", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const toml = config().replace('listen = "127.0.0.1:0"', `listen = "127.0.0.1:${port}"`);
      const r = await runCli(["--config", writeTempConfig(toml)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("gateway:");
      expect(r.stderr).not.toContain("restarting");
    } finally {
      blocker.close();
    }
  });

  test("an unknown argument exits 2", async () => {
    const r = await runCli(["--frobnicate"]);
    expect(r.code).toBe(2);
  });
});

describe("signals", () => {
  test("SIGTERM drains: the in-flight request completes, new connections are refused, exit 0", async () => {
    const gw = await startGateway(config());
    const inflight = fetch(`${gw.url}/slow?ms=700`).then(async (r) => [r.status, await r.text()] as const);
    await Bun.sleep(150);
    gw.signal("SIGTERM");
    await Bun.sleep(150);
    const refused = await fetch(`${gw.url}/x`).then(
      () => false,
      () => true,
    );
    const [status, text] = await inflight;
    expect(status).toBe(200);
    expect(text).toContain("/slow");
    expect(refused).toBe(true);
    expect(await gw.exited).toBe(0);
  });

  test("SIGTERM gives up on requests past drain_timeout and still exits 0", async () => {
    const gw = await startGateway(config({ drain: "300ms" }));
    const inflight = fetch(`${gw.url}/slow?ms=5000`).then(
      (r) => r.status,
      () => -1,
    );
    await Bun.sleep(100);
    const t0 = performance.now();
    gw.signal("SIGTERM");
    expect(await gw.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(3000);
    await inflight;
  });

  test("SIGHUP reloads a good config and keeps the old one when the new one is bad", async () => {
    const gw = await startGateway(config({ path: "/old/*" }));
    try {
      expect((await fetch(`${gw.url}/old/a`)).status).toBe(200);
      gw.writeConfig(config({ path: "/new/*" }));
      gw.signal("SIGHUP");
      await until("the reloaded route answers", async () => (await fetch(`${gw.url}/new/a`)).status === 200);
      expect((await fetch(`${gw.url}/old/a`)).status).toBe(404);

      gw.writeConfig(`${config({ path: "/newer/*" })}\nnot toml [[[`);
      gw.signal("SIGHUP");
      await until("the bad reload is logged", () => gw.stderr().includes("reload rejected"));
      expect((await fetch(`${gw.url}/new/a`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe("workers", () => {
  test("workers = 2 share the port and both serve", async () => {
    const gw = await startGateway(config({ workers: 2 }));
    try {
      const statuses = await Promise.all(
        Array.from({ length: 40 }, () => fetch(`${gw.url}/w`, { headers: { connection: "close" } }).then((r) => r.status)),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});

describe("known Bun limitation: pipelined requests to an async handler", () => {
  // Bun 1.4.5 answers nothing and closes the connection when a second pipelined
  // HTTP/1.1 request arrives while the first is still in an async handler (every
  // proxied request is). Answers the handler gives synchronously (liveness, 404,
  // 405) pipeline fine. README "Known limitations" says so. When a Bun upgrade
  // fixes it, the first test fails: flip it to expect both answers and update the README.
  test("two pipelined proxied requests: Bun 1.4.5 answers neither and closes", async () => {
    const gw = await startGateway(config());
    try {
      const raw = await rawRequest(gw.port, "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 1500);
      expect(raw).toBe("");
      // The same connection pattern without pipelining works, and so does the next connection.
      const single = await rawRequest(gw.port, "GET /p1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 1500);
      expect(single.startsWith("HTTP/1.1 200")).toBe(true);
    } finally {
      await gw.stop();
    }
  });

  test("pipelined requests answered synchronously (liveness) both get answers in order", async () => {
    const gw = await startGateway(config());
    try {
      const raw = await rawRequest(gw.port, "GET /__health HTTP/1.1\r\nHost: a\r\n\r\nGET /__health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 1500);
      expect(raw.match(/HTTP\/1\.1 200/g)?.length).toBe(2);
    } finally {
      await gw.stop();
    }
  });
});

describe("compiled binary", () => {
  test("./gateway runs the same config and proxies", async () => {
    const bin = join(ROOT, "gateway");
    if (!existsSync(bin)) throw new Error("./gateway not built: run `bun run build` first (scripts/test.sh does)");
    const v = await runCli(["--version"], { binary: true });
    expect(v.code).toBe(0);
    const gw = await startGateway(config({ workers: 2 }), { binary: true });
    try {
      const res = await fetch(`${gw.url}/from-binary`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { path: string }).path).toBe("/from-binary");
    } finally {
      await gw.stop();
    }
    expect(await gw.exited).toBe(0);
  });
});
