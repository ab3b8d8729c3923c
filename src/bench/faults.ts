/**
 * Fault scenarios, each measured with the same open-model load running (the
 * route's measured rate), on one route (the first measured one). A run is
 * `duration` before the fault, the fault (`duration`, or as long as a
 * restart takes), and `duration` after it. Each reports failed requests (5xx or no answer), latency
 * before/during/after, and the time to recover: from the fault's end to the
 * start of the first 100 ms window after which no window fails and p99 stays
 * within max(2x, +1 ms) of the p99 before the fault.
 *
 *   target  SIGKILL of the upstream's first stub, restarted on the same port
 *           at the end (needs --stub: the bench owns those processes)
 *   reload  20 SIGHUPs to the gateway child, spread over the middle third
 *           (needs a gateway the bench started, not --target)
 *   redis   SIGKILL of the bench's own redis-server, restarted (empty) at the
 *           end (needs [redis] and a gateway the bench started: it then
 *           runs its own redis-server; it never kills one it did not start)
 *   slow    every stub of the upstream answers 50 ms slower, then back (--stub)
 *
 * A scenario whose precondition is missing is reported as skipped, with why.
 */
import type { FaultName } from "./config.ts";
import type { Harness } from "./harness.ts";
import { runLoad } from "./load.ts";
import type { Progress } from "./progress.ts";
import type { RoutePlan } from "./request.ts";
import { summarize, timeline, type Window } from "./stats.ts";

export interface FaultResult {
  name: FaultName;
  route: string;
  method: string;
  idempotent: boolean;
  /** Why it did not run; null when it ran. */
  skipped: string | null;
  duration_ms: number;
  rate: number;
  requests: number;
  failed: number;
  /** Due but not sent by the end (all connections busy): backlog, not failures. */
  unsent: number;
  errors: Record<string, number>;
  before: Phase;
  during: Phase;
  after: Phase;
  /** ms from the fault's end to steady state; null: not within the run. */
  recover_ms: number | null;
  /** When the fault began and ended, ms since the run's start. */
  fault_window: [number, number];
  events: { t: number; what: string }[];
  timeline: Window[];
}

interface Phase {
  requests: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
}

const RELOADS = 20;
const SLOW_EXTRA_MS = 50;
const WINDOW_MS = 100;

export async function runFault(name: FaultName, harness: Harness, plan: RoutePlan, rate: number, phaseMs: number, connections: number, progress: Progress): Promise<FaultResult> {
  const total = phaseMs * 3;
  const empty: Phase = { requests: 0, failed: 0, p50: 0, p99: 0, max: 0 };
  const base: FaultResult = {
    name,
    route: plan.name,
    method: plan.method,
    idempotent: plan.idempotent,
    skipped: null,
    duration_ms: total,
    rate,
    requests: 0,
    failed: 0,
    unsent: 0,
    errors: {},
    before: empty,
    during: empty,
    after: empty,
    recover_ms: null,
    fault_window: [phaseMs, 2 * phaseMs],
    events: [],
    timeline: [],
  };
  const stubs = harness.stubs.get(plan.upstream) ?? [];
  const skip = precondition(name, harness, stubs.length);
  if (skip !== null) return { ...base, skipped: skip };

  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const events: FaultResult["events"] = [];
  const log = (what: string) => {
    events.push({ t: Math.round(at()), what });
    progress.note(`bench: fault ${name}: ${what} at ${(at() / 1000).toFixed(2)}s`);
  };

  progress.begin(plan.name, `fault ${name}`);
  let settle!: () => void;
  const settled = new Promise<void>((r) => (settle = r));
  const load = runLoad({
    hostname: harness.gateway.hostname,
    port: harness.gateway.port,
    request: plan.request,
    head: plan.method === "HEAD",
    // A slow upstream holds each connection longer: enough of them to keep offering the rate through it (Little's law,
    // with half again as many), as clients open more connections when answers slow down.
    connections: name === "slow" ? Math.max(connections, Math.ceil((rate * (harness.config.bench.stub.latency + SLOW_EXTRA_MS + 2) * 1.5) / 1000)) : connections,
    // A phase after the fault's end, however long the fault took (a restart can take a while); bounded all the same.
    durationMs: total + 30_000,
    stopWhen: settled,
    rate,
    timeoutMs: 5000,
    onProgress: progress.update,
  });

  const inject = (async () => {
    await Bun.sleep(phaseMs);
    switch (name) {
      case "target":
        stubs[0]!.kill();
        log(`target ${stubs[0]!.url} killed`);
        await Bun.sleep(phaseMs);
        await stubs[0]!.restart();
        log("target restarted");
        break;
      case "reload":
        for (let i = 0; i < RELOADS; i++) {
          harness.reload();
          if (i === 0) log("first SIGHUP");
          await Bun.sleep(phaseMs / RELOADS);
        }
        log(`${RELOADS} SIGHUPs sent`);
        break;
      case "redis":
        harness.redis!.kill();
        log("redis-server killed");
        await Bun.sleep(phaseMs);
        await harness.redis!.start();
        log("redis-server restarted");
        break;
      case "slow": {
        const normal = harness.config.bench.stub.latency;
        await Promise.all(stubs.map((s) => s.setLatency(normal + SLOW_EXTRA_MS)));
        log(`upstream ${SLOW_EXTRA_MS} ms slower`);
        await Bun.sleep(phaseMs);
        await Promise.all(stubs.map((s) => s.setLatency(normal)));
        log("upstream back to normal");
        break;
      }
    }
    const end = at();
    await Bun.sleep(phaseMs);
    settle();
    return end;
  })();

  const [rec, faultEnd] = await Promise.all([load, inject]);
  const phase = (from: number, to: number): Phase => {
    const s = summarize(rec, from, to);
    return { requests: s.requests, failed: s.failed, p50: s.latency.p50, p99: s.latency.p99, max: s.latency.max };
  };
  const all = summarize(rec);
  const before = phase(0, phaseMs);
  const windows = timeline(rec, WINDOW_MS);
  return {
    ...base,
    duration_ms: Math.round(rec.elapsedMs),
    requests: all.requests,
    failed: all.failed,
    unsent: all.unsent,
    errors: all.errors,
    before,
    during: phase(phaseMs, faultEnd),
    after: phase(faultEnd, Number.POSITIVE_INFINITY),
    recover_ms: recovery(windows, faultEnd, before.p99),
    fault_window: [phaseMs, Math.round(faultEnd)],
    events,
    timeline: windows,
  };
}

function precondition(name: FaultName, h: Harness, stubs: number): string | null {
  switch (name) {
    case "target":
    case "slow":
      return stubs > 0 ? null : "needs --stub (the bench kills and slows only upstreams it started)";
    case "reload":
      return h.ownsGateway ? null : "needs a gateway the bench started (not --target)";
    case "redis":
      if (h.config.redis === null) return "no [redis] configured";
      return h.redis !== null ? null : "needs a gateway the bench started (it then runs its own redis-server; it never kills one it did not start)";
  }
}

/** The first window start ≥ the fault's end from which every window is clean; in ms after the fault's end. */
export function recovery(windows: Window[], faultEnd: number, beforeP99: number): number | null {
  const limit = Math.max(beforeP99 * 2, beforeP99 + 1);
  let candidate: number | null = null;
  for (const w of windows) {
    if (w.t + WINDOW_MS <= faultEnd) continue;
    const clean = w.failed === 0 && w.p99 <= limit;
    if (!clean) candidate = null;
    else if (candidate === null) candidate = w.t;
  }
  return candidate === null ? null : Math.max(0, Math.round(candidate - faultEnd));
}
