import { Command } from "ioredis";
import type { RedisClient } from "./redis.ts";

/**
 * A Lua script run with EVALSHA, with binary arguments and replies (Buffers,
 * replyEncoding null): stored records and responses are bytes. A server that
 * lacks the script (fresh, restarted, failed over, a Cluster node that never
 * ran it) answers NOSCRIPT and the call is retried once as EVAL, as
 * limits/redis/script.ts does for its text scripts.
 */
export class BinaryScript {
  private readonly sha: string;
  constructor(
    private readonly redis: RedisClient,
    private readonly source: string,
  ) {
    this.sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  }

  private send(name: string, args: (string | Buffer | number)[]): Promise<unknown> {
    return this.redis.sendCommand(new Command(name, args, { replyEncoding: null })) as Promise<unknown>;
  }

  /** Run with `keys` (all in one Cluster slot) and `args`. */
  async run(keys: string | string[], args: (string | Buffer | number)[]): Promise<unknown> {
    const k = typeof keys === "string" ? [keys] : keys;
    try {
      return await this.send("evalsha", [this.sha, k.length, ...k, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return await this.send("eval", [this.source, k.length, ...k, ...args]);
    }
  }
}
