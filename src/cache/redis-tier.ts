/**
 * The cache's second tier (`[cache] redis = true`): stored responses in
 * Redis, shared by every gateway instance on it. The shared-memory arena
 * stays the first tier; this one is asked on an arena miss and written
 * beside it. Keys (`<p>` is redis.key_prefix; `{h}` is a Redis Cluster hash
 * tag, the CRC-32 of the URI in hex, so every key of one URI is in one slot):
 *
 *   <p>cache:{h}:e:<key>   string: an entry (or a Vary marker), [u32 meta length][meta][body];
 *                          <key> is the arena's key (URI NUL route [NUL variant]); PX: the arena's keep time
 *   <p>cache:{h}:u:<uri>   set: every e: key of the URI (invalidation, purge by URL); expires with the longest
 *   <p>cache:tag:<tag>     set: e: keys carrying the tag (Surrogate-Key / Cache-Tag), at most 4096; same expiry
 *   <p>cache:purges        stream: purges and invalidations announced to every instance (purge-feed.ts), ~1000 kept
 *
 * Never on the request path for long: a tier that is not connected is not
 * asked (ioredis queues nothing while disconnected, util/redis.ts), every
 * command is bounded by redis.command_timeout, and after a failed command
 * the tier is skipped for `suspendMs` so a hung Redis costs one timeout per
 * window, not one per request. Lookups and stores never throw; purges do
 * (the caller keeps them to replay).
 */
import { Cluster } from "ioredis";
import { isReady, type RedisClient } from "../util/redis.ts";
import { BinaryScript } from "../util/redis-script.ts";
import { decode, encodeEntry, encodeMarker } from "./codec.ts";
import type { StoredEntry } from "./entry.ts";
import { secondaryKey, uriOfKey } from "./keys.ts";

export interface RemoteFound {
  key: string;
  entry: StoredEntry;
  body: Uint8Array;
}

export type PurgeKind = "url" | "prefix" | "tag";

export type TierOp = "lookup" | "store" | "invalidate";
export type TierResult = "hit" | "miss" | "ok" | "error" | "skipped" | "queued";

/** SET the entry, list it under its URI, and the Vary marker when there is one; all keys in one slot. */
const STORE = `local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('SADD', KEYS[2], KEYS[1])
if KEYS[3] then
  local left = redis.call('PTTL', KEYS[3])
  redis.call('SET', KEYS[3], ARGV[3], 'PX', math.max(left, ttl))
  redis.call('SADD', KEYS[2], KEYS[3])
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1`;

/** Every key listed under a URI (its routes, markers, variants: the index's slot), then the index. */
const INVALIDATE = `local n = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do n = n + redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return n`;

