import { describe, expect, test } from "bun:test";
import { createRedisClient } from "../../src/limits/redis/connection.ts";
import { redisConfig } from "./helpers.ts";

describe("redis.url", () => {
  test("unsupported schemes are refused with the key path", () => {
    expect(() => createRedisClient(redisConfig("http://127.0.0.1:6379"), "t")).toThrow(/redis\.url: unsupported scheme/);
    expect(() => createRedisClient(redisConfig("redis+cluster://127.0.0.1:7000"), "t")).toThrow(/unsupported scheme/);
  });
  test("a sentinel URL needs a master name", () => {
    expect(() => createRedisClient(redisConfig("redis+sentinel://127.0.0.1:26379"), "t")).toThrow(/master name/);
  });
  test("a sentinel URL is accepted (hosts, master, password)", () => {
    const c = createRedisClient(redisConfig("redis+sentinel://:s3cret@127.0.0.1:1,127.0.0.1:2/mymaster/2"), "t");
    expect(c.options.sentinels).toEqual([
      { host: "127.0.0.1", port: 1 },
      { host: "127.0.0.1", port: 2 },
    ]);
    expect(c.options.name).toBe("mymaster");
    expect(c.options.password).toBe("s3cret");
    expect(c.options.db).toBe(2);
    c.disconnect();
  });
  test("commands fail fast while disconnected instead of queueing", async () => {
    const c = createRedisClient(redisConfig("redis://127.0.0.1:1", { command_timeout: 50 }), "t");
    const t0 = performance.now();
    await expect(c.get("x")).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(500);
    c.disconnect();
  });
});
