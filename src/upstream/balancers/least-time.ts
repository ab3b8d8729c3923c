import type { BalanceRequest } from "../types.ts";
import type { TargetConfig } from "../../config/types.ts";
import { decay } from "../latency.ts";
import { since } from "../time.ts";
import type { Balancer, Candidates, TargetLoad } from "./types.ts";

/**
 * Least time by the power of two random choices: draw two distinct
 * candidates, keep the one with the lower cost, where
 *   cost = latency EWMA, aged (see latency.ts) × (in flight + 1) / weight.
 * Ageing lets a target that was slow once be tried again instead of
 * starving; the in-flight factor steers away from a fast target that is
 * already busy; a never-measured target counts 1 µs, so it is tried soon.
 * Two random choices rather than the global minimum keep workers, which all
 * read the same figures, from herding onto one target (Mitzenmacher;
 * Finagle/Linkerd "P2C + EWMA").
 *
 * No clock read per pick: both costs would be aged to the same "now", a
 * common factor that cannot change which is lower, so only the older of the
 * two EWMAs is aged, by the gap between the two samples' stamps.
 */
export class LeastTimeBalancer implements Balancer {
  private readonly weights: Float64Array;
  private readonly load: TargetLoad;

  constructor(targets: readonly TargetConfig[], load: TargetLoad) {
    this.weights = new Float64Array(targets.length);
    for (let i = 0; i < targets.length; i++) this.weights[i] = targets[i]!.weight;
    this.load = load;
  }

  pick(c: Candidates, _ctx: BalanceRequest): number {
    const count = c.count;
    if (count <= 1) return count === 1 ? c.list[0]! : -1;
    const a = Math.floor(Math.random() * count);
    let b = Math.floor(Math.random() * (count - 1));
    if (b >= a) b++;
    const ia = c.list[a]!;
    const ib = c.list[b]!;
    const load = this.load;
    const ea = load.latencyUs(ia);
    const eb = load.latencyUs(ib);
    let costA = ((ea || 1) * (load.inFlight(ia) + 1)) / this.weights[ia]!;
    let costB = ((eb || 1) * (load.inFlight(ib) + 1)) / this.weights[ib]!;
    if (ea !== 0 && eb !== 0) {
      const gap = since(load.latencyStamp(ia), load.latencyStamp(ib));
      if (gap > 0) costB *= decay(gap);
      else if (gap < 0) costA *= decay(-gap);
    }
    return costB < costA ? ib : ia;
  }
}
