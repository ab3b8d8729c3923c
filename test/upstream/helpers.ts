import { upstreamConfig } from "../helpers/config.ts";
import { testContext } from "../helpers/context.ts";
import type { BalancerName, TargetConfig, UpstreamConfig } from "../../src/config/types.ts";
import type { RequestContext } from "../../src/policies/context.ts";
import { allocateUpstreamState, UpstreamStateView } from "../../src/upstream/shared-state.ts";
import { createUpstreamRuntime, type Upstream } from "../../src/upstream/runtime.ts";

export type TargetSpec = string | (Partial<TargetConfig> & { url: string });

export function target(spec: TargetSpec): TargetConfig {
  const s = typeof spec === "string" ? { url: spec } : spec;
  const u = new URL(s.url);
  return {
    url: s.url,
    protocol: u.protocol as "http:" | "https:",
    host: u.hostname,
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
    weight: s.weight ?? 1,
    backup: s.backup ?? false,
  };
}

/** A normalized upstream config (the loader's defaults), named "up", with no passive check and 2 retries unless `over` says otherwise. */
export function upstream(over: Partial<Omit<UpstreamConfig, "targets">> & { targets: TargetSpec[] }): UpstreamConfig {
  return { ...upstreamConfig({ name: "up", passive: null, retries: 2 }), ...over, targets: over.targets.map(target) };
}

/** n targets on ports 3001.. (never contacted). */
export function urls(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `http://127.0.0.1:${3001 + i}`);
}

export interface CtxSpec {
  clientIp?: string;
  path?: string;
  query?: string;
  headers?: Record<string, string>;
}

/** The fields of RequestContext the balancers read; the rest are never touched by src/upstream. */
export function ctx(spec: CtxSpec = {}): RequestContext {
  return testContext({ path: spec.path ?? "/", query: spec.query, headers: spec.headers, clientIp: spec.clientIp, requestId: "test" });
}

/** A clock tests move by hand. */
export class ManualClock {
  t: number;
  constructor(start = 1_000_000) {
    this.t = start;
  }
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** One upstream's buffer, view and runtime. */
export function setup(config: UpstreamConfig, now?: () => number): { sab: SharedArrayBuffer; view: UpstreamStateView; rt: Upstream } {
  const sab = allocateUpstreamState([config]);
  const view = new UpstreamStateView(sab, [config]);
  return { sab, view, rt: createUpstreamRuntime(config, view, 0, now) };
}

/** Count picks per target index over n picks (no exclusion). */
export function countPicks(rt: Upstream, n: number, c: RequestContext = ctx()): number[] {
  const counts = new Array<number>(rt.targets.length).fill(0);
  for (let k = 0; k < n; k++) {
    const i = rt.pick(c, null);
    if (i >= 0) counts[i]!++;
  }
  return counts;
}

export const ALL_BALANCERS: readonly BalancerName[] = ["round_robin", "weighted", "least_conn", "least_time", "ip_hash", "hash", "random"];
