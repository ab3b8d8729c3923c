/**
 * Where the floor is: what a Bun proxy costs before any gateway logic, beside
 * the gateway and nginx, in one run (CPU µs per request of the process under
 * test, pinned to CPU 0; wrk and a static nginx upstream on CPU 1).
 *
 *   bun bench/floor.ts [--rounds 3] [--seconds 3] [--connections 50]
 *
 * Targets:
 *   bare-serve     Bun.serve answering from memory after one `await` (the server half)
 *   floor          Bun.serve + the gateway's pool (src/client/http1), request line and Host only
 *   floor+headers  the floor plus client IP, client headers copied, a request id, a lazy abort signal
 *   gateway        ./gateway, 1 worker, proxy only, access log off
 *   nginx          1 worker, upstream keepalive 1024, the gateway's forwarding headers
 * and, apart (no wrk: it is its own load), `bare-client`: 50 Bun.connect
 * keep-alive sockets, one write and one data callback per request (the client half).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { compare, dir, killChildren, option, pin, requireTools, spawnChild, startNginxProxy, startStaticUpstream, waitPort } from "./lib.ts";

const args = process.argv.slice(2);
const role = option(args, "role", "main");

if (role === "bare-serve") {
  Bun.serve({
    port: Number(option(args, "port", "0")),
    hostname: "127.0.0.1",
    async fetch() {
      await null;
      return new Response('{"ok":true,"service":"bench-upstream"}');
    },
  });
} else if (role === "floor") {
  const { UpstreamPool } = await import("../src/client/http1/pool.ts");
  const upPort = Number(option(args, "upstream", "0"));
  const full = option(args, "level", "0") === "1";
  const pool = new UpstreamPool({ host: "127.0.0.1", port: upPort, tls: false, maxConnections: 1024, idleTimeout: 60_000, maxQueue: 1024, queueTimeout: 5000, connectTimeout: 2000 });
  const skip = new Set(["connection", "host", "content-length", "x-forwarded-for", "x-request-id"]);
  Bun.serve({
    port: Number(option(args, "port", "0")),
    hostname: "127.0.0.1",
    async fetch(req, server) {
      const url = req.url;
      const path = url.slice(url.indexOf("/", 8) + 4); // drop "/api"
      let block = "";
      let rid = "";
      if (full) {
        block += `x-forwarded-for: ${server.requestIP(req)?.address ?? ""}\r\n`;
        const all = req.headers.toJSON() as Record<string, string>;
        for (const n in all) if (!skip.has(n)) block += `${n}: ${all[n]}\r\n`;
        rid = req.headers.get("x-request-id") ?? crypto.randomUUID();
        block += `x-request-id: ${rid}\r\n`;
      }
      const up = await pool.request(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${upPort}\r\n${block}\r\n`, null, {
        readTimeout: 30_000,
        method: "GET",
        signal: full ? { get aborted() { return req.signal.aborted; } } : undefined,
      });
      const res = new Response(up.bodyBytes ?? up.body, { status: up.status });
      for (const [k, v] of up.headers) if (k.toLowerCase() !== "connection") res.headers.append(k, v);
      if (full) res.headers.append("x-request-id", rid);
      return res;
    },
  });
} else if (role === "bare-client") {
  const upPort = Number(option(args, "upstream", "0"));
  const ms = Number(option(args, "seconds", "3")) * 1000;
  const head = Buffer.from(`GET /x HTTP/1.1\r\nhost: 127.0.0.1:${upPort}\r\n\r\n`);
  let done = 0;
  const stopAt = performance.now() + ms;
  const t0 = process.cpuUsage();
  for (let i = 0; i < 50; i++) {
    await Bun.connect({
      hostname: "127.0.0.1",
      port: upPort,
      socket: {
        open: (s) => void s.write(head),
        data(s) {
          done++;
          if (performance.now() < stopAt) s.write(head);
          else s.end();
        },
      },
    });
  }
  await Bun.sleep(ms + 200);
  const c = process.cpuUsage(t0);
  console.log(((c.user + c.system) / done).toFixed(1));
  process.exit(0);
} else {
  requireTools("nginx", "wrk");
  const ROOT = resolve(import.meta.dir, "..");
  const ROUNDS = Number(option(args, "rounds", "3"));
  const SECONDS = Number(option(args, "seconds", "3"));
  const CONNECTIONS = Number(option(args, "connections", "50"));
  const upPort = await freePort();
  await startStaticUpstream(upPort);
  const self = import.meta.path;
  const start = async (name: string, cmd: string[]) => {
    const port = await freePort();
    const proc = spawnChild([...pin(0), ...cmd.map((c) => c.replace("$PORT", String(port)))]);
    await waitPort(port);
    return { name, port, pid: proc.pid };
  };
  const bin = join(ROOT, "gateway");
  if (!existsSync(bin)) throw new Error("./gateway missing: run `bun run build` first");
  const gwConf = join(dir, "floor-gateway.toml");
  const targets = [
    await start("bare-serve", [process.execPath, self, "--role", "bare-serve", "--port", "$PORT"]),
    await start("floor", [process.execPath, self, "--role", "floor", "--port", "$PORT", "--upstream", String(upPort), "--level", "0"]),
    await start("floor+headers", [process.execPath, self, "--role", "floor", "--port", "$PORT", "--upstream", String(upPort), "--level", "1"]),
  ];
  const gwPort = await freePort();
  writeFileSync(
    gwConf,
    `[server]\nlisten = "127.0.0.1:${gwPort}"\naccess_log = false\n[[upstreams]]\nname = "u"\ntargets = [{ url = "http://127.0.0.1:${upPort}" }]\n[[routes]]\nname = "api"\npath = "/api/*"\nupstream = "u"\nstrip_prefix = "/api"\n`,
  );
  const gw = spawnChild([...pin(0), bin, "--config", gwConf]);
  await waitPort(gwPort);
  targets.push({ name: "gateway", port: gwPort, pid: gw.pid });
  const ngPort = await freePort();
  const ng = await startNginxProxy(ngPort, [upPort]);
  targets.push({ name: "nginx", port: ngPort, pid: ng.pid });
  try {
    console.log(`floor bench ${new Date().toISOString()}: \`bun bench/floor.ts ${args.join(" ")}\`, ${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections\n`);
    const { table } = await compare(targets, ROUNDS, { connections: CONNECTIONS, seconds: SECONDS });
    console.log(table.join("\n"));
    const client: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const p = Bun.spawn([...pin(0), process.execPath, self, "--role", "bare-client", "--upstream", String(upPort), "--seconds", String(SECONDS)], { stdout: "pipe" });
      client.push((await new Response(p.stdout).text()).trim());
    }
    console.log(`\nbare-client (50 Bun.connect sockets, no server half): ${client.join(", ")} CPU µs/req`);
  } finally {
    killChildren();
  }
}
