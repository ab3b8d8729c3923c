// The cache's Redis tier and purge feed against a real redis-server (and a real 3-master Cluster): entries and
// Vary markers, invalidation, purge by prefix (glob characters in URLs match only themselves) and by tag, bytes
// this version cannot read, and the feed's resume / gap handling. No mocks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { makeEntry } from "../../src/cache/entry.ts";
import { primaryKey, secondaryKey } from "../../src/cache/keys.ts";
import { compareIds, PurgeFeed } from "../../src/cache/purge-feed.ts";
import { packRemote, RedisTier, unpackRemote, type PurgeKind } from "../../src/cache/redis-tier.ts";
import { createRedisClient, type RedisClient } from "../../src/util/redis.ts";
import { startCluster, startRedis, type ClusterSetup, type RedisProcess } from "../helpers/redis.ts";

const NOW = Date.now();
const OPTS = { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 };
const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const entry = (extra: [string, string][] = []) => makeEntry(200, [["cache-control", "max-age=60"], ["etag", '"v1"'], ...extra], NOW, NOW, OPTS);
const headers = (h: Record<string, string>) => (n: string) => h[n] ?? null;

async function until(ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error("condition not reached");
    await Bun.sleep(20);
  }
}

async function connected(c: RedisClient): Promise<void> {
  await until(() => c.status === "ready");
}

/** The tier's behaviour, the same on one server and on a Cluster. */
function tierCases(name: string, url: () => string) {
  describe(name, () => {
    let client: RedisClient;
    let tier: RedisTier;
    beforeAll(async () => {
      client = createRedisClient({ url: url(), command_timeout: 1000 }, "test-cache-tier");
      await connected(client);
      tier = new RedisTier(client, `t${Math.random().toString(36).slice(2, 8)}:`);
    });
    afterAll(() => client.disconnect());

    test("an entry round-trips with its headers and bytes", async () => {
      const p = primaryKey("http://h/a", "r");
      const e = entry([["content-type", "text/plain"]]);
      expect(await tier.lookup(p, headers({}))).toBeNull();
      expect(await tier.store(p, p, e, enc.encode("body A"), 60_000)).toBe(true);
      const got = await tier.lookup(p, headers({}));
      expect(got?.key).toBe(p);
      expect(text(got!.body)).toBe("body A");
      expect(got!.entry).toEqual(e);
      expect(await client.pttl(tier.entryKey(p))).toBeGreaterThan(59_000);
    });

    test("Vary: a marker at the primary key, one variant per secondary key; the known key is read directly", async () => {
      const p = primaryKey("http://h/v", "r");
      const e = entry([["vary", "Accept-Language"]]);
      const en = secondaryKey(p, e.vary, headers({ "accept-language": "en" }));
      await tier.store(p, en, e, enc.encode("en"), 60_000);
      expect(text((await tier.lookup(p, headers({ "accept-language": "en" })))!.body)).toBe("en");
      expect(await tier.lookup(p, headers({ "accept-language": "fr" }))).toBeNull();
      expect(text((await tier.lookup(p, headers({}), en))!.body)).toBe("en");
    });

    test("invalidate: every route and variant of the URI, not a longer URI", async () => {
      const uri = "http://h/inv";
      const e = entry([["vary", "Accept-Language"]]);
      const p = primaryKey(uri, "r");
      await tier.store(p, secondaryKey(p, e.vary, headers({ "accept-language": "en" })), e, enc.encode("en"), 60_000);
      await tier.store(p, secondaryKey(p, e.vary, headers({ "accept-language": "fr" })), e, enc.encode("fr"), 60_000);
      await tier.store(primaryKey(uri, "other"), primaryKey(uri, "other"), entry(), enc.encode("o"), 60_000);
      await tier.store(primaryKey(`${uri}/longer`, "r"), primaryKey(`${uri}/longer`, "r"), entry(), enc.encode("l"), 60_000);
      // marker + 2 variants + the other route's entry
      expect(await tier.invalidate(uri)).toBe(4);
      expect(await tier.lookup(p, headers({ "accept-language": "en" }))).toBeNull();
      expect(await tier.lookup(primaryKey(`${uri}/longer`, "r"), headers({}))).not.toBeNull();
      expect(await tier.invalidate(uri)).toBe(0);
    });

    test("purge by prefix matches the prefix literally, glob characters included", async () => {
      const keys = ["http://h/p*[x]/1", "http://h/p*[x]/2", "http://h/pz[x]/3", "http://h/p?/4"].map((u) => primaryKey(u, "r"));
      for (const k of keys) await tier.store(k, k, entry(), enc.encode(k), 60_000);
      expect(await tier.purgePrefix("http://h/p*[x]/")).toBe(2);
      expect(await tier.lookup(keys[0]!, headers({}))).toBeNull();
      expect(await tier.lookup(keys[2]!, headers({}))).not.toBeNull();
      expect(await tier.lookup(keys[3]!, headers({}))).not.toBeNull();
      expect(await tier.purgePrefix("http://h/p")).toBe(2);
    });

    test("purge by tag: the entries listed under it, on any slot", async () => {
      const ks = ["http://h/t/1", "http://h/t/2", "http://other/t/3"].map((u) => primaryKey(u, "r"));
      for (const k of ks) await tier.store(k, k, entry([["surrogate-key", "team-7 all"]]), enc.encode("x"), 60_000);
      const untagged = primaryKey("http://h/t/4", "r");
      await tier.store(untagged, untagged, entry(), enc.encode("x"), 60_000);
      expect(await client.pttl(tier.tagKey("team-7"))).toBeGreaterThan(59_000);
      expect(await tier.purgeTag("team-7")).toBe(3);
      expect(await tier.lookup(ks[2]!, headers({}))).toBeNull();
      expect(await tier.lookup(untagged, headers({}))).not.toBeNull();
      expect(await tier.purgeTag("team-7")).toBe(0);
    });

    test("bytes this version cannot read are a miss, not an error", async () => {
      const p = primaryKey("http://h/garbage", "r");
      await client.set(tier.entryKey(p), Buffer.from("not an entry"));
      expect(await tier.lookup(p, headers({}))).toBeNull();
      await client.set(tier.entryKey(p), packRemote(enc.encode("e9\0whatever"), new Uint8Array(0)));
      expect(await tier.lookup(p, headers({}))).toBeNull();
    });
  });
}

