/**
 * Idempotency records engine: record format, stores (shared-memory arena,
 * Redis) and the tiering between them. Knows nothing of the pipeline: the
 * policy (src/policies/idempotency) adapts it to requests.
 */
export * from "./record.ts";
export * from "./store.ts";
export { MemoryRecordStore, type RecordArena } from "./memory-store.ts";
export { RedisRecordStore } from "./redis-store.ts";
export { RecordTiers, type TierBegin } from "./tiers.ts";
