import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisRecordStore, StoreUnavailable } from "../../src/idempotency/index.ts";
import { createRedisClient } from "../../src/util/redis.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";
import { storeCases } from "./store.case.ts";

async function connectedStore(url: string) {
  const client = createRedisClient({ url, command_timeout: 200 }, "test-idem");
  await new Promise<void>((resolve) => (client.status === "ready" ? resolve() : client.once("ready", () => resolve())));
  return { client, store: new RedisRecordStore(client, "gwtest:") };
}

let shared: RedisProcess;
beforeAll(async () => {
  shared = await startRedis();
});
afterAll(() => shared.stop());

storeCases("redis", async () => {
  const { client, store } = await connectedStore(shared.url);
  return { store, close: () => void client.disconnect() };
});

describe("redis store specifics", () => {
  test("keys carry redis.key_prefix and the scoped key", async () => {
    const { client, store } = await connectedStore(shared.url);
    await store.begin("idem:3:abc:k1", "t", 5000);
    expect(await client.pttl("gwtest:idem:3:abc:k1")).toBeGreaterThan(4000);
    client.disconnect();
  });

  test("Redis down: every operation rejects with StoreUnavailable, never hangs", async () => {
    const own = await startRedis();
    const { client, store } = await connectedStore(own.url);
    await own.kill();
    await Bun.sleep(100);
    const t0 = performance.now();
    await expect(store.begin("k", "t", 1000)).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.complete("k", "t", { state: "unreplayable", fp: "f", status: 200 }, 1000)).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.release("k", "t")).rejects.toBeInstanceOf(StoreUnavailable);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(store.ready).toBe(false);
    client.disconnect();
  });

  test("a value that is not a record is treated as in flight (never re-run)", async () => {
    const { client, store } = await connectedStore(shared.url);
    await client.set("gwtest:foreign", "garbage");
    const r = await store.begin("foreign", "t", 1000);
    expect(r.taken).toBe(false);
    if (!r.taken) expect(r.record.state).toBe("pending");
    client.disconnect();
  });
});
