/**
 * The one config builder of the tests. Configs come from parsing TOML, so
 * every default is the normalizers' own (src/config); a test states only
 * what it cares about. For engine tests that take one section's normalized
 * form, `defaults` holds each section as a minimal file normalizes it, and
 * the helpers below override fields on top of that.
 */
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import type {
  AuthConfig,
  ConsumerConfig,
  GatewayConfig,
  JwtIssuerConfig,
  RateLimitConfig,
  RedisConfig,
  RouteConfig,
  UpstreamConfig,
} from "../../src/config/types.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/config");

/** Parse TOML as if the file lived in test/fixtures/config (relative key and cert paths resolve there). */
export function testConfig(toml: string, env: Record<string, string> = {}): GatewayConfig {
  return parseConfig(toml, join(FIXTURES, "inline.toml"), env);
}

const MINIMAL = `
[server]
listen = "127.0.0.1:0"
access_log = false
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "r"
path = "/api/*"
upstream = "u"
rate_limits = [{ algorithm = "token_bucket", limit = 1, window = "1m" }]
`;
const WITH_SECTIONS = `${MINIMAL}
[redis]
url = "redis://127.0.0.1:6379"
[jwt]
secret = "0123456789abcdef0123456789abcdef"
algorithms = ["HS256"]
[[consumers]]
name = "c"
`;

const minimal = testConfig(MINIMAL);
const full = testConfig(WITH_SECTIONS);
const { rate_limits: _limits, ...plainRoute } = minimal.routes[0]!;

/** Each section as a minimal file normalizes it. Treat as read-only; the helpers copy. */
export const defaults = {
  config: { ...minimal, routes: [], upstreams: [] } as GatewayConfig,
  server: minimal.server,
  upstream: minimal.upstreams[0]!,
  route: { ...plainRoute, rate_limits: [] } as RouteConfig,
  rateLimit: minimal.routes[0]!.rate_limits[0]!,
  redis: full.redis!,
  issuer: full.jwt[0]!,
  auth: minimal.auth,
  consumer: full.consumers[0]!,
  rateLimitGlobal: minimal.rate_limit,
};

/** A whole config: the minimal file's sections (no upstream, no route), with `over` on top. */
export function gatewayConfig(over: Partial<GatewayConfig> = {}): GatewayConfig {
  return structuredClone({ ...defaults.config, ...over });
}

export function routeConfig(over: Partial<RouteConfig> = {}): RouteConfig {
  return structuredClone({ ...defaults.route, ...over });
}

export function upstreamConfig(over: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return structuredClone({ ...defaults.upstream, ...over });
}

export function issuerConfig(over: Partial<JwtIssuerConfig> = {}): JwtIssuerConfig {
  return structuredClone({ ...defaults.issuer, secret: null, algorithms: [], ...over });
}

export function authConfig(over: Partial<AuthConfig> = {}): AuthConfig {
  return structuredClone({ ...defaults.auth, ...over });
}

export function consumerConfig(over: Partial<ConsumerConfig> & { name: string }): ConsumerConfig {
  return structuredClone({ ...defaults.consumer, ...over });
}

export function redisConfig(over: Partial<RedisConfig> & { url: string }): RedisConfig {
  return structuredClone({ ...defaults.redis, ...over });
}

export function rateLimitConfig(over: Partial<RateLimitConfig> & Pick<RateLimitConfig, "algorithm" | "limit">): RateLimitConfig {
  return structuredClone({ ...defaults.rateLimit, ...over });
}
