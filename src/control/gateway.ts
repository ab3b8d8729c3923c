/**
 * Control plane (main thread): owns the config, the shared buffers and the
 * worker threads; handles SIGHUP (reload) and SIGTERM/SIGINT (drain, exit 0).
 * It never sits on the request path.
 */
import type { GatewayConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { AuthControl } from "../policies/auth/index.ts";
import type { CacheControl } from "../policies/cache/control.ts";
import { startAdmin, type AdminServer } from "./admin.ts";
import { arenaStats } from "./admin-cache.ts";
import { ControlMetrics } from "../metrics/control-metrics.ts";
import { attachMetrics } from "../metrics/registry.ts";
import { VERSION } from "../version.ts";
import { startMetricsServer, type MetricsSource } from "./metrics-server.ts";
import { RuntimeConfig, type ApplyResult } from "./runtime-config.ts";
import { allocateShared, type SharedBuffers } from "../data/shared.ts";
import { startControlServices, type ControlServices } from "./services.ts";
import { DiscoveryService, type PreparedTargets } from "./discovery-service.ts";
import type { FromWorker, ToWorker } from "../data/worker.ts";

export interface Gateway {
  readonly port: number;
  /** The admin API's port, or null without [admin]. */
  readonly adminPort: number | null;
  /** The [metrics] listener's port, or null (no [metrics], or served by the admin listener). */
  readonly metricsPort: number | null;
  readonly config: GatewayConfig;
  /** Load the file again and swap every worker to it; a bad config leaves the running one in place. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  /** Stop accepting, finish in-flight requests up to server.drain_timeout, stop the workers. */
  shutdown(): Promise<void>;
}

interface WorkerSlot {
  id: number;
  worker: Worker;
  stopping: boolean;
  /** The port its server bound. */
  port: number;
}

function log(level: "info" | "warn" | "error", msg: string, extra: Record<string, unknown> = {}): void {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra }));
}

function workerUrl(): string | URL {
  // In the compiled binary the worker is embedded as its own entry point (build.ts) under this path.
  return process.env.GATEWAY_COMPILED === "1" ? "./data/worker.ts" : new URL("../data/worker.ts", import.meta.url);
}

