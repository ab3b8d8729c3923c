/**
 * Route auth modes (`auth = "..."`), spelled once: the schema's oneOf and
 * AuthMode are derived from this list. A leaf module (no imports).
 */
export const AUTH_MODES = ["none", "jwt", "api_key", "any"] as const;

export type AuthMode = (typeof AUTH_MODES)[number];
