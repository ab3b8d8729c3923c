import type { Redis } from "ioredis";

/**
 * A Lua script loaded once with SCRIPT LOAD and run with EVALSHA. When the
 * server answers NOSCRIPT (restarted, failed over, SCRIPT FLUSH), the script
 * is loaded again and the call retried once.
 */
export class LoadedScript {
  private sha: string | null = null;
  private loading: Promise<string> | null = null;

  constructor(
    private readonly redis: Redis,
    readonly source: string,
  ) {
    // A fresh connection (first or after a reconnect) may face a server that
    // lost its scripts; forget the sha so the next call loads before running.
    redis.on("ready", () => {
      this.sha = null;
    });
  }

  private load(): Promise<string> {
    this.loading ??= (this.redis.script("LOAD", this.source) as Promise<string>).then(
      (sha) => {
        this.sha = sha;
        this.loading = null;
        return sha;
      },
      (err) => {
        this.loading = null;
        throw err;
      },
    );
    return this.loading;
  }

  async run(keys: string[], args: (string | number)[]): Promise<unknown> {
    const sha = this.sha ?? (await this.load());
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      this.sha = null;
      const again = await this.load();
      return await this.redis.evalsha(again, keys.length, ...keys, ...args);
    }
  }
}
