import type { GatewayConfig } from "../config/types.ts";
import { createRedisClient, type RedisClient } from "../util/redis.ts";
import {
  digestFromHex,
  digestHi,
  digestLo,
  RevocationSet,
  sha256,
  tableOf,
  type RevocationKind,
} from "./revocation.ts";

export interface RevocationController {
  /**
   * Revoke now on every worker of this instance (before this returns), then
   * in Redis for the other instances. Resolves true once Redis has it (or
   * when there is no Redis), false when Redis is unreachable: the entry is
   * kept locally and pushed when Redis is back. Never rejects; throws only
   * for an empty value or a full table.
   */
  revoke(kind: RevocationKind, value: string): Promise<boolean>;
  /** The reverse of revoke, same guarantees. */
  unrevoke(kind: RevocationKind, value: string): Promise<boolean>;
  /** Resolves after the first Redis pull, or the first failure to reach Redis, or at once without Redis. */
  readonly ready: Promise<void>;
  /**
   * On config reload (same shared buffer kept): revoke the new config's
   * revoked_jtis / revoked_api_keys. Entries dropped from the config stay
   * revoked (they are indistinguishable from run-time revocations); unrevoke
   * them explicitly.
   */
  applyConfig(config: GatewayConfig): Promise<boolean>;
  /** Pull the Redis sets now; false when Redis could not be read (the local set is kept). */
  sync(): Promise<boolean>;
  /** Operations not yet confirmed by Redis. */
  readonly pending: number;
  /** The last Redis error, for status pages; null when healthy. */
  readonly lastError: string | null;
  stop(): Promise<void>;
}

export interface RevocationSyncOptions {
  /** ms between full pulls from Redis (pub/sub carries changes in between); default 5000. */
  pollInterval?: number;
}

interface Op {
  add: boolean;
  kind: RevocationKind;
  /** What Redis holds: the jti itself, or the hex SHA-256 of the API key (never the key). */
  member: string;
}

/**
 * Main thread: owns writes to the shared revocation set.
 *
 * With [redis], the sets `<prefix>revoked:jti` (jtis) and `<prefix>revoked:key`
 * (hex SHA-256 of API keys) are the shared truth. Changes are written with
 * SADD/SREM and announced on `<prefix>revoked:events` ("+jti:<jti>",
 * "-key:<hex>"); every instance applies announcements at once and also pulls
 * both sets every pollInterval and on each reconnect, so instances converge
 * even across missed messages.
 *
 * Every command names one key (no MULTI), and PUBLISH reaches every node of
 * a Redis Cluster, so this works alike on one server, Sentinel and Cluster
 * (the client comes from src/util/redis.ts). A change is SADD/SREM then
 * PUBLISH: if the PUBLISH is lost, the next pull still brings the change.
 *
 * Redis never decides a request: workers read only the shared set. While
 * Redis is down the last known set stays in force and local changes queue.
 * At start the config's revoked entries are added to Redis; if Redis comes
 * back empty (the `<prefix>revoked:init` marker is gone: restarted without
 * persistence), this instance writes its whole set back instead of adopting
 * the empty one, so a Redis restart cannot silently un-revoke anything.
 */
