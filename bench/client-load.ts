/**
 * Upstream client under load: Bun's fetch against the pooled HTTP/1.1 client.
 *
 *   bun bench/client-load.ts [--rounds 3] [--seconds 3] [--connections 64]
 *                            [--kinds fetch,fetch-client,pool] [--cpu-prof DIR]
 *
 * --cpu-prof DIR runs the proxies under `bun --cpu-prof` and writes their
 * profiles to DIR when the run ends (they exit on SIGINT for that).
 *
 * Three processes on loopback: an upstream (Bun.serve), proxies (one child per
 * client kind, all alive for the whole run), and wrk as the load generator
 * (`apt-get install wrk`). Each round loads every proxy in turn, GET and POST
 * 1 KiB (echoed back), and reads the proxy's CPU time from /proc/<pid>/stat
 * before and after: CPU µs per request is the number that survives a noisy,
 * shared machine; req/s is reported too. Bounded: rounds × kinds × 2 × seconds.
 *
 * Proxies:
 *   fetch        the leanest fetch proxy: request headers passed as they are,
 *                the Response returned as fetch made it (no hop-by-hop care)
 *   fetch-client src/client/fetch-client.ts behind the same adapter as the pool
 *   pool         src/client/http1/pool.ts (UpstreamPool)
 * The adapter is what the gateway's handler does: build the head string,
 * buffer small bodies, filter response headers, new Response(body, init).
 */
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const role = flag("role", "main");


function flag(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

// ---- upstream ---------------------------------------------------------------

async function runUpstream(): Promise<void> {
  const hello = new TextEncoder().encode(JSON.stringify({ ok: true, message: "hello from upstream" }));
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method === "POST") return new Response(await req.bytes(), { headers: { "content-type": "application/octet-stream" } });
      return new Response(hello, { headers: { "content-type": "application/json" } });
    },
  });
  console.log(server.port);
}

// ---- proxies ----------------------------------------------------------------