let redis: RedisProcess;
let cluster: ClusterSetup;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startCluster(3)]);
}, 30_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

tierCases("one server", () => redis.url);
tierCases("Redis Cluster (3 masters): every script on one slot, prefix purge scans every master", () => cluster.url);

test("pack/unpack: meta length, then meta, then body", () => {
  const v = packRemote(enc.encode("meta"), enc.encode("body"));
  expect(v.readUInt32BE(0)).toBe(4);
  expect(unpackRemote(Buffer.from([0, 0, 0, 9, 1]))).toBeNull();
});

test("stream ids compare by time, then sequence", () => {
  expect(compareIds("2-0", "10-0")).toBe(-1);
  expect(compareIds("5-3", "5-12")).toBe(-1);
  expect(compareIds("5-3", "5-3")).toBe(0);
  expect(compareIds("0-0", "1-1")).toBe(-1);
});

describe("purge feed", () => {
  const start = (key: string, seen: [PurgeKind, string][], clears: { n: number }) =>
    new PurgeFeed(createRedisClient({ url: redis.url, command_timeout: 1000 }, "test-feed", { subscriber: true }), key, {
      apply: (k, v) => seen.push([k, v]),
      clearAll: () => clears.n++,
    });

  test("announcements made after it starts are applied in order; older ones are not", async () => {
    const client = createRedisClient({ url: redis.url, command_timeout: 1000 }, "test-feed-writer");
    await connected(client);
    const tier = new RedisTier(client, "f1:");
    await tier.announce("url", "http://h/before");
    const seen: [PurgeKind, string][] = [];
    const clears = { n: 0 };
    const feed = start(tier.feedKey, seen, clears);
    await until(() => feed.following);
    await tier.announce("url", "http://h/a");
    await tier.announce("prefix", "http://h/p/");
    await tier.announce("tag", "t1");
    await until(() => seen.length === 3);
    expect(seen).toEqual([["url", "http://h/a"], ["prefix", "http://h/p/"], ["tag", "t1"]]);
    expect(clears.n).toBe(0);
    await feed.stop();
    client.disconnect();
  });

  test("a reader cut off picks up what was announced meanwhile; one that missed trimmed ones clears its arena", async () => {
    const client = createRedisClient({ url: redis.url, command_timeout: 1000 }, "test-feed-writer");
    await connected(client);
    const tier = new RedisTier(client, "f2:");
    const seen: [PurgeKind, string][] = [];
    const clears = { n: 0 };
    const feed = start(tier.feedKey, seen, clears);
    await until(() => feed.following);
    await tier.announce("url", "http://h/1");
    await until(() => seen.length === 1);
    // Cut the reader's connection; announce while it reconnects.
    const admin = new Redis(redis.url);
    const kill = async () => {
      const list = (await admin.client("LIST")) as string;
      const id = /id=(\d+) [^\n]*name=test-feed /.exec(list)?.[1];
      if (id) await admin.client("KILL", "ID", id);
    };
    await kill();
    await tier.announce("url", "http://h/2");
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual(["url", "http://h/2"]);
    expect(clears.n).toBe(0);
    // Now cut it, announce, and trim everything it has not read: it cannot know what went, so it clears.
    await kill();
    // One transaction, well before the reader's reconnect (≥ 100 ms backoff).
    await admin.multi().xadd(tier.feedKey, "*", "k", "url", "v", "http://h/3").xtrim(tier.feedKey, "MAXLEN", 0).xadd(tier.feedKey, "*", "k", "url", "v", "http://h/4").exec();
    await until(() => clears.n === 1 && seen.some(([, v]) => v === "http://h/4"));
    expect(seen.some(([, v]) => v === "http://h/3")).toBe(false);
    admin.disconnect();
    await feed.stop();
    client.disconnect();
  }, 15_000);
});
