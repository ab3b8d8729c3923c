/**
 * Identity at the edge: JWT (several issuers; secret, public key or JWKS),
 * API keys, authorization, identity headers, revocation.
 *
 * Main thread:  allocateAuthShared(config) → shared;  startRevocationSync(config, shared)
 * Each worker:  createAuthRuntime(config, shared) → runtime (the auth policy, src/policies/auth, builds one per route over it)
 * Forwarder:    strip identityHeaderNames(config.auth) from every inbound request;
 *               strip Authorization when runtime.stripAuthorization.
 */
export { allocateAuthShared, createAuthRuntime, type AuthRuntime } from "./runtime.ts";
export { bearerToken, MALFORMED_BEARER } from "./bearer.ts";
export { identityHeaderNames, type Grant } from "./identity.ts";
export { queryParam, redactQueryParam, removeQueryParam } from "./api-keys.ts";
export { RevocationSet, type RevocationKind } from "./revocation.ts";
export { startRevocationSync, type RevocationController, type RevocationSyncOptions } from "./revocation-sync.ts";
export type { AuthFailure } from "./failures.ts";
