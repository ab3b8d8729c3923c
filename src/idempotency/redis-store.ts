/**
 * Idempotency records in Redis, shared by every gateway instance (DESIGN.md
 * "State and where it lives"). One key per record, `<key_prefix>idem:...`,
 * holding the packed record (record.ts packRecord):
 *
 * - begin: `SET key <pending> NX PX lock_timeout`; when the key is there, its
 *   value in the same script (one round trip, and no gap where it could
 *   expire between the two).
 * - complete: the value is still exactly our pending value -> `SET key
 *   <final> PX ttl`; extend (the lease renewal of a long request): the
 *   same check -> `PEXPIRE key lock_timeout`; release: the same check ->
 *   `DEL key`. Each is a compare-and-set on the whole value, so a request
 *   whose lock expired and was taken by a retry never overwrites, renews or
 *   frees the retry's record.
 *
 * Every script touches one key, so Redis Cluster routes it by that key's
 * slot. Any failure (not connected, timeout, error reply) rejects with
 * StoreUnavailable; the caller applies redis.on_error.
 */
import { isReady, type RedisClient } from "../util/redis.ts";
import { BinaryScript } from "../util/redis-script.ts";
import { packRecord, unpackRecord, type IdempotencyRecord } from "./record.ts";
import { StoreUnavailable, type BeginResult, type FinalRecord, type IdempotencyStore } from "./store.ts";

const BEGIN = `local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if ok then return false end
return redis.call('GET', KEYS[1])`;

const COMPLETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const TAKEN: BeginResult = { taken: true };

export class RedisRecordStore implements IdempotencyStore {
  readonly kind = "redis";
  private readonly beginScript: BinaryScript;
  private readonly completeScript: BinaryScript;
  private readonly releaseScript: BinaryScript;
  private readonly extendScript: BinaryScript;

  constructor(
    private readonly redis: RedisClient,
    /** redis.key_prefix: every key this store writes starts with it. */
    private readonly prefix: string,
  ) {
    this.beginScript = new BinaryScript(redis, BEGIN);
    this.completeScript = new BinaryScript(redis, COMPLETE);
    this.releaseScript = new BinaryScript(redis, RELEASE);
    this.extendScript = new BinaryScript(redis, EXTEND);
  }

  /** Connected now; a store that is not is not tried (commands are never queued while disconnected). */
  get ready(): boolean {
    return isReady(this.redis);
  }

  async begin(key: string, token: string, lockMs: number): Promise<BeginResult> {
    const reply = await this.call(() => this.beginScript.run(this.prefix + key, [pendingValue(token), Math.max(1, Math.ceil(lockMs))]));
    if (reply === null) return TAKEN;
    const record = unpackRecord(reply as Buffer);
    // A value we cannot read is someone's: treat it as in flight rather than run the request again.
    return { taken: false, record: record ?? { state: "pending", token: "" } };
  }

  async complete(key: string, token: string, record: FinalRecord, ttlMs: number): Promise<FinalRecord | null> {
    const reply = await this.call(() =>
      this.completeScript.run(this.prefix + key, [pendingValue(token), Buffer.from(packRecord(record)), Math.max(1, Math.ceil(ttlMs))]),
    );
    return reply === 1 ? record : null;
  }

  async extend(key: string, token: string, lockMs: number): Promise<boolean> {
    const reply = await this.call(() => this.extendScript.run(this.prefix + key, [pendingValue(token), Math.max(1, Math.ceil(lockMs))]));
    return reply === 1;
  }

  async release(key: string, token: string): Promise<void> {
    await this.call(() => this.releaseScript.run(this.prefix + key, [pendingValue(token)]));
  }

  async peek(key: string): Promise<IdempotencyRecord | null> {
    const v = await this.call(() => this.redis.getBuffer(this.prefix + key));
    return v === null ? null : unpackRecord(v as Buffer);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (!isReady(this.redis)) throw new StoreUnavailable(new Error(`redis ${this.redis.status}`));
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailable(e);
    }
  }
}

function pendingValue(token: string): Buffer {
  return Buffer.from(packRecord({ state: "pending", token }));
}