const TAG = `redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) > 4096 then redis.call('SPOP', KEYS[1]) end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

const FEED_LENGTH = 1000;
const DELETE_BATCH = 500;
const EMPTY = new Uint8Array(0);

/** Redis glob metacharacters escaped, so a key prefix or URL prefix matches only itself. */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
}

function slotTag(uri: string): string {
  return Bun.hash.crc32(uri).toString(16).padStart(8, "0");
}

export function packRemote(meta: Uint8Array, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + meta.length + body.length);
  out.writeUInt32BE(meta.length, 0);
  out.set(meta, 4);
  out.set(body, 4 + meta.length);
  return out;
}

/** The entry or marker in a stored value; null for bytes this version cannot read (treated as absent). */
export function unpackRemote(v: Buffer): { d: NonNullable<ReturnType<typeof decode>>; body: Uint8Array } | null {
  if (v.length < 4) return null;
  const n = v.readUInt32BE(0);
  if (4 + n > v.length) return null;
  const d = decode(v.subarray(4, 4 + n));
  return d === null ? null : { d, body: new Uint8Array(v.buffer, v.byteOffset + 4 + n, v.length - 4 - n) };
}

export interface RedisTierOptions {
  /** After a failed command the tier is skipped this long (ms); default 1000. */
  suspendMs?: number;
  now?: () => number;
  /** Every operation's outcome, for metrics. */
  onResult?: (op: TierOp, result: TierResult) => void;
  /** A command failed (the tier is suspended now). */
  onError?: (error: unknown) => void;
}

export class RedisTier {
  readonly feedKey: string;
  private readonly storeScript: BinaryScript;
  private readonly invalidateScript: BinaryScript;
  private readonly tagScript: BinaryScript;
  private readonly suspendMs: number;
  private readonly now: () => number;
  private readonly onResult: (op: TierOp, result: TierResult) => void;
  private readonly onError: (error: unknown) => void;
  private suspendedUntil = 0;

  constructor(
    readonly redis: RedisClient,
    /** redis.key_prefix */
    private readonly prefix: string,
    opts: RedisTierOptions = {},
  ) {
    this.feedKey = `${prefix}cache:purges`;
    this.storeScript = new BinaryScript(redis, STORE);
    this.invalidateScript = new BinaryScript(redis, INVALIDATE);
    this.tagScript = new BinaryScript(redis, TAG);
    this.suspendMs = opts.suspendMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.onResult = opts.onResult ?? (() => {});
    this.onError = opts.onError ?? (() => {});
  }

  /** Connected, and no command failed within the suspension window. */
  usable(): boolean {
    return isReady(this.redis) && this.now() >= this.suspendedUntil;
  }

  /** usable(), counting a skipped `op` when not (for callers that decide before calling). */
  available(op: TierOp): boolean {
    if (this.usable()) return true;
    this.onResult(op, "skipped");
    return false;
  }

  entryKey(key: string): string {
    return `${this.prefix}cache:{${slotTag(uriOfKey(key))}}:e:${key}`;
  }

  indexKey(uri: string): string {
    return `${this.prefix}cache:{${slotTag(uri)}}:u:${uri}`;
  }

  tagKey(tag: string): string {
    return `${this.prefix}cache:tag:${tag}`;
  }

  /**
   * The entry for a request: at the primary key, or behind its Vary marker at
   * the secondary key the request's headers select (`knownKey`: the
   * secondary key the arena's marker already gave). null when absent, not
   * readable, or Redis failed.
   */
  async lookup(primary: string, get: (name: string) => string | null, knownKey: string | null = null): Promise<RemoteFound | null> {
    if (!this.available("lookup")) return null;
    try {
      let key = knownKey ?? primary;
      let got = await this.read(key);
      if (got !== null && got.d.kind === "marker" && knownKey === null) {
        key = secondaryKey(primary, got.d.vary, get);
        got = await this.read(key);
      }
      if (got === null || got.d.kind !== "entry" || got.d.entry.vary[0] === "*") return this.onResult("lookup", "miss"), null;
      this.onResult("lookup", "hit");
      return { key, entry: got.d.entry, body: got.body };
    } catch (e) {
      this.failed("lookup", e);
      return null;
    }
  }

  private async read(key: string) {
    const v = (await this.redis.getBuffer(this.entryKey(key))) as Buffer | null;
    return v === null ? null : unpackRemote(v);
  }

  /** Write `e` (stored in the arena at `key` for `ttlMs`) beside it. false when skipped or failed. */
  async store(primary: string, key: string, e: StoredEntry, body: Uint8Array, ttlMs: number): Promise<boolean> {
    if (!this.available("store")) return false;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const entryKey = this.entryKey(key);
    const keys = [entryKey, this.indexKey(uriOfKey(key))];
    const args: (Buffer | number)[] = [packRemote(encodeEntry(e), body), ttl];
    if (key !== primary) keys.push(this.entryKey(primary)), args.push(packRemote(encodeMarker(e.vary), EMPTY));
    try {
      await this.storeScript.run(keys, args);
      // Tags live in their own slots: one small script each, after the entry is in.
      await Promise.all(e.tags.map((t) => this.tagScript.run(this.tagKey(t), [entryKey, ttl])));
      this.onResult("store", "ok");
      return true;
    } catch (err) {
      this.failed("store", err);
      return false;
    }
  }

  /** Every entry of `uri` (all routes, all Vary variants): how many keys went. Throws when Redis fails. */
  async invalidate(uri: string): Promise<number> {
    try {
      const n = Number(await this.invalidateScript.run(this.indexKey(uri), []));
      this.onResult("invalidate", "ok");
      return n;
    } catch (e) {
      this.failed("invalidate", e);
      throw e;
    }
  }

  /** Entries whose URI starts with `prefix`, found with SCAN on every primary node. Throws when Redis fails. */
  async purgePrefix(prefix: string): Promise<number> {
    if (prefix.length === 0) return 0;
    const head = `${this.prefix}cache:{`;
    const pattern = `${globLiteral(head)}????????}:?:${globLiteral(prefix)}*`;
    const kindAt = head.length + 10;
    const nodes = this.redis instanceof Cluster ? this.redis.nodes("master") : [this.redis];
    let n = 0;
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        n += await this.deleteKeys(keys.filter((k) => k[kindAt] === "e"));
        await this.deleteKeys(keys.filter((k) => k[kindAt] === "u"));
      } while (cursor !== "0");
    }
    return n;
  }

  /** Entries listed under the tag, then the tag's set. Throws when Redis fails. */
  async purgeTag(tag: string): Promise<number> {
    const t = this.tagKey(tag);
    const keys = await this.redis.smembers(t);
    const n = await this.deleteKeys(keys);
    await this.redis.del(t);
    return n;
  }

  /** One DEL per key (keys of several slots; auto-pipelining batches them), a batch at a time. */
  private async deleteKeys(keys: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const done = await Promise.all(keys.slice(i, i + DELETE_BATCH).map((k) => this.redis.del(k)));
      for (const d of done) n += d;
    }
    return n;
  }

  /** Tell every instance (purge-feed.ts) to drop its arena's copies. Throws when Redis fails. */
  async announce(kind: PurgeKind, value: string): Promise<void> {
    await this.redis.xadd(this.feedKey, "MAXLEN", "~", FEED_LENGTH, "*", "k", kind, "v", value);
  }

  private failed(op: TierOp, e: unknown): void {
    this.suspendedUntil = this.now() + this.suspendMs;
    this.onResult(op, "error");
    this.onError(e);
  }
}
