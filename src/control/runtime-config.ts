/**
 * The running config as the control plane holds it: the file's document, the
 * admin API's runtime state, where that state persists, and when and what was
 * loaded. A runtime change (a new consumer, key, target) is validated, then
 * persisted, then swapped into every worker by the same path as a reload
 * (`apply`, which resolves once every worker answered), so when the admin
 * call returns, every worker already decides with it. A change that fails
 * validation or persistence changes nothing.
 */
import type { GatewayConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { buildConfig, readConfigFile, type LoadedConfig } from "./config-source.ts";
import { emptyState, type RuntimeState } from "./runtime-state.ts";
import { fileStateStore, redisStateStore, type StateStore } from "./state-store.ts";

export type ApplyResult = { ok: true } | { ok: false; error: string };

export class RuntimeConfig {
  private loaded: LoadedConfig;
  private state: RuntimeState;
  private loadedAt = new Date();
  /** Serializes changes: two admin calls never interleave validate → persist → apply. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    loaded: LoadedConfig,
    state: RuntimeState,
    private readonly store: StateStore | null,
  ) {
    this.loaded = loaded;
    this.state = state;
  }

  /** Read the file, validate it alone, then with the stored runtime state (which, if it no longer fits, is logged and left out). */
  static async open(path: string): Promise<RuntimeConfig> {
    const file = await readConfigFile(path);
    const fileOnly = buildConfig(file.raw, file.text, emptyState(), path);
    const admin = fileOnly.config.admin;
    const store = admin === null ? null : fileOnly.config.redis ? redisStateStore(fileOnly.config.redis, admin.state_file) : fileStateStore(admin.state_file);
    if (store === null) return new RuntimeConfig(path, fileOnly, emptyState(), null);
    let state: RuntimeState;
    try {
      state = await store.load();
    } catch (e) {
      store.close();
      throw new ConfigError([`admin.state_file: cannot read ${admin!.state_file}: ${e instanceof Error ? e.message : String(e)}`]);
    }
    try {
      const merged = buildConfig(file.raw, file.text, state, path);
      logShadowed(merged.shadowed);
      return new RuntimeConfig(path, merged, state, store);
    } catch (e) {
      log("error", "runtime state does not validate with this config; starting without it", { error: e instanceof Error ? e.message : String(e) });
      return new RuntimeConfig(path, fileOnly, state, store);
    }
  }

  get config(): GatewayConfig {
    return this.loaded.config;
  }

  /** For GET /config: hash of what runs, when it was loaded, which store keeps the runtime state. */
  info(): { hash: string; loaded_at: string; source: string; state_store: "file" | "redis" | null; shadowed_consumers: string[] } {
    return {
      hash: this.loaded.hash,
      loaded_at: this.loadedAt.toISOString(),
      source: this.path,
      state_store: this.store?.kind ?? null,
      shadowed_consumers: this.loaded.shadowed,
    };
  }

  /** Does config.toml itself define consumer `name`? (Such a consumer is not the admin API's to change.) */
  isFileConsumer(name: string): boolean {
    const list = this.loaded.raw.consumers;
    return Array.isArray(list) && list.some((c) => (c as { name?: unknown })?.name === name);
  }

  /** A deep copy of the runtime state, for reading or for building the next one. */
  snapshot(): RuntimeState {
    return structuredClone(this.state);
  }

  /** Reload: read the file again, merge the current state. Throws ConfigError; nothing changes then. */
  async reloadFile(apply: (c: GatewayConfig) => Promise<ApplyResult>): Promise<ApplyResult> {
    return this.serial(async () => {
      const file = await readConfigFile(this.path);
      const next = buildConfig(file.raw, file.text, this.state, this.path);
      const r = await apply(next.config);
      if (r.ok) this.commit(next);
      return r;
    });
  }

  /**
   * Change the runtime state: `edit` gets a copy and returns an error text to
   * refuse. The result is validated with the file, persisted, applied.
   */
  async change(edit: (s: RuntimeState) => string | null, apply: (c: GatewayConfig) => Promise<ApplyResult>): Promise<ApplyResult & { status?: number }> {
    return this.serial(async () => {
      if (this.store === null) return { ok: false as const, error: "no [admin] section", status: 409 };
      const nextState = this.snapshot();
      const refused = edit(nextState);
      if (refused !== null) return { ok: false as const, error: refused, status: 409 };
      let next: LoadedConfig;
      try {
        next = buildConfig(this.loaded.raw, this.loaded.text, nextState, this.path);
      } catch (e) {
        return { ok: false as const, error: e instanceof Error ? e.message : String(e), status: 422 };
      }
      try {
        await this.store.save(nextState);
      } catch (e) {
        log("error", "admin state not persisted; change refused", { error: String(e) });
        return { ok: false as const, error: `cannot persist the change: ${e instanceof Error ? e.message : String(e)}`, status: 503 };
      }
      const r = await apply(next.config);
      if (!r.ok) {
        await this.store.save(this.state).catch(() => {});
        return { ...r, status: 500 };
      }
      this.state = nextState;
      this.commit(next);
      return r;
    });
  }

  close(): void {
    this.store?.close();
  }

  private commit(next: LoadedConfig): void {
    this.loaded = next;
    this.loadedAt = new Date();
    logShadowed(next.shadowed);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }
}

function logShadowed(names: string[]): void {
  if (names.length > 0) log("warn", "runtime consumers ignored: the config file defines them (config wins)", { consumers: names });
}

function log(level: "info" | "warn" | "error", msg: string, extra: Record<string, unknown> = {}): void {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra }));
}
