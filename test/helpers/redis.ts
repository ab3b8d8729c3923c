import { freePort } from "./ports.ts";

/** A real redis-server on loopback, killed and restarted at will. No mocks. */
export interface RedisProcess {
  port: number;
  url: string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Start again on the same port (empty dataset). */
  restart(): Promise<void>;
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
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      try {
        const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
        sock.end();
        return;
      } catch {
        await Bun.sleep(20);
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
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
    stop: kill,
  };
}