export function startRevocationSync(
  config: GatewayConfig,
  shared: SharedArrayBuffer,
  opts: RevocationSyncOptions = {},
): RevocationController {
  const set = new RevocationSet(shared);
  // What this controller has put in the shared set, by "kind\0member".
  const applied = new Map<string, Op>();
  const opKey = (kind: RevocationKind, member: string) => `${kind}\0${member}`;
  const memberOf = (kind: RevocationKind, value: string) =>
    kind === "jti" ? value : Buffer.from(sha256(value)).toString("hex");

  const applyLocal = (op: Op): void => {
    const d = op.kind === "jti" ? sha256(op.member) : null;
    const words = d !== null ? ([digestHi(d), digestLo(d)] as const) : digestFromHex(op.member);
    if (words === null) return;
    const k = opKey(op.kind, op.member);
    if (op.add) {
      set.add(tableOf(op.kind), words[0], words[1]);
      applied.set(k, op);
    } else {
      set.remove(tableOf(op.kind), words[0], words[1]);
      applied.delete(k);
    }
  };

  // The config's entries are already in the buffer (allocateAuthShared); record them.
  const seeds: Op[] = [
    ...config.auth.revoked_jtis.map((v) => ({ add: true, kind: "jti" as const, member: memberOf("jti", v) })),
    ...config.auth.revoked_api_keys.map((v) => ({ add: true, kind: "api_key" as const, member: memberOf("api_key", v) })),
  ];
  for (const op of seeds) applyLocal(op);

  const configOps = (c: GatewayConfig): [RevocationKind, string][] => [
    ...c.auth.revoked_jtis.map((v) => ["jti", v] as [RevocationKind, string]),
    ...c.auth.revoked_api_keys.map((v) => ["api_key", v] as [RevocationKind, string]),
  ];

  const checkValue = (value: string) => {
    if (typeof value !== "string" || value.length === 0) throw new TypeError("revocation value must be a non-empty string");
  };

  if (config.redis === null) {
    const local = (add: boolean) => (kind: RevocationKind, value: string) => {
      checkValue(value);
      applyLocal({ add, kind, member: memberOf(kind, value) });
      return Promise.resolve(true);
    };
    const revoke = local(true);
    return {
      revoke,
      unrevoke: local(false),
      applyConfig: async (c) => {
        for (const [kind, value] of configOps(c)) await revoke(kind, value);
        return true;
      },
      ready: Promise.resolve(),
      sync: async () => true,
      pending: 0,
      lastError: null,
      stop: async () => {},
    };
  }
  return new RedisRevocationSync(config, opts, seeds, applied, applyLocal, memberOf, checkValue, configOps);
}

class RedisRevocationSync implements RevocationController {
  private readonly client: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly keys: Record<RevocationKind, string>;
  private readonly initKey: string;
  private readonly channel: string;
  /** Sent or queued, not yet confirmed by Redis; wins over what a pull says. */
  private readonly queue: Op[] = [];
  private seeded = false;
  private pulling: Promise<boolean> | null = null;
  private flushing: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval>;
  private stopped = false;
  lastError: string | null = null;
  readonly ready: Promise<void>;

  constructor(
    config: GatewayConfig,
    opts: RevocationSyncOptions,
    private readonly seeds: Op[],
    private readonly applied: Map<string, Op>,
    private readonly applyLocal: (op: Op) => void,
    private readonly memberOf: (kind: RevocationKind, value: string) => string,
    private readonly checkValue: (value: string) => void,
    private readonly configOps: (c: GatewayConfig) => [RevocationKind, string][],
  ) {
    const redis = config.redis!;
    const prefix = redis.key_prefix;
    this.keys = { jti: `${prefix}revoked:jti`, api_key: `${prefix}revoked:key` };
    this.initKey = `${prefix}revoked:init`;
    this.channel = `${prefix}revoked:events`;
    // Commands fail fast while disconnected (a queued one would only delay the
    // caller); the subscriber waits for its connection instead.
    this.client = createRedisClient(redis, "gateway-revocation");
    this.subscriber = createRedisClient(redis, "gateway-revocation-events", { subscriber: true });
    const noteError = (err: Error) => {
      this.lastError = err.message;
    };
    this.client.on("error", noteError);
    this.subscriber.on("error", noteError);

    let settle!: () => void;
    this.ready = new Promise<void>((resolve) => (settle = resolve));
    this.client.once("error", () => settle());
    this.client.on("ready", () => {
      void this.onConnected().finally(settle);
    });
    this.subscriber.on("message", (_channel: string, message: string) => this.onMessage(message));
    this.subscriber.subscribe(this.channel).catch(noteError);
    this.timer = setInterval(() => void this.sync(), opts.pollInterval ?? 5000);
    (this.timer as { unref?: () => void }).unref?.();
  }

  get pending(): number {
    return this.queue.length;
  }

  revoke(kind: RevocationKind, value: string): Promise<boolean> {
    return this.change(true, kind, value);
  }

  unrevoke(kind: RevocationKind, value: string): Promise<boolean> {
    return this.change(false, kind, value);
  }

