import type { GatewayConfig, TargetConfig, UpstreamConfig } from "../config/types.ts";
import type { TargetClient } from "../client/types.ts";
import { FetchClient } from "../client/fetch-client.ts";
import { UpstreamPool } from "../client/http1/pool.ts";

/** Which upstream client a worker uses; `fetch` exists to compare against (bench/RESULTS.md). */
const CLIENT_KIND = process.env.GATEWAY_UPSTREAM_CLIENT === "fetch" ? "fetch" : "pool";

/**
 * Keep-alive pools outlive snapshots: a reload that keeps a target keeps its
 * warm connections. Keyed by target URL and pool settings; a pool no longer
 * named by the live config is closed once the old snapshot is retired.
 */
export class ClientRegistry {
  readonly #clients = new Map<string, TargetClient>();

  get(target: TargetConfig, upstream: UpstreamConfig): TargetClient {
    const key = keyOf(target, upstream);
    let client = this.#clients.get(key);
    if (!client) {
      client = create(target, upstream);
      this.#clients.set(key, client);
    }
    return client;
  }

  /** Close the pools that `config` no longer uses. */
  retain(config: GatewayConfig): void {
    const live = new Set<string>();
    for (const u of config.upstreams) for (const t of u.targets) live.add(keyOf(t, u));
    for (const [key, client] of this.#clients) {
      if (!live.has(key)) {
        this.#clients.delete(key);
        // Requests still running on the old snapshot keep their sockets; idle ones go now.
        client.close();
      }
    }
  }

  closeAll(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

function keyOf(t: TargetConfig, u: UpstreamConfig): string {
  const p = u.pool;
  return `${t.protocol}//${t.host}:${t.port}|${t.hostname ?? ""}|${p.max_connections}|${p.idle_timeout}|${p.max_queue}|${p.queue_timeout}|${u.timeouts.connect}`;
}

function create(t: TargetConfig, u: UpstreamConfig): TargetClient {
  if (CLIENT_KIND === "fetch") {
    const host = t.host.includes(":") ? `[${t.host}]` : t.host;
    return new FetchClient(`${t.protocol}//${host}:${t.port}`, u.timeouts.connect);
  }
  return new UpstreamPool({
    host: t.host,
    port: t.port,
    tls: t.protocol === "https:",
    // A discovered address still presents its host name for SNI and the certificate check.
    servername: t.hostname ?? t.host,
    maxConnections: u.pool.max_connections,
    idleTimeout: u.pool.idle_timeout,
    maxQueue: u.pool.max_queue,
    queueTimeout: u.pool.queue_timeout,
    connectTimeout: u.timeouts.connect,
  });
}
