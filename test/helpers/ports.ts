import { createServer } from "node:net";

/**
 * A free TCP port below 32768 (ports above collide with the kernel's ephemeral
 * client ports). For servers that cannot listen on port 0 themselves
 * (redis-server, nginx); Bun servers in tests use port 0 directly.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free port found below 32768");
}
