import type { Redis } from "ioredis";
import type { RedisConfig } from "../../config/types.ts";
import { effectiveLimit, newDecision, type CompiledLimit, type Decision } from "../algorithms/types.ts";
import { isReady } from "./connection.ts";
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
 */
export class StrictLimiter {
  private readonly script: LoadedScript;
  private readonly prefix: string;

  constructor(
    readonly redis: Redis,
    cfg: RedisConfig,
  ) {
    this.script = new LoadedScript(redis, STRICT_SCRIPT);
    this.prefix = cfg.key_prefix + "rl:";
  }

  get ready(): boolean {
    return isReady(this.redis);
  }

  redisKey(lim: CompiledLimit, keyText: string): string {
    return this.prefix + lim.id + ":" + keyText;
  }

  async decide(limits: readonly CompiledLimit[], keyTexts: readonly string[], scales: readonly number[], leaseId: string): Promise<StrictOutcome | null> {
    const n = limits.length;
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
