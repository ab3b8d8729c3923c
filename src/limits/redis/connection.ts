import { Redis, type RedisOptions } from "ioredis";
import type { RedisConfig } from "../../config/types.ts";

/**
 * The limiter's Redis connection. Supported URLs:
 *   redis://[user:pass@]host:port[/db]     a single primary
 *   rediss://...                            the same over TLS
 *   redis+sentinel://[:pass@]h1:p1,h2:p2/<master name>[/db]   Sentinel
 * Redis Cluster is not supported: strict mode evaluates one script over all
 * of a route's keys, which Cluster would refuse (CROSSSLOT).
 *
 * Failure behaviour: every command is bounded by `command_timeout`; nothing is
 * queued while disconnected (callers check `status === "ready"` and fall back
 * at once); ioredis reconnects by itself with capped backoff.
 */
export function createRedisClient(cfg: RedisConfig, connectionName: string): Redis {
  const common: RedisOptions = {
    connectionName,
    commandTimeout: cfg.command_timeout,
    connectTimeout: Math.max(1000, cfg.command_timeout * 10),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    // Reconnect forever, backing off to at most 1 s between tries.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  };
  let client: Redis;
  const url = cfg.url;
  if (url.startsWith("redis+sentinel://")) {
    const rest = url.slice("redis+sentinel://".length);
    const at = rest.lastIndexOf("@");
    const auth = at >= 0 ? rest.slice(0, at) : "";
    const [hostsPart, master, db] = (at >= 0 ? rest.slice(at + 1) : rest).split("/");
    if (!hostsPart || !master) throw new Error(`redis.url: sentinel URL needs hosts and a master name: ${url}`);
    const sentinels = hostsPart.split(",").map((hp) => {
      const i = hp.lastIndexOf(":");
      return i > 0 ? { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) } : { host: hp, port: 26379 };
    });
    const password = auth.includes(":") ? decodeURIComponent(auth.slice(auth.indexOf(":") + 1)) : undefined;
    client = new Redis({ ...common, sentinels, name: master, password, db: db ? Number(db) : 0 });
  } else if (url.startsWith("redis://") || url.startsWith("rediss://")) {
    client = new Redis(url, common);
  } else {
    throw new Error(`redis.url: unsupported scheme (redis://, rediss://, redis+sentinel://): ${url}`);
  }
  // Errors surface through command rejections; the event would otherwise be unhandled noise.
  client.on("error", () => {});
  return client;
}

export function isReady(client: Redis): boolean {
  return client.status === "ready";
}
