import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { until } from "./wait.ts";

/**
 * A real DNS server for discovery tests: dnsmasq (apt: dnsmasq) in the
 * foreground on 127.0.0.1 and a port below 32768, authoritative-looking for
 * what it is given and nothing else (no upstream servers, no /etc/hosts):
 *
 *   hosts      addn-hosts file lines ("127.0.0.1 users.test"), rewritten and re-read on SIGHUP
 *   srv        srv-host lines ("_http._tcp.users.test,users.test,3001,10,5"), read at (re)start
 *   records    host-record lines ("other.test,127.0.0.3"), read at (re)start
 *
 * Names under `local` (default "test") that it does not know get NXDOMAIN.
 * Answers carry TTL `ttl` seconds (--local-ttl).
 */
export interface Dnsmasq {
  readonly port: number;
  /** "127.0.0.1:PORT", for [discovery] nameservers. */
  readonly server: string;
  /** Rewrite the hosts file and make dnsmasq read it again (SIGHUP); resolves once it has. */
  setHosts(lines: string[]): Promise<void>;
  /** Stop answering (the process is killed; the port stays free for restart()). */
  stop(): Promise<void>;
  /** Start again on the same port, with new SRV / host-record lines if given. */
  restart(opts?: { srv?: string[]; records?: string[] }): Promise<void>;
  log(): string;
}

export async function startDnsmasq(opts: { hosts?: string[]; srv?: string[]; records?: string[]; ttl?: number; local?: string } = {}): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), "gw-dns-"));
  const hostsFile = join(dir, "hosts");
  const confFile = join(dir, "dnsmasq.conf");
  writeFileSync(hostsFile, (opts.hosts ?? []).join("\n") + "\n");
  const writeConf = (srv: string[], records: string[]) =>
    writeFileSync(confFile, [...srv.map((l) => `srv-host=${l}`), ...records.map((l) => `host-record=${l}`)].join("\n") + "\n");
  writeConf(opts.srv ?? [], opts.records ?? []);
  let log = "";
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  let port = 0;

  const spawn = async (p: number): Promise<boolean> => {
    const child = Bun.spawn(
      [
        "dnsmasq",
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        `--port=${p}`,
        `--addn-hosts=${hostsFile}`,
        `--conf-file=${confFile}`,
        `--local=/${opts.local ?? "test"}/`,
        `--local-ttl=${opts.ttl ?? 1}`,
        "--pid-file=",
        "--user=root",
        "--log-facility=-",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr as ReadableStream<Uint8Array>) log += dec.decode(chunk, { stream: true });
    })();
    const before = log.length;
    // Up once it has read the hosts file; a port taken (UDP) makes it exit at once.
    const ok = await until("dnsmasq start", () => child.exitCode !== null || log.slice(before).includes(hostsFile), 5000).then(
      () => child.exitCode === null,
      () => false,
    );
    if (!ok) {
      child.kill("SIGKILL");
      return false;
    }
    proc = child;
    port = p;
    return true;
  };

  for (let attempt = 0; ; attempt++) {
    if (await spawn(await freePort())) break;
    if (attempt >= 5) throw new Error(`dnsmasq did not start:\n${log}`);
  }

  const stop = async () => {
    if (proc !== null && proc.exitCode === null) {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    proc = null;
  };
  return {
    get port() {
      return port;
    },
    get server() {
      return `127.0.0.1:${port}`;
    },
    async setHosts(lines) {
      writeFileSync(hostsFile, lines.join("\n") + "\n");
      const reads = log.split(hostsFile).length;
      proc!.kill("SIGHUP");
      await until("dnsmasq re-read its hosts file", () => log.split(hostsFile).length > reads, 5000);
    },
    stop,
    async restart(next = {}) {
      await stop();
      writeConf(next.srv ?? opts.srv ?? [], next.records ?? opts.records ?? []);
      if (!(await spawn(port))) throw new Error(`dnsmasq did not restart on ${port}:\n${log}`);
    },
    log: () => log,
  };
}
