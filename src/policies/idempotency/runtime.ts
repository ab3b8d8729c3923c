/**
 * What every idempotency route of a snapshot shares in a worker: the record
 * tiers (arena, and Redis with `[redis]`), the response size limit, and the
 * header names the policy reads.
 */
import type { RecordTiers } from "../../idempotency/index.ts";

export interface IdempotencyRuntime {
  readonly tiers: RecordTiers;
  /** Largest response body stored for replay (idempotency.max_response_size). */
  readonly maxResponse: number;
  /** auth.api_key_header: the caller scope of a request with an API key but no consumer. */
  readonly apiKeyHeader: string;
  /** server.request_id_header: never stored (each replay has its own id). */
  readonly requestIdHeader: string;
  close(): void;
  /** Resolves when Redis is connected (at once without Redis), or after `ms`. */
  whenReady(ms: number): Promise<void>;
}
