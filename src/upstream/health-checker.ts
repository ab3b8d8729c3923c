import type { HealthCheckConfig, UpstreamConfig } from "../config/types.ts";
import { T_HC_FAIL, T_HC_LAST, T_HC_OK, T_HEALTH } from "./layout.ts";
import type { UpstreamStateView } from "./shared-state.ts";

/**
 * Active health checks, run on the main thread (the control plane): every
 * `interval` ms, GET `health_check.path` on each target of each upstream that
 * has a health_check, with a `timeout`. A status inside `expected_status`
 * counts as a success, anything else, a refused connection or a timeout as a
 * failure; `healthy` consecutive successes mark a down target up, `unhealthy`
 * consecutive failures mark an up target down. The result goes into the
 * shared buffer (and bumps the upstream's generation), so every worker sees
 * it on its next pick. Targets start up (see shared-state.ts).
 *
 * One loop per target, each waiting for its check to finish before scheduling
 * the next, so a hanging target never has two checks in flight.
 */

export interface HealthChange {
  upstream: string;
  target: string;
  up: boolean;
  /** Status of the check that flipped it; null when there was no response. */
  status: number | null;
  error: "connect" | "timeout" | null;
}

export interface HealthCheckOptions {
  /** Called on the main thread when a target changes between up and down (for the log). */
  onChange?: (change: HealthChange) => void;
  /** Request header User-Agent; default "gateway-health-check". */
  userAgent?: string;
}

export interface HealthChecks {
  /** Stop every loop and abort checks in flight; no write to the state after this returns. */
  stop(): void;
}

/** Check result stored in T_HC_LAST for no response. */
const CONNECT_ERROR = -1;
const TIMED_OUT = -2;

export function startHealthChecks(
  upstreams: readonly UpstreamConfig[],
  view: UpstreamStateView,
  opts: HealthCheckOptions = {},
): HealthChecks {
  const stopping = new AbortController();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const userAgent = opts.userAgent ?? "gateway-health-check";
  const i32 = view.i32;

  const schedule = (run: () => Promise<void>, delay: number) => {
    if (stopping.signal.aborted) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void run();
    }, delay);
    // Health checks alone never keep the process alive.
    timer.unref();
    timers.add(timer);
  };

  upstreams.forEach((up, u) => {
    const hc = up.health_check;
    if (!hc) return;
    up.targets.forEach((target, t) => {
      const url = new URL(hc.path, target.url).href;
      const off = view.targetBase(u, t);
      const generation = view.generationIndex(u);
      const loop = async (): Promise<void> => {
        const started = performance.now();
        const result = await probe(url, hc.timeout, stopping.signal, userAgent, target.hostname);
        if (stopping.signal.aborted) return;
        const change = record(i32, off, generation, hc, result);
        if (change !== null && opts.onChange) {
          opts.onChange({
            upstream: up.name,
            target: target.url,
            up: change,
            status: result > 0 ? result : null,
            error: result === CONNECT_ERROR ? "connect" : result === TIMED_OUT ? "timeout" : null,
          });
        }
        schedule(loop, Math.max(0, hc.interval - (performance.now() - started)));
      };
      schedule(loop, 0);
    });
  });

  return {
    stop() {
      stopping.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** One check: the response status, CONNECT_ERROR or TIMED_OUT. Reads the (small) body so the connection can be reused. */
async function probe(url: string, timeout: number, stop: AbortSignal, userAgent: string, hostname: string | undefined): Promise<number> {
  const timer = AbortSignal.timeout(timeout);
  try {
    // A discovered target (an address) is checked under its host name: Host header and TLS server name.
    const headers: Record<string, string> = { "user-agent": userAgent };
    if (hostname !== undefined) headers.host = new URL(url).port === "" ? hostname : `${hostname}:${new URL(url).port}`;
    const res = await fetch(url, {
      signal: AbortSignal.any([timer, stop]),
      redirect: "manual",
      headers,
      ...(hostname !== undefined ? { tls: { serverName: hostname } } : {}),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return timer.aborted ? TIMED_OUT : CONNECT_ERROR;
  }
}

/** Apply one result to the target's counters; returns the new health when it flipped, else null. */
function record(i32: Int32Array, off: number, generation: number, hc: HealthCheckConfig, result: number): boolean | null {
  Atomics.store(i32, off + T_HC_LAST, result);
  const ok = result >= hc.expected_status[0] && result <= hc.expected_status[1];
  if (ok) {
    Atomics.store(i32, off + T_HC_FAIL, 0);
    const successes = bump(i32, off + T_HC_OK);
    if (Atomics.load(i32, off + T_HEALTH) === 0 && successes >= hc.healthy) {
      Atomics.store(i32, off + T_HEALTH, 1);
      Atomics.add(i32, generation, 1);
      return true;
    }
  } else {
    Atomics.store(i32, off + T_HC_OK, 0);
    const failures = bump(i32, off + T_HC_FAIL);
    if (Atomics.load(i32, off + T_HEALTH) === 1 && failures >= hc.unhealthy) {
      Atomics.store(i32, off + T_HEALTH, 0);
      Atomics.add(i32, generation, 1);
      return false;
    }
  }
  return null;
}

/** Count up, saturating (only the main thread writes these counters, so load + store is enough). */
function bump(i32: Int32Array, at: number): number {
  const n = Atomics.load(i32, at);
  const next = n >= 0x3fffffff ? n : n + 1;
  Atomics.store(i32, at, next);
  return next;
}