export async function startGateway(configPath: string): Promise<Gateway> {
  // The file plus the admin API's runtime state (consumers, keys, targets), validated as one.
  const runtime = await RuntimeConfig.open(configPath);
  let config = runtime.config;
  // The metrics buffer is made once (the metrics policy's share keeps it across reloads); attached
  // before the control services and discovery start, so what they count lands in it.
  let shared = allocateShared(config, null);
  const registry = attachMetrics(shared.policies.metrics!);
  // DNS discovery: `config` is what the file and the admin API say; `effective`, what workers run
  // (target names replaced by their addresses). A changed DNS answer swaps the workers like a reload.
  const discovery = new DiscoveryService(() => void refreshTargets());
  let effective: GatewayConfig;
  try {
    const first = await discovery.prepare(config);
    first.commit();
    effective = first.effective;
  } catch (e) {
    discovery.stop();
    runtime.close();
    throw e;
  }
  // Buffers sized for the resolved targets (the others carry over as on a reload).
  if (effective !== config) shared = allocateShared(effective, { config, shared });
  const services: ControlServices = startControlServices(effective, shared);
  const control = new ControlMetrics(registry, VERSION);
  control.reloadTime.set(Date.now() / 1000);
  const metricsSource: MetricsSource = {
    metrics: () => (control.workers.set(slots.filter((s) => !s.stopping).length), registry.shared),
    upstreams: () => services.upstreamState().snapshot(),
    cache: arenaStats(() => shared.policies.cache ?? null),
  };
  const slots: WorkerSlot[] = [];
  let port = config.server.port;
  let shuttingDown = false;

  /** Consecutive quick crashes per worker id, for restart backoff. */
  const crashes = new Map<number, { count: number; lastStart: number }>();

  const spawn = (id: number, listenPort: number): Promise<WorkerSlot> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(workerUrl());
      const slot: WorkerSlot = { id, worker, stopping: false, port: listenPort };
      let started = false;
      const onStartMessage = (event: MessageEvent<FromWorker>) => {
        const msg = event.data;
        if (msg.type === "listening") {
          worker.removeEventListener("message", onStartMessage);
          started = true;
          slot.port = msg.port;
          resolve(slot);
        } else if (msg.type === "fatal") {
          worker.removeEventListener("message", onStartMessage);
          slot.stopping = true;
          worker.terminate();
          reject(new Error(msg.message));
        }
      };
      worker.addEventListener("message", onStartMessage);
      worker.addEventListener("error", (e) => {
        const message = (e as ErrorEvent).message;
        log("error", "worker crashed", { worker: id, error: message });
        if (!started) {
          slot.stopping = true;
          reject(new Error(`worker ${id} failed to start: ${message}`));
        }
      });
      worker.addEventListener("close", () => {
        if (!started || slot.stopping || shuttingDown) return;
        // A worker that died is replaced; its peers keep serving meanwhile (reusePort).
        // Crashing again soon after a restart backs off (0.1 s doubling to 10 s) so a
        // persistent fault does not spin.
        const c = crashes.get(id) ?? { count: 0, lastStart: 0 };
        c.count = Date.now() - c.lastStart < 60_000 ? c.count + 1 : 1;
        const delay = Math.min(10_000, 100 * 2 ** (c.count - 1));
        control.workerRestarts.inc();
        control.event("worker_replaced", "error", { msg: "worker exited unexpectedly; restarting", worker: id, in_ms: delay });
        setTimeout(() => {
          if (shuttingDown) return;
          c.lastStart = Date.now();
          crashes.set(id, c);
          spawn(id, port).then(
            (fresh) => (slots[slots.indexOf(slot)] = fresh),
            (err) => log("error", "worker restart failed", { worker: id, error: String(err) }),
          );
        }, delay);
      });
      worker.postMessage({ type: "start", id, config: effective, shared, port: listenPort } satisfies ToWorker);
    });

  try {
    // The first worker binds (port 0 resolves here); the others join its port with reusePort.
    slots.push(await spawn(0, port));
    port = slots[0]!.port;
    for (let i = 1; i < config.server.workers; i++) slots.push(await spawn(i, port));
  } catch (e) {
    for (const s of slots) s.worker.terminate();
    services.stop();
    discovery.stop();
    runtime.close();
    throw e;
  }

  /** One swap at a time: reloads and admin changes (already serialized by RuntimeConfig) and DNS refreshes. */
  let swapping: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = swapping.then(task, task);
    swapping = run.catch(() => {});
    return run;
  };

  /** Post `nextEffective` (for declared `next`) to every worker; resolves once all answered. */
  const applyToWorkers = async (next: GatewayConfig, nextEffective: GatewayConfig): Promise<ApplyResult> => {
    const nextShared = allocateShared(nextEffective, { config: effective, shared });
    const answers = await Promise.all(slots.map((s) => ask(s.worker, { type: "reload", config: nextEffective, shared: nextShared }, ["reloaded", "reload_failed"])));
    const failed = answers.find((a) => a.type === "reload_failed") as Extract<FromWorker, { type: "reload_failed" }> | undefined;
    if (failed) return { ok: false, error: failed.message };
    config = next;
    effective = nextEffective;
    shared = nextShared;
    services.reload(effective, shared);
    return { ok: true };
  };

  /** A DNS answer changed: the same config, the new addresses. Targets kept keep their state; removed ones drain. */
  const refreshTargets = () =>
    serially(async () => {
      if (shuttingDown) return;
      const nextEffective = discovery.expand(config);
      if (JSON.stringify(nextEffective.upstreams) === JSON.stringify(effective.upstreams)) return;
      const r = await applyToWorkers(config, nextEffective);
      if (!r.ok) control.event("dns_update_refused", "error", { msg: "a worker refused the DNS target update; keeping the previous targets", error: r.error });
    });

  /** Swap every worker to `next` (a validated config); resolves once all answered. */
  const swap = (next: GatewayConfig): Promise<ApplyResult> => serially(() => swapNow(next));
  const swapNow = async (next: GatewayConfig): Promise<ApplyResult> => {
    if (
      next.server.listen !== config.server.listen ||
      next.server.workers !== config.server.workers ||
      JSON.stringify(next.admin) !== JSON.stringify(config.admin)
    ) {
      log("warn", "server.listen, server.workers and [admin] changes need a restart; other changes applied");
    }
    let targets: PreparedTargets;
    try {
      targets = await discovery.prepare(next);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      control.reloadFailed.inc();
      control.event("reload_refused", "error", { msg: "reload refused: DNS discovery", error });
      return { ok: false, error };
    }
    const r = await applyToWorkers(next, targets.effective);
    if (r.ok) targets.commit();
    else targets.abandon();
    if (!r.ok) {
      control.reloadFailed.inc();
      control.event("reload_refused", "error", { msg: "reload failed in a worker", error: r.error });
      return r;
    }
    control.reloadOk.inc();
    control.reloadTime.set(Date.now() / 1000);
    control.event("reload_accepted", "info", { msg: "config reloaded", routes: config.routes.length, upstreams: config.upstreams.length });
    return { ok: true };
  };

  let admin: AdminServer | null = null;
  let metricsServer: { port: number; stop(): void } | null = null;
  const gateway: Gateway = {
    get port() {
      return port;
    },
    get adminPort() {
      return admin?.port ?? null;
    },
    get metricsPort() {
      return metricsServer?.port ?? null;
    },
    get config() {
      return config;
    },
    async reload() {
      try {
        return await runtime.reloadFile(swap);
      } catch (e) {
        const error = e instanceof ConfigError ? e.message : String(e);
        control.reloadFailed.inc();
        control.event("reload_refused", "error", { msg: "reload rejected; keeping the running config", error });
        return { ok: false, error };
      }
    },
    async shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      const timeout = config.server.drain_timeout;
      await Promise.all(
        slots.map(async (s) => {
          s.stopping = true;
          await Promise.race([ask(s.worker, { type: "drain", timeout }, ["drained"]), Bun.sleep(timeout + 2_000)]);
          s.worker.terminate();
        }),
      );
      admin?.stop();
      metricsServer?.stop();
      services.stop();
      discovery.stop();
      runtime.close();
    },
  };
  if (config.admin) {
    try {
      admin = startAdmin(config.admin, {
        config: () => config,
        workers: () => slots.length,
        reload: () => gateway.reload(),
        upstreams: () => services.upstreamState().snapshot(),
        revocation: () => services.control<AuthControl>("auth")!.revocation,
        metrics: metricsSource,
        runtime: () => runtime,
        apply: swap,
        discovery: () => discovery.status(),
        cache: () => shared.policies.cache ?? null,
        cacheControl: () => services.control<CacheControl>("cache"),
      });
    } catch (e) {
      await gateway.shutdown();
      throw new Error(`admin API cannot listen on ${config.admin.listen}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (config.metrics && config.metrics.listen !== "admin") {
    try {
      metricsServer = startMetricsServer(config.metrics, metricsSource);
    } catch (e) {
      await gateway.shutdown();
      throw new Error(`metrics cannot listen on ${config.metrics.listen}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return gateway;
}

function ask(worker: Worker, msg: ToWorker, answers: FromWorker["type"][]): Promise<FromWorker> {
  return new Promise((resolve) => {
    const onMessage = (event: MessageEvent<FromWorker>) => {
      if (answers.includes(event.data.type)) {
        worker.removeEventListener("message", onMessage);
        resolve(event.data);
      }
    };
    worker.addEventListener("message", onMessage);
    worker.postMessage(msg);
  });
}
