/**
 * Stub upstreams for `gateway bench --stub`: so the suite runs anywhere,
 * each upstream target of the user's config is replaced by a small server of
 * the same binary (`gateway bench-stub`), answering every request after a
 * configured latency with a body of a configured size. Each stub is its own
 * process so a fault scenario can kill it and start it again on the same
 * port, as a real target dies and comes back.
 *
 * `PUT /__bench/latency` with a body like "200ms" changes the latency at run
 * time (the slow-upstream scenario).
 */
import type { Subprocess } from "bun";
import { parseLatency } from "./config.ts";
import { selfCommand } from "./self.ts";

export interface StubOptions {
  port: number;
  latencyMs: number;
  bodyBytes: number;
}

/** The stub server itself (runs in the `bench-stub` child). */
export function serveStub(opts: StubOptions): { port: number; stop(): void } {
  let latency = opts.latencyMs;
  // A JSON body of exactly bodyBytes bytes ({"stub":"aaa…"}), or plain bytes when too small for that.
  const isJson = opts.bodyBytes >= 12;
  const bytes = isJson ? new TextEncoder().encode(`{"stub":"${"a".repeat(opts.bodyBytes - 11)}"}`) : new Uint8Array(opts.bodyBytes).fill(0x61);
  const type = isJson ? "application/json" : "application/octet-stream";
  const answer = () => new Response(bytes, { headers: { "content-type": type } });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port,
    reusePort: false,
    async fetch(req) {
      const url = req.url;
      if (req.method === "PUT" && url.endsWith("/__bench/latency")) {
        latency = parseLatency(await req.text());
        return new Response("ok\n");
      }
      // Drain a request body so keep-alive framing stays intact.
      if (req.body !== null) await req.arrayBuffer();
      if (latency <= 0) return answer();
      return new Promise<Response>((resolve) => setTimeout(() => resolve(answer()), latency));
    },
  });
  return { port: server.port!, stop: () => server.stop(true) };
}

/** A stub in its own process, killable and restartable on the same port. */
export class StubTarget {
  private proc: Subprocess | null = null;
  port = 0;

  constructor(private readonly opts: Omit<StubOptions, "port">) {}

  async start(port = 0): Promise<void> {
    const cmd = [...selfCommand(), "bench-stub", "--port", String(port), "--latency", `${this.opts.latencyMs * 1000}us`, "--body", String(this.opts.bodyBytes)];
    const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" });
    this.proc = proc;
    const reader = proc.stdout.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes("\n")) {
      if (Date.now() > deadline) throw new Error("bench stub did not start");
      const { done, value } = await reader.read();
      if (done) throw new Error("bench stub exited before it listened");
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    this.port = Number(text.trim());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** SIGKILL: the target dies as a crashed process does, connections reset. */
  kill(): void {
    this.proc?.kill("SIGKILL");
    this.proc = null;
  }

  async restart(): Promise<void> {
    this.kill();
    // The same port: the gateway's config names it. Retry while the old socket lingers.
    for (let i = 0; i < 50; i++) {
      try {
        await this.start(this.port);
        return;
      } catch {
        await Bun.sleep(50);
      }
    }
    throw new Error(`bench stub could not listen on ${this.port} again`);
  }

  async setLatency(ms: number): Promise<void> {
    await fetch(`${this.url}/__bench/latency`, { method: "PUT", body: `${Math.round(ms * 1000)}us` });
  }

  stop(): void {
    this.kill();
  }
}

/** `gateway bench-stub --port N --latency 1ms --body 512`: prints its port, serves until killed. */
export function stubMain(argv: string[]): number {
  let port = 0;
  let latency = 0;
  let body = 64;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === "--port" && v !== undefined) port = Number(v);
    else if (a === "--latency" && v !== undefined) latency = parseLatency(v);
    else if (a === "--body" && v !== undefined) body = Number(v);
    else {
      console.error(`gateway bench-stub: unknown argument "${a}"`);
      return 2;
    }
    i++;
  }
  const s = serveStub({ port, latencyMs: latency, bodyBytes: body });
  console.log(s.port);
  return 0;
}
