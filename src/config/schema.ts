/**
 * TypeBox schemas of the raw TOML (after `${ENV}` interpolation, before
 * normalization): shapes and types only. Every table has
 * `additionalProperties: false`, so an unknown key is an error. Checks that
 * need more than one value (references, exclusivity, file reads) live in the
 * normalize-*.ts files.
 *
 * Plain JSON Schema underneath, so the admin API (Elysia uses TypeBox) can
 * reuse these to validate a config sent to it.
 *
 * The [[routes]] table is composed: the keys every route has, plus each
 * recipe entry's own keys (src/policies/index.ts). Building blocks and
 * error-message annotations: schema-kit.ts.
 */

import { type Static, Type } from "@sinclair/typebox";
import { REDIS_MODES, REDIS_ON_ERROR } from "../limits/redis/modes.ts";
import { BenchSchema, BudgetSchema } from "../bench/config.ts";
import { FACTORIES, RECIPE } from "../policies/index.ts";
import { BALANCER_NAMES } from "../upstream/balancers/names.ts";
import { AGGREGATE_ROUTE_KEYS } from "./normalize-aggregate.ts";
import { WEBSOCKET_ROUTE_KEYS } from "./normalize-websocket.ts";
import { MATCH_ROUTE_KEYS } from "./normalize-match.ts";
import {
  Bool,
  Duration,
  NameList,
  NonEmpty,
  NonNegativeInt,
  PositiveInt,
  RateLimits,
  Size,
  Str,
  StrList,
  oneOf,
  opt,
  table,
} from "./schema-kit.ts";

import { IpTable } from "../policies/ip-filter/config.ts";

export { NOT_AVAILABLE, RateLimitSchema, UNIT, type Loose, type RawRateLimit } from "./schema-kit.ts";
export { AUTH_MODES } from "../auth/modes.ts";
export { RATE_LIMIT_ALGORITHMS } from "../limits/config.ts";


/** One certificate of `server.tls`: PEM files relative to the config file; `hosts` the SNI names it serves. */
export const TlsCertificateSchema = table({ cert: NonEmpty, key: NonEmpty, hosts: opt(NameList) });

export const ServerSchema = table({
  listen: opt(Str),
  workers: opt(
    Type.Union([Type.Integer({ minimum: 1 }), Type.Literal("auto")], {
      errorMessage: 'expected a positive integer or "auto"',
    }),
  ),
  max_body_size: opt(Size),
  max_header_size: opt(Size),
  max_url_length: opt(Size),
  trusted_proxies: opt(StrList),
  // One certificate, or several chosen by SNI (normalize-tls.ts); HSTS only over TLS.
  tls: opt(
    Type.Union([TlsCertificateSchema, Type.Array(TlsCertificateSchema, { minItems: 1 })], {
      errorMessage: "expected a table { cert, key } or a non-empty list of them",
    }),
  ),
  tls_min_version: opt(oneOf(["1.2", "1.3"] as const)),
  tls_ciphers: opt(NonEmpty),
  http2: opt(Bool),
  hsts: opt(table({ max_age: opt(Duration), include_subdomains: opt(Bool), preload: opt(Bool) })),
  drain_timeout: opt(Duration),
  idle_timeout: opt(Duration),
  access_log: opt(Bool),
  health_path: opt(Str),
  request_id_header: opt(NonEmpty),
  // The global IP filter (policies/ip-filter); `[ip]` is the same table at the top level.
  ip: opt(IpTable),
});

export const AdminSchema = table({
  listen: opt(Str),
  token: NonEmpty,
  /** Runtime consumers, keys and targets (admin API) persist here when there is no [redis]; relative to this file. */
  state_file: opt(NonEmpty),
});

export const RedisSchema = table({
  url: Str,
  mode: opt(oneOf(REDIS_MODES)),
  sync_interval: opt(Duration),
  on_error: opt(oneOf(REDIS_ON_ERROR)),
  command_timeout: opt(Duration),
  key_prefix: opt(Str),
});

export const TargetSchema = table({
  url: Str,
  weight: opt(PositiveInt),
  backup: opt(Bool),
});

const STATUS_MESSAGE = 'expected an HTTP status such as 200 or a range such as "200-399"';

export const UpstreamSchema = table({
  name: NonEmpty,
  balancer: opt(oneOf(BALANCER_NAMES)),
  hash_key: opt(Str),
  // Required unless discovery.dns_srv supplies them (normalize-upstreams.ts).
  targets: opt(Type.Array(TargetSchema, { minItems: 1, errorMessage: "expected a non-empty list of targets" })),
  discovery: opt(table({ dns_srv: opt(NonEmpty), interval: opt(Duration), scheme: opt(oneOf(["http", "https"] as const)) })),
  health_check: opt(
    table({
      path: Str,
      interval: opt(Duration),
      timeout: opt(Duration),
      healthy: opt(PositiveInt),
      unhealthy: opt(PositiveInt),
      expected_status: opt(Type.Union([Str, Type.Integer()], { errorMessage: STATUS_MESSAGE })),
    }),
  ),
  passive: opt(table({ max_fails: opt(NonNegativeInt), fail_timeout: opt(Duration) })),
  circuit_breaker: opt(
    table({
      failures: opt(PositiveInt),
      open_for: opt(Duration),
      half_open_requests: opt(PositiveInt),
      statuses: opt(
        Type.Array(Type.Integer({ minimum: 100, maximum: 599, errorMessage: "expected an HTTP status from 100 to 599" }), {
          errorMessage: "expected a list of HTTP statuses",
        }),
      ),
    }),
  ),
  timeouts: opt(table({ connect: opt(Duration), read: opt(Duration), total: opt(Duration) })),
  retries: opt(Type.Integer({ minimum: 0, maximum: 10, errorMessage: "expected an integer from 0 to 10" })),
  retry_budget: opt(
    table({
      ratio: opt(Type.Number({ minimum: 0, maximum: 1, errorMessage: "expected a number from 0 to 1" })),
      min_per_second: opt(NonNegativeInt),
    }),
  ),
  pool: opt(
    table({
      max_connections: opt(PositiveInt),
      idle_timeout: opt(Duration),
      max_queue: opt(NonNegativeInt),
      queue_timeout: opt(Duration),
    }),
  ),
  preserve_host: opt(Bool),
});