async function runProxy(kind: string, upstreamPort: number): Promise<void> {
  const origin = `http://127.0.0.1:${upstreamPort}`;
  const hostHeader = `127.0.0.1:${upstreamPort}`;
  let handler: (req: Request) => Promise<Response>;
  if (kind === "fetch") {
    handler = async (req) => {
      const url = req.url;
      const res = await fetch(origin + url.slice(url.indexOf("/", 8)), {
        method: req.method,
        headers: req.headers,
        body: req.body,
        redirect: "manual",
        decompress: false,
      } as RequestInit);
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
  } else {
    const { forwardedResponse, HOP_BY_HOP } = await import("../src/data/proxy/headers.ts");
    let client: import("../src/client/types.ts").TargetClient;
    if (kind === "fetch-client") {
      const { FetchClient } = await import("../src/client/fetch-client.ts");
      client = new FetchClient(origin, 2000);
    } else {
      const { UpstreamPool } = await import("../src/client/http1/pool.ts");
      client = new UpstreamPool({
        host: "127.0.0.1",
        port: upstreamPort,
        tls: false,
        maxConnections: 1024,
        idleTimeout: 60_000,
        maxQueue: 1024,
        queueTimeout: 5000,
        connectTimeout: 2000,
      });
    }
    handler = async (req) => {
      let block = "";
      for (const [name, value] of req.headers) {
        if (HOP_BY_HOP.has(name) || name === "host" || name === "content-length") continue;
        block += `${name}: ${value}\r\n`;
      }
      let body: Uint8Array | null = null;
      const cl = req.headers.get("content-length");
      if (cl !== null && cl !== "0") {
        body = await req.bytes();
        block += `content-length: ${body.length}\r\n`;
      }
      const url = req.url;
      const path = url.slice(url.indexOf("/", 8));
      const up = await client.request(`${req.method} ${path} HTTP/1.1\r\nhost: ${hostHeader}\r\n${block}\r\n`, body, {
        method: req.method,
        readTimeout: 30_000,
        signal: req.signal,
      });
      // bodyBytes: the whole body when it came with the head (see src/client/types.ts).
      const bytes = up.bodyBytes ?? null;
      return forwardedResponse(up.status, up.headers, bytes ?? up.body, bytes !== null, []);
    };
  }
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
  // A clean exit on SIGINT lets `bun --cpu-prof` write its profile.
  process.on("SIGINT", () => process.exit(0));
  console.log(server.port);
}

// ---- driver -----------------------------------------------------------------

interface Child {
  proc: Subprocess<"ignore", "pipe", "inherit">;
  port: number;
}

async function start(extra: string[], bunFlags: string[] = []): Promise<Child> {
  const proc = spawn(["bun", ...bunFlags, import.meta.path, ...extra], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (!text.includes("\n")) {
    if (Date.now() > deadline) throw new Error(`child ${extra.join(" ")} did not report a port`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`child ${extra.join(" ")} exited`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { proc, port: Number(text.trim()) };
}

/** utime + stime of a process, in µs. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5); after the ")" they are at 11 and 12.
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}
const CLK_TCK = 100;

interface Result {
  requests: number;
  rps: number;
  cpuUsPerReq: number;
  errors: string;
}

async function wrk(port: number, seconds: number, connections: number, script: string | null, pid: number): Promise<Result> {
  const cmd = ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s"];
  if (script) cmd.push("-s", script);
  cmd.push(`http://127.0.0.1:${port}/api/item?x=1`);
  const before = cpuMicros(pid);
  const p = spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const after = cpuMicros(pid);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errs = [/Non-2xx or 3xx responses: \d+/.exec(out)?.[0], /Socket errors:.*/.exec(out)?.[0]].filter(Boolean).join("; ");
  return { requests, rps, cpuUsPerReq: requests > 0 ? (after - before) / requests : NaN, errors: errs };
}

async function runMain(): Promise<void> {
  if (!Bun.which("wrk")) {
    console.error("wrk is not installed (apt-get install wrk)");
    process.exit(2);
  }
  const rounds = Number(flag("rounds", "3"));
  const seconds = Number(flag("seconds", "3"));
  const connections = Number(flag("connections", "64"));
  const kinds = flag("kinds", "fetch,fetch-client,pool").split(",");
  const profDir = flag("cpu-prof", "");
  const proxyFlags = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
  const dir = mkdtempSync(join(tmpdir(), "client-load-"));
  const postScript = join(dir, "post.lua");
  writeFileSync(postScript, `wrk.method = "POST"\nwrk.body = string.rep("x", 1024)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
  const children: Child[] = [];
  try {
    const upstream = await start(["--role", "upstream"]);
    children.push(upstream);
    const proxies = new Map<string, Child>();
    for (const k of kinds) {
      const c = await start(["--role", "proxy", "--client", k, "--upstream", String(upstream.port)], proxyFlags);
      children.push(c);
      proxies.set(k, c);
    }
    const scenarios: [string, string | null][] = [
      ["GET", null],
      ["POST 1KiB", postScript],
    ];
    // Warm every proxy (JIT, pools) before measuring.
    for (const [, c] of proxies) for (const [, s] of scenarios) await wrk(c.port, 1, connections, s, c.proc.pid);
    const table = new Map<string, Result[]>();
    for (let r = 0; r < rounds; r++) {
      for (const [name, script] of scenarios) {
        for (const k of kinds) {
          const c = proxies.get(k)!;
          const res = await wrk(c.port, seconds, connections, script, c.proc.pid);
          const key = `${name}|${k}`;
          table.set(key, [...(table.get(key) ?? []), res]);
          console.log(
            `round ${r + 1} ${name.padEnd(9)} ${k.padEnd(12)} ${res.rps.toFixed(0).padStart(7)} req/s ${res.cpuUsPerReq.toFixed(1).padStart(6)} µs CPU/req ${res.errors}`,
          );
        }
      }
    }
    console.log(`\nmedians over ${rounds} rounds, ${connections} connections, ${seconds}s each (proxy process CPU):`);
    console.log("| scenario | client | req/s | CPU µs/req | req/s vs fetch | CPU vs fetch |");
    console.log("| --- | --- | ---: | ---: | ---: | ---: |");
    for (const [name] of scenarios) {
      const base = median(table.get(`${name}|fetch`) ?? table.get(`${name}|${kinds[0]}`)!);
      for (const k of kinds) {
        const m = median(table.get(`${name}|${k}`)!);
        console.log(
          `| ${name} | ${k} | ${m.rps.toFixed(0)} | ${m.cpu.toFixed(1)} | ${(m.rps / base.rps).toFixed(2)}× | ${(m.cpu / base.cpu).toFixed(2)}× |`,
        );
      }
    }
  } finally {
    // SIGINT: the proxies exit cleanly, so --cpu-prof writes its profile.
    for (const c of children) c.proc.kill(profDir ? "SIGINT" : "SIGTERM");
    await Promise.all(children.map((c) => c.proc.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(rs: Result[]): { rps: number; cpu: number } {
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return { rps: mid(rs.map((r) => r.rps)), cpu: mid(rs.map((r) => r.cpuUsPerReq)) };
}

// Last, so every module-level constant above is initialised.
if (role === "upstream") await runUpstream();
else if (role === "proxy") await runProxy(flag("client", "pool"), Number(flag("upstream", "0")));
else await runMain();
