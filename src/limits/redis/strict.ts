import type { RedisConfig } from "../../config/types.ts";
import { effectiveLimit, newDecision, type CompiledLimit, type Decision } from "../algorithms/types.ts";
import { isReady, type RedisClient } from "../../util/redis.ts";
import { LoadedScript } from "./script.ts";
import { STRICT_SCRIPT } from "./strict-script.ts";

const CODES: Record<CompiledLimit["algorithm"], string> = {
  token_bucket: "g",
  leaky_bucket: "g",
  fixed_window: "f",
  sliding_window: "s",
  concurrency: "c",
};

export interface StrictOutcome {
  /** -1 when admitted, else the index of the refusing limit. */
  refused: number;
  decisions: Decision[];
}

/**
 * Strict Redis decisions for one worker: one EVALSHA per request covering all
 * of its limits (see strict-script.ts). Returns null when Redis is not usable
 * (disconnected, timed out, any error): the caller applies `on_error`.
 *
 * Key names carry a Redis Cluster hash tag ({...}) so that the keys of one
 * decision share a hash slot, as a script needs on a Cluster (elsewhere the
 * tag is just part of the name). A decision covers one owner's limits (a
 * route's, or a consumer's: ids "<owner>#<i>"), and a limit always comes with
 * the same owner, so the tag is fixed per limit:
 *   - the owner's limits all use the same key parts: tag = the key text
 *       <key_prefix>rl:{<key>}:<limit id>
 *     (same parts, same request → same text), so counters spread over the
 *     Cluster by client;
 *   - mixed key parts (e.g. ip and consumer): tag = the owner
 *       <key_prefix>rl:{@<owner>}:<limit id>:<key>
 *     so every counter of that route (or consumer) lives on one node: the
 *     price of deciding them atomically.
 * A key_prefix that holds its own {tag} wins over ours: everything in one slot.
 */
export class StrictLimiter {
  private readonly script: LoadedScript;
  private readonly prefix: string;
  /** Per limit: "" = tag by key text, else "@<owner>". Fixed at its first decision. */
  private readonly tags = new WeakMap<CompiledLimit, string>();

  constructor(
    readonly redis: RedisClient,
    cfg: RedisConfig,
  ) {
    this.script = new LoadedScript(redis, STRICT_SCRIPT);
    this.prefix = cfg.key_prefix + "rl:";
  }

  get ready(): boolean {
    return isReady(this.redis);
  }

  redisKey(lim: CompiledLimit, keyText: string): string {
    const tag = this.tags.get(lim) ?? this.learnTags([lim]);
    return tag === "" ? this.prefix + "{" + keyText + "}:" + lim.id : this.prefix + "{" + tag + "}:" + lim.id + ":" + keyText;
  }

  /** Decide the tag form for one owner's limits (see the class comment); returns limits[0]'s. */
  private learnTags(limits: readonly CompiledLimit[]): string {
    const parts = limits[0]!.config.key.join("\0");
    const uniform = limits.every((l) => l.config.key.join("\0") === parts);
    for (const l of limits) this.tags.set(l, uniform ? "" : "@" + l.id.slice(0, Math.max(0, l.id.lastIndexOf("#"))));
    return this.tags.get(limits[0]!)!;
  }

  async decide(limits: readonly CompiledLimit[], keyTexts: readonly string[], scales: readonly number[], leaseId: string): Promise<StrictOutcome | null> {
    const n = limits.length;
    if (!this.tags.has(limits[0]!)) this.learnTags(limits);
    const keys: string[] = new Array(n);
    const args: (string | number)[] = [n, leaseId];
    for (let i = 0; i < n; i++) {
      const lim = limits[i]!;
      const s = scales[i]!;
      keys[i] = this.redisKey(lim, keyTexts[i]!);
      const cap = lim.algorithm === "leaky_bucket" ? effectiveLimit(lim.burst, s) + 1 : effectiveLimit(lim.capacity, s);
      args.push(CODES[lim.algorithm], effectiveLimit(lim.limit, s), lim.windowMs, cap, lim.delay ? "1" : "0");
    }
    let reply: unknown;
    try {
      reply = await this.script.run(keys, args);
    } catch {
      return null;
    }
    if (!Array.isArray(reply) || reply.length !== 2 + 4 * n) return null;
    const decisions: Decision[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const d = newDecision();
      const o = 2 + 4 * i;
      d.limit = effectiveLimit(limits[i]!.limit, scales[i]!);
      d.remaining = Number(reply[o]);
      d.resetMs = Number(reply[o + 1]);
      d.retryAfterMs = Number(reply[o + 2]);
      d.delayMs = Number(reply[o + 3]);
      decisions[i] = d;
    }
    const admitted = Number(reply[0]) === 1;
    const refused = admitted ? -1 : Number(reply[1]) - 1;
    for (let i = 0; i < n; i++) decisions[i]!.allowed = admitted || i !== refused;
    return { refused, decisions };
  }

  /** Give back a concurrency lease. Best effort: a lost release expires with the lease. */
  release(lim: CompiledLimit, keyText: string, leaseId: string): void {
    if (!this.ready) return;
    this.redis.zrem(this.redisKey(lim, keyText), leaseId).catch(() => {});
  }
}
