import { consumerConfig, gatewayConfig as baseConfig, rateLimitConfig, redisConfig as baseRedis, routeConfig } from "../helpers/config.ts";
import { testContext } from "../helpers/context.ts";
import type { ConsumerConfig, GatewayConfig, RateLimitConfig, RedisConfig, RouteConfig } from "../../src/config/types.ts";
import type { Identity, RequestContext } from "../../src/policies/context.ts";

export function limit(p: Partial<RateLimitConfig> & Pick<RateLimitConfig, "algorithm" | "limit">): RateLimitConfig {
  // Tests share tables and registries: a random id keeps their limits apart.
  return rateLimitConfig({ window: 60_000, burst: 0, key: ["ip"], id: `t#${Math.random().toString(36).slice(2, 8)}`, ...p });
}

export function route(name: string, rate_limits: RateLimitConfig[]): RouteConfig {
  return routeConfig({ name, path: `/${name}/*`, upstream: "up", rate_limits });
}

export function consumer(name: string, rate_limits: RateLimitConfig[]): ConsumerConfig {
  return consumerConfig({ name, rate_limits });
}

export function redisConfig(url: string, p: Partial<RedisConfig> = {}): RedisConfig {
  return baseRedis({ url, mode: "strict", command_timeout: 200, key_prefix: `t${Math.random().toString(36).slice(2, 8)}:`, ...p });
}

/** A config with these routes, consumers, Redis and slot table. */
export function gatewayConfig(p: { routes?: RouteConfig[]; consumers?: ConsumerConfig[]; redis?: RedisConfig | null; slots?: number; legacy?: boolean }): GatewayConfig {
  return baseConfig({
    redis: p.redis ?? null,
    routes: p.routes ?? [],
    consumers: p.consumers ?? [],
    rate_limit: { slots: p.slots ?? 4096, legacy_headers: p.legacy ?? true },
  });
}

export interface CtxInit {
  ip?: string;
  headers?: Record<string, string>;
  consumer?: string | null;
  claims?: Record<string, unknown> | null;
  route?: string;
  requestId?: string;
}

/** A RequestContext-shaped object, as the server would build it. */
export function ctx(init: CtxInit = {}): RequestContext {
  const identity: Identity | null =
    init.consumer !== undefined || init.claims !== undefined
      ? { via: "jwt", consumer: init.consumer ?? null, subject: null, roles: [], scopes: [], claims: init.claims ?? null }
      : null;
  return testContext({
    path: "/x",
    headers: init.headers,
    clientIp: init.ip ?? "192.0.2.1",
    requestId: init.requestId,
    route: { name: init.route ?? "r" },
    identity,
  });
}

export function header(c: RequestContext, name: string): string | undefined {
  return c.responseHeaders?.find(([n]) => n === name)?.[1];
}

export function runCleanups(c: RequestContext): void {
  for (const fn of c.cleanups ?? []) fn();
}

/** A settable clock. */
export function clock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    set(ms: number) {
      t = ms;
    },
    advance(ms: number) {
      t += ms;
    },
  };
}

/**
 * A small Structured Fields parser (RFC 8941) for Lists of Items whose bare
 * item is a String or Token and whose parameters are Integers, Strings or
 * Tokens: enough to check the RateLimit fields strictly.
 */
export function parseSfList(input: string): { value: string; kind: "string" | "token"; params: Record<string, number | string> }[] {
  let i = 0;
  const s = input;
  const ws = () => {
    while (s[i] === " " || s[i] === "\t") i++;
  };
  const fail = (why: string): never => {
    throw new Error(`bad structured field at ${i}: ${why} in ${JSON.stringify(s)}`);
  };
  const str = (): string => {
    if (s[i] !== '"') fail("expected string");
    i++;
    let out = "";
    for (;;) {
      const c = s[i++];
      if (c === undefined) fail("unterminated string");
      if (c === "\\") {
        const n = s[i++];
        if (n !== '"' && n !== "\\") fail("bad escape");
        out += n;
      } else if (c === '"') return out;
      else if (c! < " " || c! > "~") fail("bad char");
      else out += c;
    }
  };
  const token = (): string => {
    const m = /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*/.exec(s.slice(i));
    if (!m) fail("expected token");
    i += m![0].length;
    return m![0];
  };
  const key = (): string => {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(s.slice(i));
    if (!m) fail("expected key");
    i += m![0].length;
    return m![0];
  };
  const bare = (): number | string => {
    if (s[i] === '"') return str();
    const m = /^-?[0-9]{1,15}/.exec(s.slice(i));
    if (m) {
      i += m[0].length;
      if (s[i] === ".") fail("decimals not expected");
      return Number(m[0]);
    }
    return token();
  };
  const out: { value: string; kind: "string" | "token"; params: Record<string, number | string> }[] = [];
  ws();
  for (;;) {
    const kind = s[i] === '"' ? "string" : "token";
    const value = kind === "string" ? str() : token();
    const params: Record<string, number | string> = {};
    while (s[i] === ";") {
      i++;
      ws();
      const k = key();
      if (s[i] === "=") {
        i++;
        params[k] = bare();
      } else params[k] = 1;
    }
    out.push({ value, kind, params });
    ws();
    if (i >= s.length) return out;
    if (s[i] !== ",") fail("expected comma");
    i++;
    ws();
    if (i >= s.length) fail("trailing comma");
  }
}
