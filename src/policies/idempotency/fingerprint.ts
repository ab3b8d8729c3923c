// Request fingerprint for Idempotency-Key reuse detection.
// draft-ietf-httpapi-idempotency-key-header §2.4: a key reused with a
// different payload is an error (422). The fingerprint covers method, path,
// query and the body digest; the caller identity scopes the key itself (§2.2:
// keys are unique per client), so it is part of the store key, not of this.

/** Incremental SHA-256 of a body stream, without buffering it whole. */
export async function digestBody(body: ReadableStream<Uint8Array> | null): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      h.update(value);
    }
  }
  return h.digest("hex");
}

/** Fingerprint of one request; fields are length-prefixed so none can bleed into another. */
export function fingerprint(method: string, path: string, query: string, bodyDigest: string): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const part of [method.toUpperCase(), path, query, bodyDigest]) {
    h.update(`${part.length}:${part}\n`);
  }
  return h.digest("hex");
}

/** Store key: the caller scopes the client's key (§2.2), then the key itself. */
export function scopedKey(caller: string, key: string): string {
  return `idem:${caller.length}:${caller}:${key}`;
}
