/**
 * Authentication and authorization (DESIGN.md step 3): JWT and API keys,
 * roles and scopes, identity headers for the upstream. The engine is
 * src/auth; this folder is the policy over it: its route keys, its shared
 * revocation set, its per-worker runtime, its per-route hook.
 */
import { allocateAuthShared, createAuthRuntime, startRevocationSync, type AuthRuntime, type RevocationController } from "../../auth/index.ts";
import { definePolicy, type PolicyControl } from "../types.ts";
import { AUTH_ROUTE_KEYS, normalizeAuthRoute } from "./config.ts";
import { createAuthPolicy } from "./policy.ts";

/** The auth policy's main-thread service: the revocation denylist, for the admin API. */
export interface AuthControl extends PolicyControl {
  readonly revocation: RevocationController;
}

export const auth = definePolicy<AuthRuntime>({
  name: "auth",
  routeKeys: AUTH_ROUTE_KEYS,
  normalizeRoute: normalizeAuthRoute,
  // Always kept across reloads: revocations made at run time must survive them.
  share: (config, previous) => previous?.buffer ?? allocateAuthShared(config),
  control(config, buffer): AuthControl {
    const revocation = startRevocationSync(config, buffer!);
    return { revocation, reload: (next) => void revocation.applyConfig(next), stop: () => void revocation.stop() };
  },
  setup: (config, buffer) => createAuthRuntime(config, buffer!),
  create: (route, runtime) => createAuthPolicy(route, runtime),
  ready: (runtime, timeoutMs) => Promise.race([runtime.ready().catch(() => {}), Bun.sleep(timeoutMs)]),
  dispose: (runtime) => runtime.close(),
});
