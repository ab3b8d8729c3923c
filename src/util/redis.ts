import { Cluster, Redis, type RedisOptions } from "ioredis";
import { redactCredentials } from "../config/addresses.ts";

/**
 * The gateway's one Redis client factory, used by the rate limiter (strict
 * decisions, sync loop, heartbeats) and by revocation sync. Supported URLs:
 *
 *   redis://[user:pass@]host:port[/db]                      one primary
 *   rediss://...                                            the same over TLS
 *   redis+sentinel://[user:pass@]h1:p1[,h2:p2...]/<master>[/db]
 *       Sentinel: the hosts are sentinels (default port 26379); ioredis asks
 *       them for <master> and follows failovers. The password is the data
 *       nodes'; sentinels are reached without AUTH.
 *   redis+cluster://[user:pass@]h1:p1[,h2:p2...]
 *       Redis Cluster: the hosts are seed nodes (default port 6379); the slot
 *       map is learned from them. No db (Cluster has only db 0).
 *
 * Cluster rules the callers follow: no command or script touches keys in two
 * hash slots. Strict mode tags its keys so one decision's keys share a slot
 * (strict.ts); the sync loop and revocation sync send single-key commands
 * only, which auto-pipelining batches per node.
 *
 * Failure behaviour, the same on every topology: every command is bounded by
 * `command_timeout`; nothing is queued while disconnected (callers check
 * `status === "ready"` and fall back at once); reconnects go on forever with
 * capped backoff (at most 1 s between tries). A subscriber connection
 * (`subscriber: true`) has no command timeout and queues its SUBSCRIBE until
 * connected, since it only ever waits for messages.
 */

export type RedisClient = Redis | Cluster;

export type RedisEndpoint =
  | { kind: "single"; url: string }
  | { kind: "sentinel"; sentinels: HostPort[]; master: string; db: number; username?: string; password?: string }
  | { kind: "cluster"; nodes: HostPort[]; username?: string; password?: string };

export interface HostPort {
  host: string;
  port: number;
}

const FORMS = "redis://, rediss://, redis+sentinel:// or redis+cluster://";
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Parse a redis.url; a string is the problem (credentials redacted), to prefix with the key path. */
export function parseRedisUrl(url: string): RedisEndpoint | string {
  const shown = JSON.stringify(redactCredentials(url));
  const m = SCHEME.exec(url);
  if (m === null) return `invalid URL ${shown} (expected ${FORMS})`;
  const scheme = m[1]!.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") {
    const u = URL.parse(url);
    if (u === null) return `invalid URL ${shown} (expected ${FORMS})`;
    if (u.hostname === "") return `missing host in ${shown}`;
    return { kind: "single", url };
  }
  if (scheme !== "redis+sentinel" && scheme !== "redis+cluster") return `expected a URL starting with ${FORMS}, got ${shown}`;
  // Credentials end at the last "@" (a password may hold "@" or "/").
  const rest = url.slice(m[0].length);
  const at = rest.lastIndexOf("@");
  const afterCred = at >= 0 ? rest.slice(at + 1) : rest;
  const shownHere = at >= 0 ? JSON.stringify(`${m[0]}***@${afterCred}`) : shown;
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const cred = rest.slice(0, at);
    const colon = cred.indexOf(":");
    try {
      const user = decodeURIComponent(colon < 0 ? cred : cred.slice(0, colon));
      username = user === "" ? undefined : user;
      password = colon < 0 ? undefined : decodeURIComponent(cred.slice(colon + 1));
    } catch {
      return `bad percent-encoding in the credentials of ${shownHere}`;
    }
  }
  const slash = afterCred.indexOf("/");
  const hostList = slash < 0 ? afterCred : afterCred.slice(0, slash);
  const path = slash < 0 ? "" : afterCred.slice(slash + 1);
  const defaultPort = scheme === "redis+sentinel" ? 26379 : 6379;
  const hosts: HostPort[] = [];
  for (const item of hostList.split(",")) {
    const hp = parseHostPort(item, defaultPort);
    if (hp === null) return `bad host:port ${JSON.stringify(item)} in ${shownHere}`;
    hosts.push(hp);
  }
  if (scheme === "redis+cluster") {
    if (path !== "") return `redis+cluster:// takes no path (Redis Cluster has only db 0), got ${shownHere}`;
    return { kind: "cluster", nodes: hosts, username, password };
  }
  const [master = "", dbText, ...extra] = path.split("/");
  if (master === "") return `redis+sentinel:// needs a master name: redis+sentinel://host:port[,host:port...]/<master>[/db], got ${shownHere}`;
  if (extra.length > 0 || (dbText !== undefined && dbText !== "" && !/^\d{1,5}$/.test(dbText))) {
    return `redis+sentinel:// db must be a whole number after the master name, got ${shownHere}`;
  }
  return { kind: "sentinel", sentinels: hosts, master, db: dbText ? Number(dbText) : 0, username, password };
}

/** "host", "host:port" or "[v6]:port"; null when malformed. */
function parseHostPort(text: string, defaultPort: number): HostPort | null {
  let host = text;
  let portText = "";
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) return null;
    host = text.slice(1, end);
    const tail = text.slice(end + 1);
    if (tail !== "" && !tail.startsWith(":")) return null;
    portText = tail.slice(1);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  if (host === "" || /[\s/@,]/.test(host) || (!text.startsWith("[") && host.includes(":"))) return null;
  if (portText === "") return text.endsWith(":") ? null : { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : null;
}

export interface ClientOptions {
  /** Only for SUBSCRIBE: no command timeout, and SUBSCRIBE waits for the connection. */
  subscriber?: boolean;
}

/** Reconnect forever, backing off to at most 1 s between tries. */
const backoff = (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000);

/** Open a client for redis.url; throws `redis.url: ...` for a URL config load would refuse. */
export function createRedisClient(cfg: { url: string; command_timeout: number }, connectionName: string, opts: ClientOptions = {}): RedisClient {
  const ep = parseRedisUrl(cfg.url);
  if (typeof ep === "string") throw new Error(`redis.url: ${ep}`);
  const sub = opts.subscriber === true;
  const perConnection: RedisOptions = {
    connectionName,
    commandTimeout: sub ? undefined : cfg.command_timeout,
    connectTimeout: Math.max(1000, cfg.command_timeout * 10),
    maxRetriesPerRequest: 0,
    enableAutoPipelining: !sub,
  };
  let client: RedisClient;
  if (ep.kind === "cluster") {
    const { enableAutoPipelining, ...redisOptions } = perConnection;
    client = new Cluster(ep.nodes, {
      redisOptions: { ...redisOptions, username: ep.username, password: ep.password },
      enableOfflineQueue: sub,
      enableAutoPipelining,
      clusterRetryStrategy: backoff,
      slotsRefreshTimeout: Math.max(1000, cfg.command_timeout * 10),
      // A MOVED/failover retry must still fit in the caller's timeout budget.
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      retryDelayOnTryAgain: 50,
    });
  } else {
    const common: RedisOptions = { ...perConnection, enableOfflineQueue: sub, retryStrategy: backoff };
    client =
      ep.kind === "single"
        ? new Redis(ep.url, common)
        : new Redis({ ...common, sentinels: ep.sentinels, name: ep.master, db: ep.db, username: ep.username, password: ep.password });
  }
  // Errors surface through command rejections; the event would otherwise be unhandled noise.
  client.on("error", () => {});
  return client;
}

export function isReady(client: RedisClient): boolean {
  return client.status === "ready";
}
