import type { BalanceRequest } from "../types.ts";
import type { TargetConfig } from "../../config/types.ts";
import type { KeyHash } from "./hash-key.ts";
import { hashString } from "./hash-key.ts";
import { RoundRobinBalancer } from "./round-robin.ts";
import type { Balancer, Candidates } from "./types.ts";

/** Points per unit of weight; ketama's 160 keeps each target's share within a few % of its weight. */
export const POINTS_PER_WEIGHT = 160;
/** Cap on ring size (bigger weights are scaled down, every target keeps at least one point). */
export const MAX_POINTS = 1 << 16;

/**
 * Consistent-hash ring (Karger et al.; ketama). Each target owns points on a
 * 32-bit circle, POINTS_PER_WEIGHT per unit of weight, placed by hashing the
 * target's URL, so a point's place never depends on the other targets: adding
 * or removing one target of N moves only the keys on its own arcs, ~1/N of
 * them. A key maps to the first point clockwise from its hash whose owner is
 * usable, so an unusable target's keys spill to the next targets on the ring
 * and come back when it does.
 */
export class HashRing {
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;
  /**
   * starts[b] = first point whose top `bits` bits are ≥ b: a lookup jumps to
   * its hash's bucket and scans ~1 point instead of a ~log2(n)-step binary
   * search with unpredictable branches.
   */
  private readonly starts: Int32Array;
  private readonly shift: number;

  /** `members`: the target indexes placed on this ring. */
  constructor(targets: readonly TargetConfig[], members: readonly number[]) {
    let weightSum = 0;
    for (const i of members) weightSum += targets[i]!.weight;
    const scale = Math.min(1, MAX_POINTS / Math.max(1, weightSum * POINTS_PER_WEIGHT));
    const entries: { point: number; owner: number }[] = [];
    const seen = new Map<string, number>();
    for (const i of members) {
      const url = targets[i]!.url;
      // The same URL listed twice still gets distinct points.
      const copy = seen.get(url) ?? 0;
      seen.set(url, copy + 1);
      const n = Math.max(1, Math.round(targets[i]!.weight * POINTS_PER_WEIGHT * scale));
      for (let v = 0; v < n; v++) entries.push({ point: hashString(`${url}#${copy}-${v}`), owner: i });
    }
    // Ties broken by owner so the ring does not depend on config order.
    entries.sort((a, b) => a.point - b.point || a.owner - b.owner);
    this.points = new Uint32Array(entries.length);
    this.owners = new Int32Array(entries.length);
    for (let k = 0; k < entries.length; k++) {
      this.points[k] = entries[k]!.point;
      this.owners[k] = entries[k]!.owner;
    }
    // About one point per bucket: 2^bits ≥ points, between 16 and 65536 buckets.
    const bits = Math.min(16, Math.max(4, Math.ceil(Math.log2(Math.max(1, entries.length)))));
    this.shift = 32 - bits;
    this.starts = new Int32Array((1 << bits) + 1);
    for (let b = 0, p = 0; b <= 1 << bits; b++) {
      while (p < entries.length && this.points[p]! >>> this.shift < b) p++;
      this.starts[b] = p;
    }
  }

  get size(): number {
    return this.points.length;
  }

  /** The usable owner of the first point at or after `hash` (clockwise, wrapping); -1 if no point's owner is usable. */
  lookup(hash: number, usable: Uint8Array): number {
    const points = this.points;
    const n = points.length;
    const bucket = hash >>> this.shift;
    let p = this.starts[bucket]!;
    const end = this.starts[bucket + 1]!;
    while (p < end && points[p]! < hash) p++;
    if (p === n) p = 0;
    for (let k = 0; k < n; k++) {
      const owner = this.owners[p]!;
      if (usable[owner] === 1) return owner;
      if (++p === n) p = 0;
    }
    return -1;
  }
}

/** `hash` / `ip_hash`: the ring over the request's key; round robin for requests without one. */
export class HashBalancer implements Balancer {
  private readonly ring: HashRing;
  private readonly key: KeyHash;
  private readonly fallback = new RoundRobinBalancer();

  constructor(targets: readonly TargetConfig[], members: readonly number[], key: KeyHash) {
    this.ring = new HashRing(targets, members);
    this.key = key;
  }

  pick(c: Candidates, ctx: BalanceRequest): number {
    if (c.count === 0) return -1;
    const h = this.key(ctx);
    if (h < 0) return this.fallback.pick(c, ctx);
    return this.ring.lookup(h, c.usable);
  }
}
