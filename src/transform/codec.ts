/**
 * Content codings (RFC 9110 §8.4.1) of bodies the transformer edits: an
 * upstream's gzip, deflate, br or zstd body is decoded (bounded: a small
 * compressed body cannot inflate past the cap), edited, then encoded again
 * with the same coding when the client accepts it, or sent as identity.
 */
import {
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  deflateSync,
  gzipSync,
  inflateSync,
  gunzipSync,
  zstdCompressSync,
  zstdDecompressSync,
} from "node:zlib";

export type Coding = "identity" | "gzip" | "deflate" | "br" | "zstd";

/** The one coding of a Content-Encoding value, or null when there are several or an unknown one (left untouched). */
export function codingOf(contentEncoding: string | null): Coding | null {
  if (contentEncoding === null) return "identity";
  const v = contentEncoding.trim().toLowerCase();
  switch (v) {
    case "":
    case "identity":
      return "identity";
    case "gzip":
    case "x-gzip":
      return "gzip";
    case "deflate":
      return "deflate";
    case "br":
      return "br";
    case "zstd":
      return "zstd";
  }
  return null;
}

/** The decoded body, or null when it is corrupt or would pass `max` bytes. */
export function decodeBody(bytes: Uint8Array, coding: Coding, max: number): Uint8Array | null {
  const opts = { maxOutputLength: Math.max(1, max) };
  try {
    switch (coding) {
      case "identity":
        return bytes;
      case "gzip":
        return gunzipSync(bytes, opts);
      case "deflate":
        return inflateSync(bytes, opts);
      case "br":
        return brotliDecompressSync(bytes, opts);
      case "zstd":
        return zstdDecompressSync(bytes, opts);
    }
  } catch {
    return null;
  }
}

export function encodeBody(bytes: Uint8Array, coding: Coding): Uint8Array {
  switch (coding) {
    case "identity":
      return bytes;
    case "gzip":
      return gzipSync(bytes, { level: 6 });
    case "deflate":
      return deflateSync(bytes, { level: 6 });
    case "br":
      // Quality 5: most of br's ratio for a fraction of its highest quality's time.
      return brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
    case "zstd":
      return zstdCompressSync(bytes);
  }
}

/**
 * Whether an Accept-Encoding value (RFC 9110 §12.5.3) accepts `coding`: named
 * with q > 0, or covered by "*" with q > 0 and not named with q=0. No header
 * at all: any coding is acceptable (§12.5.3), but the gateway then prefers
 * identity, which every client understands.
 */
export function accepts(acceptEncoding: string | null, coding: Coding): boolean {
  if (coding === "identity") return true;
  if (acceptEncoding === null) return false;
  let star: number | null = null;
  const names = coding === "gzip" ? ["gzip", "x-gzip"] : [coding];
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = qValue(params);
    if (names.includes(name!.trim())) return q > 0;
    if (name!.trim() === "*") star = q;
  }
  return star !== null && star > 0;
}

function qValue(params: string[]): number {
  for (const p of params) {
    const [k, v] = p.trim().split("=");
    if (k === "q") {
      const n = Number(v);
      return Number.isFinite(n) ? n : 0;
    }
  }
  return 1;
}
