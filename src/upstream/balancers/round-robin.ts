import type { BalanceRequest } from "../types.ts";
import type { Balancer, Candidates } from "./types.ts";

/**
 * Plain rotation over the candidates. The position is per worker (no shared
 * write per request); each worker starts at a random offset so N workers do
 * not all send their first request to the same target.
 */
export class RoundRobinBalancer implements Balancer {
  private next: number;

  constructor(start = Math.floor(Math.random() * 0x10000)) {
    this.next = start;
  }

  pick(c: Candidates, _ctx: BalanceRequest): number {
    const count = c.count;
    if (count === 0) return -1;
    const k = this.next % count;
    this.next = k + 1;
    return c.list[k]!;
  }
}
