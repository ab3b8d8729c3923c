/**
 * What the bench runs against: a gateway child started from the user's
 * config (or one already running at `--target`), and with `--stub` the stub
 * upstreams (and a redis-server when `[redis]` is configured) the bench owns.
 *
 * The gateway is started from a copy of the user's config rewritten for the
 * run, written next to it (so its relative paths still resolve) as
 * `.gateway-bench-<pid>.toml` and removed at the end:
 *  - `server.listen` becomes 127.0.0.1 on a free port (never the port of a
 *    gateway the user already runs);
 *  - `[admin]` and `[metrics]` are left out (their listeners would collide
 *    with the running deployment's, and the bench does not use them);
 *  - with `--stub`, every target URL becomes a stub's and DNS discovery is
 *    dropped;
 *  - with `--stub` or the redis fault scenario, `redis.url` points at the
 *    bench's own redis-server (a fault scenario never kills a Redis the
 *    bench did not start).
 * `${ENV}` references are kept as text: the child reads the same environment.
 */
import type { Subprocess } from "bun";
import { rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { parseToml } from "../config/toml.ts";
import { toToml } from "../config/toml-write.ts";
import type { GatewayConfig } from "../config/types.ts";
import type { Endpoint } from "./request.ts";
import { selfCommand } from "./self.ts";
import { StubTarget } from "./stub.ts";

export class HarnessError extends Error {}

export interface HarnessOptions {
  configPath: string;
  target: string | null;
  stub: boolean;
  /** Run the bench's own redis-server for `[redis]` (with --stub, or for the redis fault scenario). */
  ownRedis: boolean;
  stubLatency: number;
  stubBody: number;
}

/** A redis-server the bench started (so a fault scenario may kill it). */
export class OwnedRedis {
  private proc: Subprocess | null = null;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.proc = Bun.spawn(["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], {
      stdout: "ignore",
      stderr: "ignore",
    });
    await waitForPort(this.port, "redis-server");
  }

  kill(): void {
    this.proc?.kill("SIGKILL");
    this.proc = null;
  }
}

export class Harness {
  /** Where the load goes. */
  gateway!: Endpoint;
  /** The config the gateway under test runs (stub targets when --stub). */
  config!: GatewayConfig;
  /** Upstream name → its stubs, in target order (only with --stub). */
  readonly stubs = new Map<string, StubTarget[]>();
  redis: OwnedRedis | null = null;
  private proc: Subprocess | null = null;
  private rewritten: string | null = null;
  private stderr = "";

  /** The bench started the gateway: it can send it SIGHUP. */
  get ownsGateway(): boolean {
    return this.proc !== null;
  }

  /** SIGHUP: the gateway re-reads its (unchanged) config file and swaps in the new snapshot. */
  reload(): void {
    this.proc?.kill("SIGHUP");
  }

  async start(user: GatewayConfig, opts: HarnessOptions): Promise<void> {
    if (opts.target !== null) {
      const u = new URL(opts.target);
      this.gateway = { hostname: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 80) };
      this.config = user;
      try {
        const sock = await Bun.connect({ hostname: this.gateway.hostname, port: this.gateway.port, socket: { data() {} } });
        sock.end();
      } catch (e) {
        throw new HarnessError(`nothing answers at --target ${opts.target} (${e instanceof Error ? e.message : String(e)})`);
      }
      return;
    }
    const path = resolve(opts.configPath);
    const raw = parseToml(await Bun.file(path).text(), path);
    const port = await freePort();
    raw.server = { ...((raw.server as Record<string, unknown>) ?? {}), listen: `127.0.0.1:${port}` };
    delete raw.admin;
    delete raw.metrics;
    if (opts.stub) {
      for (const [i, up] of (((raw.upstreams as Record<string, unknown>[]) ?? []).entries())) {
        const name = user.upstreams[i]?.name ?? String(up.name);
        const count = Math.max(1, user.upstreams[i]?.targets.length ?? 1);
        const stubs: StubTarget[] = [];
        for (let t = 0; t < count; t++) {
          const s = new StubTarget({ latencyMs: opts.stubLatency, bodyBytes: opts.stubBody });
          await s.start(await freePort());
          stubs.push(s);
        }
        this.stubs.set(name, stubs);
        const old = (up.targets as Record<string, unknown>[] | undefined) ?? [];
        up.targets = stubs.map((s, t) => ({ ...(old[t] ?? {}), url: s.url }));
        delete up.discovery;
      }
    }
    if (opts.ownRedis && raw.redis !== undefined) {
      if (Bun.which("redis-server") === null) throw new HarnessError("[redis] is configured and the bench runs its own redis-server (--stub or the redis fault), but redis-server is not installed");
      this.redis = new OwnedRedis(await freePort());
      await this.redis.start();
      raw.redis = { ...(raw.redis as Record<string, unknown>), url: `redis://127.0.0.1:${this.redis.port}` };
    }
    this.rewritten = join(dirname(path), `.gateway-bench-${process.pid}-${basename(path)}`);
    writeFileSync(this.rewritten, toToml(raw));
    this.config = await loadConfig(this.rewritten);
    await this.spawnGateway();
  }

  private async spawnGateway(): Promise<void> {
    const proc = Bun.spawn([...selfCommand(), "--config", this.rewritten!], { cwd: dirname(this.rewritten!), stdout: "ignore", stderr: "pipe" });
    this.proc = proc;
    const dec = new TextDecoder();
    void (async () => {
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
        this.stderr += dec.decode(chunk, { stream: true });
        if (this.stderr.length > 64_000) this.stderr = this.stderr.slice(-32_000);
      }
    })();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = /"msg":"gateway listening","url":"http:\/\/([^"]+):(\d+)"/.exec(this.stderr);
      if (m !== null) {
        this.gateway = { hostname: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
        return;
      }
      if (proc.exitCode !== null) throw new HarnessError(`the gateway exited with ${proc.exitCode} before it listened:\n${this.stderr.trim()}`);
      if (Date.now() > deadline) throw new HarnessError(`the gateway did not start within 20 s:\n${this.stderr.trim()}`);
      await Bun.sleep(20);
    }
  }

  /** The gateway child's log lines so far (for error reports). */
  log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.proc !== null) {
      this.proc.kill("SIGTERM");
      const done = await Promise.race([this.proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      if (!done) this.proc.kill("SIGKILL");
      this.proc = null;
    }
    for (const list of this.stubs.values()) for (const s of list) s.stop();
    this.redis?.kill();
    if (this.rewritten !== null) rmSync(this.rewritten, { force: true });
  }
}

/** A free TCP port below 32768: the kernel hands out ports above as client ports, which could take a killed stub's port before it restarts. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    try {
      const l = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      l.stop(true);
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new HarnessError("no free port found below 32768");
}

export async function waitForPort(port: number, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      sock.end();
      return;
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new HarnessError(`${what} did not listen on 127.0.0.1:${port} within ${ms} ms`);
}
