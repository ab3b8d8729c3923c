/** The shared-memory object store: one arena for every worker (cache responses, idempotency records). */
export { SharedStore, MAX_KEY_BYTES, type EntryView, type StoreEntry, type StoreStats } from "./shared-store.ts";
export type { AllocateOptions } from "./layout.ts";
