import { describe, expect, test } from "bun:test";
import { Cluster, Redis } from "ioredis";
import { createRedisClient, parseRedisUrl } from "../../src/util/redis.ts";
import { redisConfig } from "../limits/helpers.ts";

describe("redis.url", () => {
  test("unsupported schemes are refused with the key path", () => {
    expect(() => createRedisClient(redisConfig("http://127.0.0.1:6379"), "t")).toThrow(
      'redis.url: expected a URL starting with redis://, rediss://, redis+sentinel:// or redis+cluster://, got "http://127.0.0.1:6379"',
    );
    expect(() => createRedisClient(redisConfig("redis+cluster://h:1/2"), "t")).toThrow(/redis\.url: redis\+cluster:\/\/ takes no path/);
  });
  test("a sentinel URL needs a master name", () => {
    expect(() => createRedisClient(redisConfig("redis+sentinel://127.0.0.1:26379"), "t")).toThrow(/master name/);
  });
  test("a sentinel URL is accepted (hosts, master, password)", () => {
    const c = createRedisClient(redisConfig("redis+sentinel://:s3cret@127.0.0.1:1,127.0.0.1:2/mymaster/2"), "t") as Redis;
    expect(c).toBeInstanceOf(Redis);
    expect(c.options.sentinels).toEqual([
      { host: "127.0.0.1", port: 1 },
      { host: "127.0.0.1", port: 2 },
    ]);
    expect(c.options.name).toBe("mymaster");
    expect(c.options.password).toBe("s3cret");
    expect(c.options.db).toBe(2);
    c.disconnect();
  });
  test("a cluster URL gives a Cluster over the seed nodes, with credentials per node", () => {
    const c = createRedisClient(redisConfig("redis+cluster://app:p%40ss@127.0.0.1:1,[::1]:2,localhost", { command_timeout: 70 }), "t") as Cluster;
    expect(c).toBeInstanceOf(Cluster);
    expect(c.options.redisOptions?.username).toBe("app");
    expect(c.options.redisOptions?.password).toBe("p@ss");
    expect(c.options.redisOptions?.commandTimeout).toBe(70);
    expect(c.options.enableOfflineQueue).toBe(false);
    c.disconnect();
  });
  test("parseRedisUrl: hosts default to the well-known ports", () => {
    expect(parseRedisUrl("redis+sentinel://a,b:1/m")).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "a", port: 26379 },
        { host: "b", port: 1 },
      ],
      master: "m",
      db: 0,
      username: undefined,
      password: undefined,
    });
    expect(parseRedisUrl("redis+cluster://a")).toEqual({ kind: "cluster", nodes: [{ host: "a", port: 6379 }], username: undefined, password: undefined });
    expect(parseRedisUrl("rediss://u:p@h:1/2")).toEqual({ kind: "single", url: "rediss://u:p@h:1/2" });
  });
  test("commands fail fast while disconnected instead of queueing", async () => {
    for (const url of ["redis://127.0.0.1:1", "redis+sentinel://127.0.0.1:1/m", "redis+cluster://127.0.0.1:1"]) {
      const c = createRedisClient(redisConfig(url, { command_timeout: 50 }), "t");
      const t0 = performance.now();
      await expect(c.get("x")).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(500);
      c.disconnect();
    }
  });
});
