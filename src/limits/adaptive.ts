/**
 * Adaptive limits: each worker measures its own event-loop lag with a timer
 * (how late it fires compared with when it was due) and limits marked
 * `adaptive` shrink as the lag passes `lag_threshold`:
 *
 *   factor = 1                                          lag ≤ threshold
 *          = 1 - (1 - min_factor) × (lag - threshold) / threshold
 *          ≥ min_factor                                  (reached at lag = 2 × threshold)
 *
 * The lag estimate jumps up at once on a late tick and decays by 30 % a tick
 * as the loop recovers, so the limit comes back up over a few intervals
 * rather than flapping.
 */

export interface LagMonitor {
  /** Current lag estimate, ms. */
  readonly lagMs: number;
  /** Feed one sample (the timer does; tests may too). */
  observe(sampleMs: number): void;
  stop(): void;
}

export function lagFactor(lagMs: number, threshold: number, minFactor: number): number {
  if (lagMs <= threshold) return 1;
  const f = 1 - ((1 - minFactor) * (lagMs - threshold)) / threshold;
  return f < minFactor ? minFactor : f;
}

export function startLagMonitor(intervalMs = 50, clock: () => number = () => performance.now()): LagMonitor {
  let lag = 0;
  let expected = clock() + intervalMs;
  const observe = (sample: number) => {
    lag = sample >= lag ? sample : lag * 0.7 + sample * 0.3;
    if (lag < 0.01) lag = 0;
  };
  const timer = setInterval(() => {
    const t = clock();
    observe(Math.max(0, t - expected));
    expected = t + intervalMs;
  }, intervalMs);
  // Never keep a worker (or a test) alive just to measure it.
  (timer as { unref?: () => void }).unref?.();
  return {
    get lagMs() {
      return lag;
    },
    observe,
    stop: () => clearInterval(timer),
  };
}
