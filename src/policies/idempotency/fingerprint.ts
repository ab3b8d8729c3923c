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

/** Bodies up to this size are read whole to be hashed (as the proxy reads them whole to forward them); larger ones are hashed as they stream. */
const READ_WHOLE_MAX = 64 * 1024;

/**
 * SHA-256 of a client's request body that is not forwarded (a retry that is
 * replayed or refused): a small body with a Content-Length is read whole (one
 * native call, about half the cost of reading the stream), any other is
 * hashed as it streams, never buffered.
 */
export async function digestRequest(req: Request): Promise<string> {
  const cl = req.headers.get("content-length");
  if (cl !== null && cl.length <= 5 && Number(cl) <= READ_WHOLE_MAX) return digestBytes(await req.bytes());
  return digestBody(req.body);
}

/** SHA-256 of a body in hand. */
export function digestBytes(bytes: Uint8Array | null): string {
  const h = new Bun.CryptoHasher("sha256");
  if (bytes !== null) h.update(bytes);
  return h.digest("hex");
}

/**
 * A stream passing `body` on unchanged while hashing it, so the first request
 * is fingerprinted as it is forwarded (never buffered). `digest` resolves to
 * the SHA-256 once the body has been read to its end, or to null when it was
 * not (the upstream answered and the rest was cancelled, or it failed).
 */
export function hashingStream(body: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; digest: Promise<string | null> } {
  const h = new Bun.CryptoHasher("sha256");
  const reader = body.getReader();
  let settle!: (v: string | null) => void;
  const digest = new Promise<string | null>((resolve) => (settle = resolve));
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          settle(h.digest("hex"));
          controller.close();
        } else {
          h.update(value);
          controller.enqueue(value);
        }
      } catch (e) {
        settle(null);
        controller.error(e);
      }
    },
    cancel(reason) {
      settle(null);
      return reader.cancel(reason);
    },
  });
  return { stream, digest };
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
