/**
 * Config inspection: GET /config answers the running (normalized) config with
 * every secret replaced by "REDACTED", its hash and load time. POST /reload
 * stays in admin.ts.
 *
 * Redacted: values of keys that hold credentials (token, secret, password,
 * api_keys, api_key_digests, revoked lists), header values that carry
 * credentials (authorization, cookie, x-api-key, ...), userinfo in URLs, and
 * any string whose key merely names a credential (a plugin's `api_token`, a
 * header `x-auth-token`): plugin config tables have names no list can know.
 */
import { Type } from "@sinclair/typebox";
import { redactCredentials } from "../config/addresses.ts";
import type { AdminApi } from "./admin-api.ts";
import type { RuntimeConfig } from "./runtime-config.ts";

const SECRET_KEYS: ReadonlySet<string> = new Set(["token", "secret", "password", "api_keys", "api_key_digests", "revoked_api_keys", "revoked_jtis", "client_secret"]);
const SECRET_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"]);
export const REDACTED = "REDACTED";
/** Names that say "credential" anywhere (apiToken, upstream_password, x-auth-token, client-secret, private_key). */
const SECRET_NAME = /secret|passw|token|credential|private|api[-_]?key|cookie/i;
/** Config keys whose names match SECRET_NAME but whose string values are names, not secrets. */
const NOT_SECRET: ReadonlySet<string> = new Set(["api_key_header", "api_key_query"]);

function secretName(k: string, value: unknown): boolean {
  if (SECRET_KEYS.has(k) || SECRET_HEADERS.has(k)) return true;
  if (NOT_SECRET.has(k) || !SECRET_NAME.test(k)) return false;
  // Sizes, switches and counts (max_token_size, strip_api_key) say nothing secret.
  return typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"));
}

export function redactConfig(value: unknown, key = ""): unknown {
  const k = key.toLowerCase();
  if (secretName(k, value)) {
    if (Array.isArray(value)) return value.map(() => REDACTED);
    return value === null || value === undefined || value === "" ? value : REDACTED;
  }
  if (typeof value === "string") return /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value) ? redactCredentials(value) : value;
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, ""));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(value)) out[name] = redactConfig(v, name);
    return out;
  }
  return value;
}

const ConfigInfo = Type.Object({
  hash: Type.String({ description: "SHA-256 of the config file and the runtime state" }),
  loaded_at: Type.String({ format: "date-time" }),
  source: Type.String(),
  state_store: Type.Union([Type.Literal("file"), Type.Literal("redis"), Type.Null()]),
  shadowed_consumers: Type.Array(Type.String(), { description: "runtime consumers the config file overrides" }),
  config: Type.Record(Type.String(), Type.Unknown()),
});

export function addConfigRoutes(api: AdminApi, runtime: () => RuntimeConfig): void {
  api.add({
    method: "get",
    path: "/config",
    tag: "config",
    summary: "The running config (secrets redacted), its hash and load time",
    responses: { 200: { description: "the running config", schema: ConfigInfo } },
    handler: () => ({ ...runtime().info(), config: redactConfig(runtime().config) }),
  });
}
