/**
 * Shared by the end-to-end benches: process management, nginx configs, the
 * wrk load generator, CPU accounting from /proc. Loopback only, bounded runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const dir = mkdtempSync(join(tmpdir(), "gw-bench-"));
const children: ReturnType<typeof Bun.spawn>[] = [];

export function requireTools(...tools: string[]): void {
  for (const tool of tools) {
    if (!Bun.which(tool)) {
      console.error(`${tool} is not installed (apt-get install -y ${tool})`);
      process.exit(1);
    }
  }
}

/**
 * Proxy processes per peer (gateway workers, nginx worker_processes) and wrk
 * threads. 1: proxies pinned to CPU 0, upstream and wrk to CPU 1. More: nothing
 * is pinned (the proxies get every core, shared with the load), see
 * README "Multi-core".
 */
export const scale = { workers: 1 };

/** taskset prefix pinning to one CPU, when there are at least 2 and the run is single-worker. */
export const pin = (cpu: number): string[] =>
  scale.workers === 1 && Bun.which("taskset") && navigator.hardwareConcurrency >= 2 ? ["taskset", "-c", String(cpu)] : [];

export function spawnChild(cmd: string[], env?: Record<string, string>): ReturnType<typeof Bun.spawn> {
  const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore", env: { ...process.env, ...env } });
  children.push(p);
  return p;
}

/** SIGTERM, not SIGKILL: an nginx master killed outright leaves its workers behind. */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
}
process.on("exit", killChildren);
process.on("SIGINT", () => process.exit(130));

export async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(25);
  }
  throw new Error(`nothing listening on ${port}`);
}

export function nginxConf(port: number, body: string): string {
  const path = join(dir, `nginx-${port}.conf`);
  writeFileSync(
    path,
    `worker_processes ${scale.workers};
daemon off;
master_process on;
pid ${dir}/nginx-${port}.pid;
error_log ${dir}/nginx-${port}.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/cb-${port};
  proxy_temp_path ${dir}/pt-${port};
  fastcgi_temp_path ${dir}/ft-${port};
  uwsgi_temp_path ${dir}/ut-${port};
  scgi_temp_path ${dir}/st-${port};
  ${body}
}
`,
  );
  return path;
}

/**
 * nginx as the peer proxy on CPU 0: 1 worker, HTTP/1.1 keep-alive to the
 * upstreams, the same forwarding headers the gateway sets, `/api/` stripped
 * as the gateway's route does. Resolves once it listens.
 */
export async function startNginxProxy(port: number, upstreamPorts: readonly number[], keepalive = 1024): Promise<ReturnType<typeof Bun.spawn>> {
  const conf = nginxConf(
    port,
    `upstream backend { ${upstreamPorts.map((p) => `server 127.0.0.1:${p};`).join(" ")} keepalive ${keepalive}; }
  server { listen 127.0.0.1:${port}; keepalive_requests 1000000;
    location /api/ { proxy_pass http://backend/; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $http_host; } }`,
  );
  const proc = spawnChild([...pin(0), "nginx", "-c", conf]);
  await waitPort(port);
  return proc;
}

/** A static nginx upstream on CPU 1: cheap and steady, so it is never the bottleneck being measured. */
export async function startStaticUpstream(port: number): Promise<void> {
  const conf = nginxConf(port, `server { listen 127.0.0.1:${port} reuseport; keepalive_requests 1000000; location / { return 200 '{"ok":true,"service":"bench-upstream"}'; } }`);
  spawnChild([...pin(1), "nginx", "-c", conf]);
  await waitPort(port);
}

