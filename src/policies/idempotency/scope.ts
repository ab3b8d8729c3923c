/**
 * Whose key it is (draft §2.2: a key is unique per client): the consumer,
 * else the token's issuer and subject, else the API key presented (as its
 * digest: key names in Redis must not carry credentials), else the client
 * IP. Two clients sending the same Idempotency-Key value never share a
 * record, so a replay (Set-Cookie included) only ever goes to the caller
 * whose request produced it.
 */
import type { RequestContext } from "../context.ts";
import { digestBytes } from "./fingerprint.ts";

const enc = new TextEncoder();

export function callerScope(ctx: RequestContext, apiKeyHeader: string): string {
  const id = ctx.identity;
  if (id !== null) {
    if (id.consumer !== null) return `consumer:${id.consumer}`;
    if (id.subject !== null) {
      const iss = id.claims?.iss;
      return `sub:${typeof iss === "string" ? iss.length : 0}:${typeof iss === "string" ? iss : ""}${id.subject}`;
    }
  }
  const apiKey = ctx.req.headers.get(apiKeyHeader);
  if (apiKey !== null) return `key:${digestBytes(enc.encode(apiKey))}`;
  return `ip:${ctx.clientIp}`;
}
