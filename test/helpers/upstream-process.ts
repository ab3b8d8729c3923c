import { resolve } from "node:path";

const SCRIPT = resolve(import.meta.dir, "../fixtures/upstream-server.ts");

/** A real upstream server process that a test can make sick, slow or kill. */
export interface UpstreamProcess {
  name: string;
  port: number;
  url: string;
  control(params: { status?: number; delay?: number; health?: number }): Promise<void>;
  /** SIGKILL: connections reset, port refuses. */
  kill(): Promise<void>;
}

export async function startUpstreamProcess(name: string): Promise<UpstreamProcess> {
  const proc = Bun.spawn(["bun", SCRIPT, name], { stdout: "pipe", stderr: "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (!/LISTENING (\d+)/.test(text)) {
    if (Date.now() > deadline) throw new Error(`upstream ${name} did not start`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`upstream ${name} exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(text.match(/LISTENING (\d+)/)![1]);
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    port,
    url,
    async control(params) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) q.set(k, String(v));
      await (await fetch(`${url}/__ctl?${q}`, { method: "POST" })).text();
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