/** A throwaway redis-server on CPU 1 (no persistence), when the machine has one: its port, or 0 without redis-server. */
export async function startBenchRedis(port: number): Promise<number> {
  if (Bun.which("redis-server") === null) return 0;
  spawnChild([...pin(1), "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
  // Redis speaks no HTTP (waitPort's probe): wait for a TCP connect instead.
  for (let i = 0; i < 200; i++) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
    if (ok) return port;
    await Bun.sleep(25);
  }
  throw new Error(`redis-server not listening on ${port}`);
}

/** CPU ticks (utime+stime) of a process, its threads, and its child processes (nginx workers). */
export function cpuTicks(pid: number): number {
  const pids = [pid];
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    if (kids) pids.push(...kids.split(/\s+/).map(Number));
  } catch {}
  let total = 0;
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return total;
}
const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

export interface Sample { rps: number; p50: number; p99: number; cpuUs: number; errors: number; non2xx: number }

function parseLatency(text: string, pct: string): number {
  const m = text.match(new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)`, "m"));
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

export interface LoadOptions { connections: number; seconds: number; luaScript?: string; headers?: string[]; path?: string }

/** One wrk run (pinned to CPU 1) against 127.0.0.1:port, with the CPU the proxy process used per request. */
export async function load(port: number, pid: number | null, o: LoadOptions): Promise<Sample> {
  const cmd = [...pin(1), "wrk", `-t${scale.workers}`, `-c${o.connections}`, `-d${o.seconds}s`, "--latency"];
  if (o.luaScript) cmd.push("-s", o.luaScript);
  for (const h of o.headers ?? []) cmd.push("-H", h);
  cmd.push(`http://127.0.0.1:${port}${o.path ?? "/api/bench"}`);
  const before = pid ? cpuTicks(pid) : 0;
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  const after = pid ? cpuTicks(pid) : 0;
  const total = Number(text.match(/(\d+) requests in/)?.[1] ?? 0);
  const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const sockErr = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const errors = sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { rps, p50: parseLatency(text, "50"), p99: parseLatency(text, "99"), cpuUs: pid && total ? ((after - before) * TICK_US) / total : NaN, errors, non2xx };
}

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

export function postScript(bytes: number): string {
  const path = join(dir, `post-${bytes}.lua`);
  writeFileSync(path, `wrk.method = "POST"\nwrk.body = string.rep("x", ${bytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
  return path;
}

/** Rounds alternating the order of `targets`, medians per target, one markdown table. A target's path and script replace the options'. */
export async function compare(
  targets: { name: string; port: number; pid: number | null; headers?: string[]; path?: string; luaScript?: string }[],
  rounds: number,
  o: LoadOptions,
): Promise<{ table: string[]; medians: Record<string, { rps: number; p50: number; p99: number; cpu: number }>; samples: Record<string, Sample[]> }> {
  const opts = (t: (typeof targets)[number], seconds: number): LoadOptions => ({
    ...o,
    seconds,
    headers: t.headers ?? o.headers,
    path: t.path ?? o.path,
    luaScript: t.luaScript ?? o.luaScript,
  });
  for (const t of targets) await load(t.port, null, opts(t, 1)); // warm pools and JITs
  const samples: Record<string, Sample[]> = {};
  for (const t of targets) samples[t.name] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate the order each round so drift on a shared machine hits all alike.
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) samples[t.name]!.push(await load(t.port, t.pid, opts(t, o.seconds)));
  }
  const table = ["| target | req/s (median) | p50 ms | p99 ms | CPU µs/req | non-2xx | socket errors |", "| --- | --- | --- | --- | --- | --- | --- |"];
  const medians: Record<string, { rps: number; p50: number; p99: number; cpu: number }> = {};
  for (const t of targets) {
    const s = samples[t.name]!;
    const m = { rps: median(s.map((x) => x.rps)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), cpu: median(s.map((x) => x.cpuUs)) };
    medians[t.name] = m;
    table.push(
      `| ${t.name} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${Number.isNaN(m.cpu) ? "-" : m.cpu.toFixed(1)} | ${s.reduce((a, x) => a + x.non2xx, 0)} | ${s.reduce((a, x) => a + x.errors, 0)} |`,
    );
  }
  return { table, medians, samples };
}

export function option(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}
