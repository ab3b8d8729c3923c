/**
 * `[redis]` enums, spelled once: how limits use Redis (`mode`) and what they
 * do while it fails (`on_error`). The schema's oneOf and RedisConfig's types
 * are derived from these. A leaf module (no imports).
 */
export const REDIS_MODES = ["sync", "strict"] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

export const REDIS_ON_ERROR = ["local", "allow", "deny"] as const;
export type RedisOnError = (typeof REDIS_ON_ERROR)[number];
