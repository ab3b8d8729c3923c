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
 * Two annotations steer the error messages (see schema-errors.ts):
 *   errorMessage   the plain message for any failure of that schema
 *   x-unit         "duration" | "size": a pattern failure is described by
 *                  parseDuration / parseSize, so both paths say the same thing
 *   x-not-available  key → message for keys that DESIGN.md names but this
 *                  version does not implement (better than "unknown key")
 */

import { type Static, type TProperties, type TSchema, type TUnsafe, Type } from "@sinclair/typebox";
import { AUTH_MODES } from "../auth/modes.ts";
import { RATE_LIMIT_ALGORITHMS } from "../limits/algorithms/names.ts";
import { REDIS_MODES, REDIS_ON_ERROR } from "../limits/redis/modes.ts";
import { BALANCER_NAMES } from "../upstream/balancers/names.ts";
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.ts";

export const UNIT = "x-unit";
export const NOT_AVAILABLE = "x-not-available";

function table<T extends TProperties>(properties: T, options: Record<string, unknown> = {}) {
  return Type.Object(properties, { additionalProperties: false, errorMessage: "expected a table", ...options });
}

/** A string enum; `Unsafe` only narrows the static type, the schema stays a union of literals. */
function oneOf<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  const listed = values.map((v) => JSON.stringify(v)).join(", ");
  const union = Type.Union(
    values.map((v) => Type.Literal(v)),
    { errorMessage: `expected one of ${listed}` },
  );
  return Type.Unsafe<T[number]>(union);
}

const opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

const Str = Type.String({ errorMessage: "expected a string" });
const NonEmpty = Type.String({ minLength: 1, errorMessage: "expected a non-empty string" });
const Bool = Type.Boolean({ errorMessage: "expected true or false" });
const PositiveInt = Type.Integer({ minimum: 1, errorMessage: "expected a positive integer" });
const NonNegativeInt = Type.Integer({ minimum: 0, errorMessage: "expected an integer >= 0" });
const StrList = Type.Array(Str, { errorMessage: "expected a list of strings" });
const NameList = Type.Array(NonEmpty, { errorMessage: "expected a list of strings" });
const Duration = Type.String({
  pattern: DURATION_PATTERN,
  [UNIT]: "duration",
  errorMessage: 'expected a duration string such as "250ms", "5s", "1m", "24h"',
});
const Size = Type.String({
  pattern: SIZE_PATTERN,
  [UNIT]: "size",
  errorMessage: 'expected a size string such as "512B", "64KB", "10MB"',
});

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
  tls: opt(table({ cert: NonEmpty, key: NonEmpty })),
  drain_timeout: opt(Duration),
  idle_timeout: opt(Duration),
  access_log: opt(Bool),
  health_path: opt(Str),
  request_id_header: opt(NonEmpty),
});

export const AdminSchema = table({
  listen: opt(Str),
  token: NonEmpty,
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
  targets: Type.Array(TargetSchema, { minItems: 1, errorMessage: "expected a non-empty list of targets" }),
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
  passive: opt(table({ max_fails: opt(PositiveInt), fail_timeout: opt(Duration) })),
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

export const RateLimitSchema = table({
  algorithm: oneOf(RATE_LIMIT_ALGORITHMS),
  limit: PositiveInt,
  window: opt(Duration),
  burst: opt(NonNegativeInt),
  key: opt(Type.Union([Str, StrList], { errorMessage: "expected a string or a list of strings" })),
  delay: opt(Bool),
  adaptive: opt(
    table({
      lag_threshold: opt(Duration),
      min_factor: opt(
        Type.Number({ exclusiveMinimum: 0, maximum: 1, errorMessage: "expected a number greater than 0 and at most 1" }),
      ),
    }),
  ),
});

const RateLimits = Type.Array(RateLimitSchema, { errorMessage: "expected a list of rate-limit tables" });

export const RouteSchema = table(
  {
    name: NonEmpty,
    hosts: opt(StrList),
    path: Str,
    methods: opt(StrList),
    upstream: Str,
    strip_prefix: opt(Str),
    auth: opt(oneOf(AUTH_MODES)),
    roles: opt(NameList),
    scopes: opt(NameList),
    method_roles: opt(Type.Record(Type.String(), NameList, { errorMessage: "expected a table of method = [roles]" })),
    rate_limits: opt(RateLimits),
    timeout: opt(Duration),
  },
  {
    [NOT_AVAILABLE]: {
      cache: "response caching is not available in this version",
      idempotency: "idempotency keys are not available in this version",
    },
  },
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
  roles: opt(NameList),
  rate_limits: opt(RateLimits),
});

export const RateLimitGlobalSchema = table({
  slots: opt(PositiveInt),
  legacy_headers: opt(Bool),
});

/** The whole file. `[jwt]` is one table or `[[jwt]]` a list of them. */
export const ConfigSchema = table({
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
});

export type RawConfig = Static<typeof ConfigSchema>;
export type RawServer = Static<typeof ServerSchema>;
export type RawAdmin = Static<typeof AdminSchema>;
export type RawRedis = Static<typeof RedisSchema>;
export type RawUpstream = Static<typeof UpstreamSchema>;
export type RawTarget = Static<typeof TargetSchema>;
export type RawRoute = Static<typeof RouteSchema>;
export type RawRateLimit = Static<typeof RateLimitSchema>;
export type RawJwtIssuer = Static<typeof JwtIssuerSchema>;
export type RawAuth = Static<typeof AuthSchema>;
export type RawConsumer = Static<typeof ConsumerSchema>;
export type RawRateLimitGlobal = Static<typeof RateLimitGlobalSchema>;

/**
 * What normalization sees after a failed schema check: offending values are
 * removed (array items leave holes), required keys may be missing. Normalizers
 * take this so they can keep checking the valid parts and report everything.
 */
export type Loose<T> = T extends readonly (infer U)[]
  ? (Loose<U> | undefined)[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> }
    : T;
