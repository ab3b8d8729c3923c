/**
 * The validated, normalized configuration: what `loadConfig()` returns and
 * what `compile()` turns into a snapshot. Durations are milliseconds, sizes
 * are bytes, defaults are filled in. Plain data only (no functions, no class
 * instances), so it can be posted to worker threads with structured clone.
 *
 * The TOML key names are the contract in ../shared/DESIGN.md; the field names
 * here are the same keys, snake_case kept, so a reader can grep one for the
 * other.
 */

import type { AuthRouteConfig } from "../policies/auth/config.ts";
import type { RateLimitRouteConfig } from "../policies/rate-limit/config.ts";
import type { CacheRouteConfig, CacheSectionConfig } from "../policies/cache/config.ts";
import type { PluginsConfig, PluginsRouteConfig } from "../policies/plugins/config-types.ts";
import type { StripPrefixRouteConfig } from "../policies/strip-prefix/config.ts";
import type { CompressionOverride, CompressionRouteConfig } from "../policies/compression/config.ts";
import type { CorsOverride, CorsRouteConfig } from "../policies/cors/config.ts";
import type { IpFilterConfig, IpFilterRouteConfig } from "../policies/ip-filter/config.ts";
import type { MetricsConfig } from "../policies/metrics/config.ts";
import type { TracingConfig } from "../policies/tracing/config.ts";
import type { TransformRouteConfig } from "../policies/transform/config.ts";
import type { IdempotencyRouteConfig, IdempotencySection } from "../policies/idempotency/config.ts";
import type { AggregateRouteConfig } from "./normalize-aggregate.ts";
import type { WebSocketRouteConfig } from "./normalize-websocket.ts";
import type { MatchRouteConfig } from "./normalize-match.ts";
import type { BenchConfig, Budget } from "../bench/config.ts";
import type { RateLimitConfig } from "../limits/config.ts";
import type { DiscoveryConfig, UpstreamDiscoveryConfig } from "../upstream/discovery/config.ts";

import type { RedisMode, RedisOnError } from "../limits/redis/modes.ts";
import type { BalancerName } from "../upstream/balancers/names.ts";

// Enum names are spelled once, as const lists next to their engines; the types come from there.
export type { AuthMode } from "../auth/modes.ts";
export type { RateLimitAlgorithm, RateLimitConfig } from "../limits/config.ts";
export type { BalancerName, RedisMode, RedisOnError };

export interface GatewayConfig extends PluginsConfig {
  server: ServerConfig;
  admin: AdminConfig | null;
  redis: RedisConfig | null;
  upstreams: UpstreamConfig[];
  routes: RouteConfig[];
  /** Issuers, in config order. `[jwt]` (one table) and `[[jwt]]` (a list) both normalize to this list. */
  jwt: JwtIssuerConfig[];
  auth: AuthConfig;
  consumers: ConsumerConfig[];
  rate_limit: RateLimitGlobalConfig;
  /** [cache]: the shared response cache arena (policies/cache); defaults when absent. */
  cache: CacheSectionConfig;
  /** [cors]: defaults of every route's CORS (policies/cors). */
  cors: CorsOverride | null;
  /** [compression]: on for every route with these settings (policies/compression). */
  compression: CompressionOverride | null;
  /** [ip]: the allow/deny lists every request passes before routing (policies/ip-filter). */
  ip: IpFilterConfig | null;
  /** `[metrics]`: the Prometheus listener; null/absent without the section (metrics are counted anyway). */
  metrics?: MetricsConfig | null;
  /** `[tracing]`: W3C Trace Context (defaults when absent). */
  tracing?: TracingConfig;
  /** `[discovery]`: how target host names are resolved (src/upstream/discovery); absent = defaults. */
  discovery?: DiscoveryConfig;
  /** `[idempotency]`: the records' arena and store (policies/idempotency); defaults when absent. */
  idempotency?: IdempotencySection;
  /** `[bench]`: read by `gateway bench` only. */
  bench: BenchConfig;
  /** Absolute path of the file this came from (for reload and relative paths). */
  source: string;
}

