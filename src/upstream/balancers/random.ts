import type { BalanceRequest } from "../types.ts";
import type { TargetConfig } from "../../config/types.ts";
import type { Balancer, Candidates } from "./types.ts";

/** Weighted random: each candidate with probability weight / (sum of candidates' weights). */
export class RandomBalancer implements Balancer {
  private readonly weights: Float64Array;
  /** All weights equal: skip the weighted walk. */
  private readonly uniform: boolean;

  constructor(targets: readonly TargetConfig[]) {
    this.weights = new Float64Array(targets.length);
    let uniform = true;
    for (let i = 0; i < targets.length; i++) {
      this.weights[i] = targets[i]!.weight;
      if (targets[i]!.weight !== targets[0]!.weight) uniform = false;
    }
    this.uniform = uniform;
  }

  pick(c: Candidates, _ctx: BalanceRequest): number {
    const count = c.count;
    if (count === 0) return -1;
    const list = c.list;
    if (this.uniform) return list[Math.floor(Math.random() * count)]!;
    const weights = this.weights;
    let total = 0;
    for (let k = 0; k < count; k++) total += weights[list[k]!]!;
    let r = Math.random() * total;
    for (let k = 0; k < count - 1; k++) {
      r -= weights[list[k]!]!;
      if (r < 0) return list[k]!;
    }
    return list[count - 1]!;
  }
}
