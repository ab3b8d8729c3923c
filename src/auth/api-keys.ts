import { timingSafeEqual } from "node:crypto";
import type { ConsumerConfig } from "../config/types.ts";
import { ConfigError, keyedLine, type KeyedProblem } from "../errors.ts";
import { FAIL, type AuthFailure } from "./failures.ts";
import type { Grant, IdentityMapper } from "./identity.ts";
import { digestHi, digestLo, sha256, TABLE_API_KEY, type RevocationSet } from "./revocation.ts";

interface KeyRecord {
  readonly digest: Uint8Array;
  readonly grant: Grant;
}

/**
 * Consumers' API keys, held only as SHA-256 digests (the plain keys are
 * dropped after load). A presented key is hashed once; the digest's first 53
 * bits index a Map, and the full 32-byte digests are then compared with
 * timingSafeEqual, so neither the lookup nor the compare takes time that
 * depends on how much of a guessed key is right. The same digest feeds the
 * revocation check. A key never appears in a message this module produces.
 */
export class ApiKeyStore {
  private readonly byDigest = new Map<number, KeyRecord>();

  constructor(
    consumers: readonly ConsumerConfig[],
    mapper: IdentityMapper,
    private readonly revocation: RevocationSet,
  ) {
    const problems = apiKeyProblems(consumers);
    // Messages name the consumer, not its index: the store is also built from configs that never were a file.
    if (problems.length > 0) {
      throw new ConfigError(problems.map((p) => keyedLine(["consumers", consumers[p.path[0] as number]!.name], { path: p.path.slice(1), message: p.message })));
    }
    for (const consumer of consumers) {
      const grant = mapper.forConsumer(consumer.name)!;
      for (const key of consumer.api_keys) {
        const digest = sha256(key);
        this.byDigest.set(indexOf(digest), { digest, grant });
      }
      for (const hex of consumer.api_key_digests ?? []) {
        const digest = new Uint8Array(Buffer.from(hex, "hex"));
        this.byDigest.set(indexOf(digest), { digest, grant });
      }
    }
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The consumer's grant for `key`, or why it is refused. */
  authenticate(key: string): Grant | AuthFailure {
    const digest = sha256(key);
    const record = this.byDigest.get(indexOf(digest));
    if (record === undefined || !timingSafeEqual(record.digest, digest)) return FAIL.apiKey;
    if (this.revocation.has(TABLE_API_KEY, digestHi(digest), digestLo(digest))) return FAIL.apiKeyRevoked;
    return record.grant;
  }
}

/**
 * What ApiKeyStore refuses, each at [consumer index, "api_keys", key index]:
 * empty keys, and two keys whose digests share a lookup index (the same key
 * twice, or a 2^-53 collision). Pure; config load runs it too. Messages never
 * contain the key.
 */
export function apiKeyProblems(consumers: readonly ConsumerConfig[]): KeyedProblem[] {
  const problems: KeyedProblem[] = [];
  const owner = new Map<number, string>();
  consumers.forEach((consumer, c) => {
    consumer.api_keys.forEach((key, i) => {
      if (key.length === 0) {
        problems.push({ path: [c, "api_keys", i], message: "empty key" });
        return;
      }
      const slot = indexOf(sha256(key));
      const taken = owner.get(slot);
      if (taken !== undefined) {
        problems.push({ path: [c, "api_keys", i], message: `the same key is already given to consumer "${taken}"` });
        return;
      }
      owner.set(slot, consumer.name);
    });
    (consumer.api_key_digests ?? []).forEach((hex, i) => {
      const slot = indexOf(new Uint8Array(Buffer.from(hex, "hex")));
      const taken = owner.get(slot);
      if (taken !== undefined) problems.push({ path: [c, "api_key_digests", i], message: `the same key is already given to consumer "${taken}"` });
      else owner.set(slot, consumer.name);
    });
  });
  return problems;
}

/** 53 bits of the digest as a Map key (an integer key avoids building a string per lookup). */
function indexOf(d: Uint8Array): number {
  return (digestHi(d) >>> 0) * 0x200000 + (digestLo(d) >>> 11);
}

/**
 * The value of query parameter `name` in `query` ("?a=1&b=2" or ""), decoded
 * (application/x-www-form-urlencoded: "+" is a space), or null when absent or
 * badly percent-encoded. Scans the raw string: no URL or URLSearchParams
 * object per request. The first occurrence wins.
 */
export function queryParam(query: string, name: string): string | null {
  const len = query.length;
  let i = query.charCodeAt(0) === 63 /* ? */ ? 1 : 0;
  while (i < len) {
    let end = query.indexOf("&", i);
    if (end < 0) end = len;
    if (query.startsWith(name, i) && (i + name.length === end || query.charCodeAt(i + name.length) === 61 /* = */)) {
      const raw = i + name.length === end ? "" : query.slice(i + name.length + 1, end);
      if (raw.indexOf("%") < 0 && raw.indexOf("+") < 0) return raw;
      try {
        return decodeURIComponent(raw.replaceAll("+", " "));
      } catch {
        return null;
      }
    }
    i = end + 1;
  }
  return null;
}

/** A query's `&`-separated parts (without the leading "?"), and whether the parameter `name` is the one at hand. */
const queryParts = (query: string): string[] => (query.charCodeAt(0) === 63 ? query.slice(1) : query).split("&");
const isParam = (part: string, name: string): boolean => part === name || part.startsWith(name + "=");

/**
 * `query` with every value of parameter `name` replaced by "REDACTED": for
 * access logs and anything else that records the request target when API keys
 * are accepted in the query (AuthConfig.api_key_query).
 */
export function redactQueryParam(query: string, name: string): string {
  if (query.indexOf(name) < 0) return query;
  const lead = query.charCodeAt(0) === 63 ? "?" : "";
  return lead + queryParts(query).map((p) => (isParam(p, name) ? `${name}=REDACTED` : p)).join("&");
}

/** The raw query ("?a=1&k=2" or "") without every `name` parameter; "" when nothing is left (auth.strip_api_key). */
export function removeQueryParam(query: string, name: string): string {
  if (query.indexOf(name) < 0) return query;
  const kept = queryParts(query).filter((p) => !isParam(p, name));
  return kept.length === 0 ? "" : "?" + kept.join("&");
}