  /** Checks and the local effect happen synchronously (so bad input throws); Redis follows. */
  private change(add: boolean, kind: RevocationKind, value: string): Promise<boolean> {
    this.checkValue(value);
    const op: Op = { add, kind, member: this.memberOf(kind, value) };
    this.applyLocal(op);
    this.queue.push(op);
    return this.flush().then(() => !this.queue.includes(op));
  }

  async applyConfig(config: GatewayConfig): Promise<boolean> {
    let all = true;
    for (const [kind, value] of this.configOps(config)) all = (await this.revoke(kind, value)) && all;
    return all;
  }

  /** Send queued operations in order; stop at the first failure (they stay queued). */
  private flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing.then(() => this.flush());
    if (this.queue.length === 0 || this.client.status !== "ready") return Promise.resolve();
    this.flushing = (async () => {
      try {
        while (this.queue.length > 0 && !this.stopped) {
          const op = this.queue[0]!;
          if (op.add) await this.client.sadd(this.keys[op.kind], op.member);
          else await this.client.srem(this.keys[op.kind], op.member);
          this.queue.shift();
          // Best effort: the others' pulls converge without it.
          await this.client.publish(this.channel, `${op.add ? "+" : "-"}${op.kind === "jti" ? "jti" : "key"}:${op.member}`).catch(() => 0);
        }
      } catch (err) {
        this.lastError = (err as Error).message;
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private async onConnected(): Promise<void> {
    try {
      const marked = await this.client.exists(this.initKey);
      if (!this.seeded || marked === 0) {
        // First connection: assert the config's entries. Marker gone: Redis lost
        // its data, so write back everything we hold rather than adopt "nothing".
        const ops = marked === 0 ? [...this.applied.values()] : this.seeds;
        const members: Record<RevocationKind, string[]> = { jti: [], api_key: [] };
        for (const op of ops) members[op.kind].push(op.member);
        await Promise.all(
          (["jti", "api_key"] as const).map((kind) => (members[kind].length ? this.client.sadd(this.keys[kind], ...members[kind]) : 0)),
        );
        // The marker last: set only once every entry is in.
        await this.client.set(this.initKey, "1");
        this.seeded = true;
      }
      await this.flush();
      await this.sync();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  private onMessage(message: string): void {
    const add = message.charCodeAt(0) === 43; // "+"
    const kind: RevocationKind | null = message.startsWith("jti:", 1) ? "jti" : message.startsWith("key:", 1) ? "api_key" : null;
    if (kind === null || (!add && message.charCodeAt(0) !== 45)) return;
    const member = message.slice(5);
    if (member.length === 0 || this.isQueued(kind, member)) return;
    this.applyLocal({ add, kind, member });
  }

  private isQueued(kind: RevocationKind, member: string): boolean {
    return this.queue.some((op) => op.kind === kind && op.member === member);
  }

  sync(): Promise<boolean> {
    if (this.pulling !== null) return this.pulling;
    if (this.client.status !== "ready" || this.stopped) return Promise.resolve(false);
    this.pulling = this.pull().finally(() => {
      this.pulling = null;
    });
    return this.pulling;
  }

  /** Make the local set equal to Redis's, except for operations still queued. */
  private async pull(): Promise<boolean> {
    let results: string[][];
    try {
      // Two keys, two commands: on a Cluster they may live on different nodes.
      results = await Promise.all([this.client.smembers(this.keys.jti), this.client.smembers(this.keys.api_key)]);
    } catch (err) {
      this.lastError = (err as Error).message;
      return false;
    }
    const wanted = new Map<string, Op>();
    (["jti", "api_key"] as const).forEach((kind, i) => {
      for (const member of results[i]!) wanted.set(`${kind}\0${member}`, { add: true, kind, member });
    });
    for (const op of this.queue) {
      const k = `${op.kind}\0${op.member}`;
      if (op.add) wanted.set(k, op);
      else wanted.delete(k);
    }
    try {
      for (const [k, op] of [...this.applied]) if (!wanted.has(k)) this.applyLocal({ ...op, add: false });
      for (const [k, op] of wanted) if (!this.applied.has(k)) this.applyLocal(op);
    } catch (err) {
      // Table full: keep what fits; the status shows why.
      this.lastError = (err as Error).message;
      return false;
    }
    this.lastError = null;
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}
