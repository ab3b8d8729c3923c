/**
 * How to start another process of this same program: the compiled ./gateway
 * runs itself; from source, Bun runs src/main.ts. The bench harness starts
 * the gateway under test and its stub upstreams this way, so `gateway bench`
 * needs nothing but the binary.
 */
import { join } from "node:path";

export function selfCommand(): string[] {
  if (process.env.GATEWAY_COMPILED === "1") return [process.execPath];
  return [process.execPath, join(import.meta.dir, "../main.ts")];
}
