import { testContext } from "../helpers/context.ts";
import type {
  AuthConfig,
  ConsumerConfig,
  GatewayConfig,
  JwtIssuerConfig,
  RedisConfig,
  RouteConfig,
} from "../../src/config/types.ts";
import type { RequestContext } from "../../src/policies/context.ts";
import type { Policy } from "../../src/policies/types.ts";

export const ISSUER = "https://issuer.test/";

/** A normalized issuer as the loader would produce it (defaults filled). */
export function issuerConfig(p: Partial<JwtIssuerConfig> = {}): JwtIssuerConfig {
  return {
    issuer: ISSUER,
    audience: ["api"],
    jwks_url: null,
    secret: null,
    public_key: null,
    algorithms: [],
    clock_skew: 0,
    require_exp: true,
    consumer_claim: "consumer",
    roles_claim: "roles",
    scopes_claim: "scope",
    permissions_claim: "permissions",
    jwks_cooldown: 30_000,
    jwks_refresh: 600_000,
    max_token_size: 8192,
    ...p,
  };
}

export function authConfig(p: Partial<AuthConfig> = {}): AuthConfig {
  return {
    api_key_header: "x-api-key",
    api_key_query: null,
    strip_authorization: false,
    strip_api_key: false,
    forward_claims: {},
    revoked_jtis: [],
    revoked_api_keys: [],
    token_cache_size: 10_000,
    ...p,
  };
}

export function consumer(name: string, api_keys: string[], roles: string[] = []): ConsumerConfig {
  return { name, api_keys, roles, rate_limits: [] };
}

export function gatewayConfig(p: {
  jwt?: JwtIssuerConfig[];
  auth?: Partial<AuthConfig>;
  consumers?: ConsumerConfig[];
  redis?: Partial<RedisConfig> & { url: string };
} = {}): GatewayConfig {
  return {
    server: {
      listen: "127.0.0.1:0",
      host: "127.0.0.1",
      port: 0,
      workers: 1,
      max_body_size: 10 << 20,
      max_header_size: 16 << 10,
      max_url_length: 8 << 10,
      trusted_proxies: [],
      tls: null,
      drain_timeout: 30_000,
      idle_timeout: 60_000,
      access_log: false,
      health_path: "/__health",
      request_id_header: "x-request-id",
    },
    admin: null,
    redis: p.redis
      ? { mode: "sync", sync_interval: 50, on_error: "local", command_timeout: 200, key_prefix: "gw:", ...p.redis }
      : null,
    upstreams: [],
    routes: [],
    jwt: p.jwt ?? [],
    auth: authConfig(p.auth),
    consumers: p.consumers ?? [],
    rate_limit: { slots: 1024, legacy_headers: true },
    source: "/dev/null",
  };
}

export function routeConfig(p: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name: "r",
    hosts: [],
    path: "/api/*",
    methods: [],
    upstream: "u",
    strip_prefix: null,
    auth: "jwt",
    roles: [],
    scopes: [],
    method_roles: {},
    rate_limits: [],
    timeout: 0,
    ...p,
  };
}

/** A RequestContext-shaped object, as the server will build it. */
export function requestContext(p: { method?: string; headers?: Record<string, string>; query?: string; requestId?: string } = {}): RequestContext {
  return testContext({ method: p.method, path: "/api/x", query: p.query, headers: p.headers, requestId: p.requestId, start: performance.now() });
}

/** Run a policy's onRequest the way the runner does (await only a returned promise). */
export async function runPolicy(policy: Policy, ctx: RequestContext): Promise<Response | undefined> {
  const r = policy.onRequest!(ctx);
  return r instanceof Promise ? await r : r;
}

export function b64url(s: string | Uint8Array): string {
  return Buffer.from(s).toString("base64url");
}

export function upstreamHeader(ctx: RequestContext, name: string): string | undefined {
  return ctx.upstreamHeaders?.find(([n]) => n === name)?.[1];
}

/** The JSON error body every denial carries. */
export interface ErrorBody {
  error: string;
  message: string;
  request_id: string;
}

export async function errorBody(res: Response): Promise<ErrorBody> {
  return (await res.json()) as ErrorBody;
}