/** The keys every route has; each policy of the recipe adds its own (PolicyFactory.routeKeys). */
export const BASE_ROUTE_KEYS = {
  name: NonEmpty,
  hosts: opt(StrList),
  path: Str,
  methods: opt(StrList),
  // Required unless every [[routes.aggregate]] call names its own (normalize-routes.ts).
  upstream: opt(Str),
  ...MATCH_ROUTE_KEYS,
  // Read by `gateway bench` only (src/bench/config.ts).
  budget: opt(BudgetSchema),
};

const ROUTE_TAIL_KEYS = { timeout: opt(Duration), ...AGGREGATE_ROUTE_KEYS, ...WEBSOCKET_ROUTE_KEYS };

export const RouteSchema = table(
  // timeout last: problems are reported in key order, and it used to come after the policies' keys.
  Object.assign({}, BASE_ROUTE_KEYS, ...RECIPE.map((f) => f.routeKeys ?? {}), ROUTE_TAIL_KEYS) as typeof BASE_ROUTE_KEYS & typeof ROUTE_TAIL_KEYS,
);

export const JwtIssuerSchema = table({
  issuer: opt(NonEmpty),
  audience: opt(Type.Union([Str, StrList], { errorMessage: "expected a string or a list of strings" })),
  jwks_url: opt(Str),
  secret: opt(NonEmpty),
  public_key: opt(NonEmpty),
  algorithms: Type.Array(Str, { minItems: 1, errorMessage: "expected a non-empty list of algorithms" }),
  clock_skew: opt(Duration),
  require_exp: opt(Bool),
  consumer_claim: opt(NonEmpty),
  roles_claim: opt(NonEmpty),
  scopes_claim: opt(NonEmpty),
  permissions_claim: opt(NonEmpty),
  jwks_cooldown: opt(Duration),
  jwks_refresh: opt(Duration),
  max_token_size: opt(Size),
});

export const AuthSchema = table({
  api_key_header: opt(NonEmpty),
  api_key_query: opt(NonEmpty),
  strip_authorization: opt(Bool),
  strip_api_key: opt(Bool),
  forward_claims: opt(Type.Record(Type.String(), Str, { errorMessage: "expected a table of claim = \"header\"" })),
  revoked_jtis: opt(NameList),
  revoked_api_keys: opt(NameList),
  token_cache_size: opt(NonNegativeInt),
});

export const ConsumerSchema = table({
  name: NonEmpty,
  api_keys: opt(NameList),
  /** Keys held only as their SHA-256 (64 hex digits), as the admin API stores the keys it issues. */
  api_key_digests: opt(NameList),
  roles: opt(NameList),
  rate_limits: opt(RateLimits),
});

export const RateLimitGlobalSchema = table({
  slots: opt(PositiveInt),
  legacy_headers: opt(Bool),
});

/** The whole file. `[jwt]` is one table or `[[jwt]]` a list of them. Each policy may add its own sections (PolicyFactory.sectionKeys). */
const BASE_SECTIONS = {
  server: opt(ServerSchema),
  admin: opt(AdminSchema),
  redis: opt(RedisSchema),
  upstreams: opt(Type.Array(UpstreamSchema, { errorMessage: "expected a list of [[upstreams]] tables" })),
  routes: opt(Type.Array(RouteSchema, { errorMessage: "expected a list of [[routes]] tables" })),
  jwt: opt(
    Type.Union([JwtIssuerSchema, Type.Array(JwtIssuerSchema)], {
      errorMessage: "expected a [jwt] table or a list of [[jwt]] tables",
    }),
  ),
  auth: opt(AuthSchema),
  consumers: opt(Type.Array(ConsumerSchema, { errorMessage: "expected a list of [[consumers]] tables" })),
  rate_limit: opt(RateLimitGlobalSchema),
  bench: opt(BenchSchema),
  discovery: opt(
    table({ nameservers: opt(NameList), min_ttl: opt(Duration), max_ttl: opt(Duration), timeout: opt(Duration), retry: opt(Duration) }),
  ),
};

export const ConfigSchema = table(
  Object.assign({}, BASE_SECTIONS, ...FACTORIES.map((f) => f.sectionKeys ?? {})) as typeof BASE_SECTIONS,
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawServer = Static<typeof ServerSchema>;
export type RawAdmin = Static<typeof AdminSchema>;
export type RawRedis = Static<typeof RedisSchema>;
export type RawUpstream = Static<typeof UpstreamSchema>;
export type RawTarget = Static<typeof TargetSchema>;
export type RawRoute = Static<typeof RouteSchema>;
export type RawJwtIssuer = Static<typeof JwtIssuerSchema>;
export type RawAuth = Static<typeof AuthSchema>;
export type RawConsumer = Static<typeof ConsumerSchema>;
export type RawRateLimitGlobal = Static<typeof RateLimitGlobalSchema>;

