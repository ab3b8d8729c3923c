import type { RedisClient } from "../../util/redis.ts";

/**
 * A Lua script run with EVALSHA. The SHA-1 is computed here, so nothing has
 * to be loaded first; a server that lacks the script (fresh, restarted,
 * failed over, SCRIPT FLUSH, or in a Cluster a node that never ran it)
 * answers NOSCRIPT, and the call is retried once as EVAL, which also caches
 * the script on that server. Loading with SCRIPT LOAD instead would reach
 * only one node of a Cluster.
 */
export class LoadedScript {
  readonly sha: string;

  constructor(
    private readonly redis: RedisClient,
    readonly source: string,
  ) {
    this.sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  }

  async run(keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return await this.redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
