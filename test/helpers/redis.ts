import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

/** A real redis-server on loopback, killed and restarted at will. No mocks. */
export interface RedisProcess {
  port: number;
  url: string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Start again on the same port (empty dataset). */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  stop(): Promise<void>;
}

export function redisAvailable(): boolean {
  return Bun.which("redis-server") !== null;
}

export async function startRedis(): Promise<RedisProcess> {
  if (!redisAvailable()) throw new Error("redis-server is not installed (the test command installs it: see .ci/run)");
  const port = await freePort();
  let proc: ReturnType<typeof Bun.spawn> | null = null;

  const launch = async () => {
    proc = Bun.spawn(
      ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
      { stdout: "ignore", stderr: "ignore" },
    );
    await waitForPort(port, "redis-server");
  };

  await launch();
  const kill = async () => {
    if (!proc) return;
    proc.kill("SIGKILL");
    await proc.exited;
    proc = null;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    stop: async () => {
      proc?.kill("SIGCONT");
      await kill();
    },
  };
}

/** A scratch directory for config and node files, removed by the caller's stop(). */
function scratchDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `gw-${tag}-`));
}

async function waitForPort(port: number, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      sock.end();
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
  throw new Error(`${what} did not start on port ${port}`);
}

/** One command on a fresh connection (redis-cli), for setup checks. */
async function cli(port: number, ...args: string[]): Promise<string> {
  const p = Bun.spawn(["redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return out.trim();
}

async function stopProc(proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  proc.kill("SIGKILL");
  await proc.exited;
}

export interface SentinelSetup {
  master: RedisProcess;
  /** Port of the replica (when asked for): the one Sentinel promotes when the master dies. */
  replicaPort: number | null;
  sentinelPort: number;
  masterName: string;
  /** redis+sentinel://127.0.0.1:<sentinel>/<master name> */
  url: string;
  stop(): Promise<void>;
}

/**
 * A master (startRedis), optionally one replica, watched by one sentinel
 * (`redis-server <conf> --sentinel`), quorum 1: killing the master fails
 * over to the replica in about 2 s.
 */
export async function startSentinel(opts: { masterName?: string; replica?: boolean } = {}): Promise<SentinelSetup> {
  const masterName = opts.masterName ?? "gwmaster";
  const master = await startRedis();
  const dir = scratchDir("sentinel");
  let replica: ReturnType<typeof Bun.spawn> | null = null;
  let replicaPort: number | null = null;
  if (opts.replica) {
    replicaPort = await freePort();
    replica = Bun.spawn(
      ["redis-server", "--port", String(replicaPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--replicaof", "127.0.0.1", String(master.port), "--dir", dir],
      // The replica writes the synced RDB to its dir: keep it in the scratch dir.
      { stdout: "ignore", stderr: "ignore", cwd: dir },
    );
    await waitForPort(replicaPort, "redis replica");
    // Linked before the sentinel starts, so its first INFO of the master lists the replica.
    const deadline = Date.now() + 5000;
    while (!(await cli(replicaPort, "INFO", "replication")).includes("master_link_status:up")) {
      if (Date.now() > deadline) throw new Error("replica never linked to the master");
      await Bun.sleep(50);
    }
  }
  const sentinelPort = await freePort();
  const conf = join(dir, "sentinel.conf");
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      "bind 127.0.0.1",
      "protected-mode no",
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`,
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn(["redis-server", conf, "--sentinel"], { stdout: "ignore", stderr: "ignore" });
  const stop = async () => {
    await stopProc(proc);
    if (replica) await stopProc(replica);
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(sentinelPort, "redis sentinel");
    const deadline = Date.now() + 5000;
    while (!(await cli(sentinelPort, "SENTINEL", "get-master-addr-by-name", masterName)).includes(String(master.port))) {
      if (Date.now() > deadline) throw new Error("sentinel does not know the master");
      await Bun.sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { master, replicaPort, sentinelPort, masterName, url: `redis+sentinel://127.0.0.1:${sentinelPort}/${masterName}`, stop };
}

export interface ClusterSetup {
  ports: number[];
  /** redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,... */
  url: string;
  stop(): Promise<void>;
}

/**
 * A port below 22768 whose cluster bus port (port + 10000) is free too, so
 * both stay below 32768 (freePort's range is too high for that).
 */
async function clusterPort(taken: Set<number>): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 12000 + Math.floor(Math.random() * 10700);
    if (taken.has(port) || taken.has(port + 10000) || taken.has(port - 10000)) continue;
    if ((await free(port)) && (await free(port + 10000))) return port;
  }
  throw new Error("no free port pair for a cluster node");
}

/** A Redis Cluster of `masters` nodes, no replicas, every slot assigned (redis-cli --cluster create). */
export async function startCluster(masters = 3): Promise<ClusterSetup> {
  if (Bun.which("redis-cli") === null) throw new Error("redis-cli is not installed");
  const dir = scratchDir("cluster");
  const taken = new Set<number>();
  const ports: number[] = [];
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  const stop = async () => {
    for (const p of procs) await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      ports.push(port);
      procs.push(
        Bun.spawn(
          [
            "redis-server",
            "--port", String(port),
            "--bind", "127.0.0.1",
            "--protected-mode", "no",
            "--cluster-enabled", "yes",
            "--cluster-config-file", join(dir, `nodes-${port}.conf`),
            "--cluster-node-timeout", "2000",
            "--dir", dir,
            "--save", "",
            "--appendonly", "no",
          ],
          { stdout: "ignore", stderr: "ignore" },
        ),
      );
    }
    for (const port of ports) await waitForPort(port, "redis cluster node");
    const create = Bun.spawn(["redis-cli", "--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-yes"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(create.stdout).text();
    if ((await create.exited) !== 0) throw new Error(`redis-cli --cluster create failed: ${out.slice(-500)}`);
    // Every node must agree the cluster is up before clients connect.
    const deadline = Date.now() + 10_000;
    for (const port of ports) {
      while (!(await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} never reached cluster_state:ok`);
        await Bun.sleep(50);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`, stop };
}
