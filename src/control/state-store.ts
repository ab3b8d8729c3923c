/**
 * Where the runtime state (runtime-state.ts) survives a restart.
 *
 * - File (`[admin] state_file`, default gateway-state.json next to the
 *   config): written atomically (a temporary file in the same directory,
 *   fsync, rename over the old one), so a crash mid-write leaves either the
 *   old or the new document, never half of one. Mode 0600: it holds key
 *   digests.
 * - Redis, when `[redis]` is configured: one key `<key_prefix>admin:state`
 *   holding the same JSON, so every gateway instance sharing the Redis starts
 *   with the same consumers. The file is written too, as the local copy used
 *   when Redis cannot be reached at start.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { RedisConfig } from "../config/types.ts";
import { createRedisClient, type RedisClient } from "../util/redis.ts";
import { emptyState, parseState, type RuntimeState } from "./runtime-state.ts";

export interface StateStore {
  readonly kind: "file" | "redis";
  load(): Promise<RuntimeState>;
  save(state: RuntimeState): Promise<void>;
  close(): void;
}

export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function fileStateStore(path: string): StateStore {
  return {
    kind: "file",
    async load() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
        throw e;
      }
      return parseState(text);
    },
    async save(state) {
      writeFileAtomic(path, JSON.stringify(state, null, 2) + "\n");
    },
    close() {},
  };
}

export function redisStateStore(redis: RedisConfig, path: string): StateStore {
  const file = fileStateStore(path);
  const key = `${redis.key_prefix}admin:state`;
  const client: RedisClient = createRedisClient({ url: redis.url, command_timeout: Math.max(redis.command_timeout, 2_000) }, "gateway-admin-state");
  // The client queues nothing while disconnected (util/redis.ts): wait for it, bounded.
  const connected = (): Promise<void> =>
    client.status === "ready"
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((ok) => client.once("ready", () => ok())),
          Bun.sleep(3_000).then(() => Promise.reject(new Error("Redis not ready after 3s"))),
        ]);
  return {
    kind: "redis",
    async load() {
      try {
        await connected();
        const text = await client.get(key);
        if (text !== null) return parseState(text);
      } catch (e) {
        console.error(JSON.stringify({ time: new Date().toISOString(), level: "warn", msg: "admin state: Redis unreachable at load; using the state file", error: String(e) }));
      }
      return file.load();
    },
    async save(state) {
      const text = JSON.stringify(state);
      await file.save(state);
      await connected();
      await client.set(key, text);
    },
    close() {
      client.disconnect();
    },
  };
}