export interface ServerConfig {
  /** "host:port"; split into host and port. `[::1]:8080` form accepted for IPv6. */
  listen: string;
  host: string;
  port: number;
  /** Resolved: "auto" becomes navigator.hardwareConcurrency. */
  workers: number;
  max_body_size: number;
  /** Total bytes of request headers (names + values) accepted; default 16 KiB. */
  max_header_size: number;
  /** Longest request target (path + query) accepted; default 8 KiB. */
  max_url_length: number;
  /** CIDRs ("127.0.0.1/32", "10.0.0.0/8", "::1/128") or bare IPs. */
  trusted_proxies: string[];
  /**
   * Certificates, in file order; null without TLS. The first also answers a
   * client that sends no SNI or a name no entry lists (normalize-tls.ts).
   */
  tls: TlsCertificate[] | null;
  /** Lowest TLS version accepted; default "1.2" (1.0 and 1.1 are refused, RFC 8996). */
  tls_min_version: "1.2" | "1.3";
  /** TLS 1.2 cipher list (OpenSSL syntax); default: ECDHE with AEAD only (TLS_DEFAULT_CIPHERS). TLS 1.3 suites are fixed by BoringSSL. */
  tls_ciphers: string;
  /** ALPN h2 with HTTP/1.1 fallback, over TLS only; default true (Bun.serve's experimental `http2`). */
  http2: boolean;
  /** Strict-Transport-Security on every response (RFC 6797); only with tls. */
  hsts: HstsConfig | null;
  /** How long SIGTERM waits for in-flight requests; default 30 s. */
  drain_timeout: number;
  /** Client keep-alive idle timeout; default 60 s (Bun caps at 255 s). */
  idle_timeout: number;
  /** JSON access-log line per request to stdout; default true. */
  access_log: boolean;
  /** Liveness endpoint served by every worker before routing; default "/__health". "" disables. */
  health_path: string;
  /** Header carrying the request id; default "x-request-id" (lower-cased). */
  request_id_header: string;
}

export interface TlsCertificate {
  /** Absolute paths of the PEM files; re-read on every reload. */
  cert: string;
  key: string;
  /** SNI names (lower case, "*.example.com" for one label) this certificate serves; [] = only the default. */
  hosts: string[];
}

export interface HstsConfig {
  /** Seconds (max-age, RFC 6797 §6.1.1). */
  max_age: number;
  include_subdomains: boolean;
  preload: boolean;
  /** The header value, built once at load. */
  header: string;
}

export interface AdminConfig {
  listen: string;
  host: string;
  port: number;
  token: string;
  /** Absolute path of the admin API's state file (runtime consumers, keys, targets); default gateway-state.json next to the config. */
  state_file: string;
}

export interface RedisConfig {
  url: string;
  mode: RedisMode;
  sync_interval: number;
  on_error: RedisOnError;
  /** Per-command timeout; default 100 ms. */
  command_timeout: number;
  /** Namespace for every key the gateway writes; default "gw:". */
  key_prefix: string;
}

export interface TargetConfig {
  url: string;
  /** Parsed from url. */
  protocol: "http:" | "https:";
  host: string;
  port: number;
  weight: number;
  backup: boolean;
  /**
   * Set on a target made by DNS discovery (src/upstream/discovery): the name
   * `host` (an address) was resolved from, sent as Host and as the TLS server
   * name. Absent on configured targets.
   */
  hostname?: string;
}

export interface HealthCheckConfig {
  path: string;
  interval: number;
  timeout: number;
  healthy: number;
  unhealthy: number;
  /** Inclusive status range counted as healthy; default [200, 399]. TOML: expected_status = "200-399" or 200. */
  expected_status: [number, number];
}

export interface UpstreamConfig {
  name: string;
  balancer: BalancerName;
  /** For balancer = "hash": "ip" | "path" | "header:NAME" | "cookie:NAME" | "query:NAME". */
  hash_key: string | null;
  targets: TargetConfig[];
  health_check: HealthCheckConfig | null;
  /** max_fails 0 = off. `connect_only`: count only connect failures (the default check when the table is absent). */
  passive: { max_fails: number; fail_timeout: number; connect_only?: boolean } | null;
  circuit_breaker: {
    failures: number;
    open_for: number;
    half_open_requests: number;
    /** Upstream statuses that count as failures; default 500-599 as a list [500..599]. */
    statuses: number[];
  } | null;
  /** connect default 2 s, read default 30 s, total (all tries) default 0 = none. */
  timeouts: { connect: number; read: number; total: number };
  retries: number;
  /** Retries allowed as a share of recent requests, plus a floor per second. Default ratio 0.2, min_per_second 10. */
  retry_budget: { ratio: number; min_per_second: number };
  /** Keep-alive pool per target. Defaults: max_connections 1024, idle_timeout 60 s, max_queue 1024, queue_timeout 5 s. */
  pool: { max_connections: number; idle_timeout: number; max_queue: number; queue_timeout: number };
  /** Send the client's Host header upstream instead of the target's; default false. */
  preserve_host: boolean;
  /** `discovery = { dns_srv, interval, scheme }`; absent when not given. */
  discovery?: UpstreamDiscoveryConfig;
}




