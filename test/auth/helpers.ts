import { authConfig as baseAuth, consumerConfig, gatewayConfig as baseConfig, issuerConfig as baseIssuer, redisConfig, routeConfig as baseRoute } from "../helpers/config.ts";
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

/** A normalized issuer (the loader's defaults), for ISSUER and audience "api", no clock skew. */
export function issuerConfig(p: Partial<JwtIssuerConfig> = {}): JwtIssuerConfig {
  return baseIssuer({ issuer: ISSUER, audience: ["api"], clock_skew: 0, ...p });
}

export function authConfig(p: Partial<AuthConfig> = {}): AuthConfig {
  return baseAuth(p);
}

export function consumer(name: string, api_keys: string[], roles: string[] = []): ConsumerConfig {
  return consumerConfig({ name, api_keys, roles });
}

export function gatewayConfig(p: {
  jwt?: JwtIssuerConfig[];
  auth?: Partial<AuthConfig>;
  consumers?: ConsumerConfig[];
  redis?: Partial<RedisConfig> & { url: string };
} = {}): GatewayConfig {
  return baseConfig({
    redis: p.redis ? redisConfig({ command_timeout: 200, ...p.redis }) : null,
    jwt: p.jwt ?? [],
    auth: authConfig(p.auth),
    consumers: p.consumers ?? [],
    rate_limit: { slots: 1024, legacy_headers: true },
  });
}

export function routeConfig(p: Partial<RouteConfig> = {}): RouteConfig {
  return baseRoute({ upstream: "u", auth: "jwt", ...p });
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
