/** Route auth modes (the config contract, DESIGN.md), spelled once. */
export const AUTH_MODES = ["none", "jwt", "api_key", "any"] as const;

export type AuthMode = (typeof AUTH_MODES)[number];