/**
 * A route: the keys every route has, plus each recipe entry's own part (the
 * policy folders own those types, src/policies/<name>/config.ts).
 */
export interface RouteConfig
  extends AuthRouteConfig, RateLimitRouteConfig, StripPrefixRouteConfig, IpFilterRouteConfig, CorsRouteConfig, CompressionRouteConfig, PluginsRouteConfig,
    CacheRouteConfig, TransformRouteConfig, MatchRouteConfig, AggregateRouteConfig, WebSocketRouteConfig, IdempotencyRouteConfig {
  name: string;
  /** Host names this route answers for; empty = any. "*.example.com" matches one label. */
  hosts: string[];
  path: string;
  /** Upper-case; empty = every method. */
  methods: string[];
  /** "" on an aggregate route whose calls name their own upstreams. */
  upstream: string;
  /** Per-route override of the upstream's read timeout (on an aggregate route: the bound of the whole fan-out); 0 = use the upstream's. */
  timeout: number;
  /** `gateway bench` latency budget (src/bench/config.ts); null: none. The gateway ignores it. */
  budget: Budget | null;
}

export interface JwtIssuerConfig {
  /** Expected `iss`; null accepts any issuer (only valid with a single [jwt]). */
  issuer: string | null;
  /** Accepted `aud` values; empty = not checked. */
  audience: string[];
  jwks_url: string | null;
  secret: string | null;
  /** PEM or JWK JSON text (a path in the TOML is read at load). */
  public_key: string | null;
  algorithms: string[];
  clock_skew: number;
  require_exp: boolean;
  /** Claim naming a consumer (maps the token to [[consumers]]); default "consumer". */
  consumer_claim: string;
  roles_claim: string;
  /** Space-separated scope string claim; default "scope". */
  scopes_claim: string;
  /** Array-of-strings permissions claim, merged into scopes; default "permissions". */
  permissions_claim: string;
  /** JWKS refresh on unknown kid at most this often; default 30 s. */
  jwks_cooldown: number;
  /** Background JWKS refresh; default 10 m. */
  jwks_refresh: number;
  /** Longest token accepted; default 8 KiB. */
  max_token_size: number;
}

export interface AuthConfig {
  /** Lower-cased; default "x-api-key". */
  api_key_header: string;
  /** Query parameter name accepted for API keys; null = disabled (default). */
  api_key_query: string | null;
  /** Remove Authorization before forwarding; default false. */
  strip_authorization: boolean;
  /** Remove the API key (its header, and its query parameter when api_key_query is set) before forwarding; default false. */
  strip_api_key: boolean;
  /** Claim name → header name forwarded to upstreams on success. */
  forward_claims: Record<string, string>;
  /** Revoked JWT ids. */
  revoked_jtis: string[];
  /** Revoked API keys (plain, as configured; hashed at compile). */
  revoked_api_keys: string[];
  /** Verified-token cache entries; default 10000. */
  token_cache_size: number;
}

export interface ConsumerConfig {
  name: string;
  api_keys: string[];
  /** Keys known only by their SHA-256, lower-case hex; absent when none (admin-issued keys). */
  api_key_digests?: string[];
  roles: string[];
  /** Override the route's limits for this consumer when non-empty. */
  rate_limits: RateLimitConfig[];
}

export interface RateLimitGlobalConfig {
  /** Slot-table capacity (keys held at once across workers); default 65536. */
  slots: number;
  /** Send X-RateLimit-Limit/-Remaining/-Reset as well; default true. */
  legacy_headers: boolean;
}
