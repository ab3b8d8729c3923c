import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** A real gateway process (from source, or the compiled ./gateway) on a loopback port. */
export interface GatewayProcess {
  url: string;
  /** The admin API's base URL, when [admin] is configured. */
  adminUrl: string | null;
  /** The [metrics] listener's scrape URL, when it has its own. */
  metricsUrl: string | null;
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
  configPath: string;
  /** stdout (access log) and stderr collected so far. */
  stdout(): string;
  stderr(): string;
  /** Rewrite the config file (for SIGHUP reload tests). */
  writeConfig(toml: string): void;
  signal(sig: "SIGTERM" | "SIGHUP" | "SIGINT" | "SIGKILL"): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

export function writeTempConfig(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "gw-test-"));
  const path = join(dir, "config.toml");
  writeFileSync(path, toml);
  return path;
}

export async function startGateway(
  toml: string,
  opts: { binary?: boolean; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<GatewayProcess> {
  return startGatewayAt(writeTempConfig(toml), opts);
}

/** startGateway on a config file that already exists (a restart of the same deployment: same directory, same state file). */
export async function startGatewayAt(
  configPath: string,
  opts: { binary?: boolean; env?: Record<string, string>; timeoutMs?: number; command?: string[] } = {},
): Promise<GatewayProcess> {
  const cmd = opts.command ?? (opts.binary ? [join(ROOT, "gateway"), "--config", configPath] : ["bun", join(ROOT, "src/main.ts"), "--config", configPath]);
  const proc = Bun.spawn(cmd, {
    // Never the repo: the binary must not find sources or node_modules on disk.
    cwd: dirname(configPath),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) onText(dec.decode(chunk, { stream: true }));
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>, (t) => (out += t));
  void pump(proc.stderr as ReadableStream<Uint8Array>, (t) => (err += t));
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let url = "";
  while (!url) {
    const m = err.match(/"msg":"gateway listening","url":"([^"]+)"/);
    if (m) url = m[1]!;
    else if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}:\n${err}`);
    else if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`gateway did not start:\n${err}`);
    } else await Bun.sleep(20);
  }
  return {
    url,
    adminUrl: err.match(/"admin":"(http[^"]+)"/)?.[1] ?? null,
    metricsUrl: err.match(/"metrics":"(http[^"]+)"/)?.[1] ?? null,
    port: Number(new URL(url).port),
    proc,
    configPath,
    stdout: () => out,
    stderr: () => err,
    writeConfig: (t) => writeFileSync(configPath, t),
    signal: (s) => proc.kill(s),
    exited: proc.exited,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await proc.exited;
        clearTimeout(t);
      }
    },
  };
}

/** Run the CLI to completion (for --check, --version, bad configs). */
export async function runCli(args: string[], opts: { binary?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = opts.binary ? [join(ROOT, "gateway"), ...args] : ["bun", join(ROOT, "src/main.ts"), ...args];
  const proc = Bun.spawn(cmd, { cwd: tmpdir(), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Send raw bytes over one TCP connection and collect what comes back until close or timeout. */
export async function rawRequest(port: number, data: string | Uint8Array, waitMs = 1000): Promise<string> {
  return await new Promise<string>((resolveText) => {
    let buf = "";
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolveText(buf);
      }
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(data);
        },
        data(_s, d) {
          buf += d.toString("latin1");
        },
        close: done,
        error: done,
      },
    }).catch(done);
    setTimeout(done, waitMs);
  });
}
