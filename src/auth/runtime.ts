import type { GatewayConfig } from "../config/types.ts";
import { ApiKeyStore } from "./api-keys.ts";
import { IdentityMapper, identityHeaderNames } from "./identity.ts";
import { JwtAuthenticator } from "./jwt.ts";
import { allocateRevocationBuffer, DEFAULT_REVOCATION_SLOTS, RevocationSet } from "./revocation.ts";

/**
 * Everything a worker needs to authenticate, built once per worker per
 * config: issuers with their keys, the API-key table, the token cache, and a
 * view of the shared revocation set. Policies of every route share it.
 */
export interface AuthRuntime {
  /** Null when no [jwt] issuer is configured. */
  readonly jwt: JwtAuthenticator | null;
  readonly apiKeys: ApiKeyStore;
  /** Read side of the shared denylist (the main thread writes it). */
  readonly revocation: RevocationSet;
  /** Lower-cased header carrying API keys. */
  readonly apiKeyHeader: string;
  /** Query parameter carrying API keys; null = not accepted there. */
  readonly apiKeyQuery: string | null;
  /** The forwarder removes Authorization before forwarding when true (AuthConfig.strip_authorization). */
  readonly stripAuthorization: boolean;
  /** identityHeaderNames(config.auth): strip these from every inbound request, every route. */
  readonly identityHeaders: readonly string[];
  /** Resolves once JWKS first fetches finished (ok or not); optional warm-up before listening. */
  ready(): Promise<void>;
  /** Stop JWKS background refreshes and drop caches (reload, shutdown). */
  close(): void;
}

/**
 * Main thread, once: the SharedArrayBuffer every worker's runtime reads the
 * revocation denylist from, filled with auth.revoked_jtis and
 * auth.revoked_api_keys. Post it to the workers with the config.
 */
export function allocateAuthShared(config: GatewayConfig, slots: number = DEFAULT_REVOCATION_SLOTS): SharedArrayBuffer {
  const needed = Math.max(config.auth.revoked_jtis.length, config.auth.revoked_api_keys.length) * 2;
  while (slots < needed) slots *= 2;
  const shared = allocateRevocationBuffer(slots);
  const set = new RevocationSet(shared);
  for (const jti of config.auth.revoked_jtis) set.revoke("jti", jti);
  for (const key of config.auth.revoked_api_keys) set.revoke("api_key", key);
  return shared;
}

/**
 * Each worker, once per config: compile issuers (throws ConfigError with key
 * paths), hash API keys, start JWKS fetches. `now` is the clock (ms) used
 * for exp/nbf, cache expiry and JWKS cooldown.
 */
export function createAuthRuntime(
  config: GatewayConfig,
  shared: SharedArrayBuffer,
  now: () => number = Date.now,
): AuthRuntime {
  const revocation = new RevocationSet(shared);
  const mapper = new IdentityMapper(config.auth, config.consumers);
  const jwt =
    config.jwt.length > 0 ? new JwtAuthenticator(config.jwt, config.auth.token_cache_size, revocation, mapper, now) : null;
  const apiKeys = new ApiKeyStore(config.consumers, mapper, revocation);
  jwt?.start();
  return {
    jwt,
    apiKeys,
    revocation,
    apiKeyHeader: config.auth.api_key_header.toLowerCase(),
    apiKeyQuery: config.auth.api_key_query,
    stripAuthorization: config.auth.strip_authorization,
    identityHeaders: Object.freeze(identityHeaderNames(config.auth)),
    ready: () => jwt?.ready() ?? Promise.resolve(),
    close: () => jwt?.close(),
  };
}
