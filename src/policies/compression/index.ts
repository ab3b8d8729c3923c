/**
 * Compression (DESIGN.md step 8): the response in the best content coding
 * the client accepts (RFC 9110 §12.5.3), on the way out. Below it in the
 * recipe sit the cache and transforms, so the cache stores identity bodies
 * and every answer (hit or miss) is encoded here for the client that asked:
 * a client without gzip never gets gzip.
 *
 * Left as they are: HEAD, 1xx/204/206, a body the upstream encoded
 * already (never twice), Cache-Control: no-transform (RFC 9111 §5.2.2.6,
 * RFC 9110 §7.7), media types not in `types`, bodies of a known length under
 * `min_size`. Encoded: Content-Length recomputed (bytes in hand) or dropped
 * (a stream, compressed chunk by chunk as it arrives), a strong ETag made
 * weak (§8.8.1: the encoded bytes differ from the identity ones), and
 * Vary: Accept-Encoding on every response whose coding could have differed.
 * A 304 keeps its body-less self, its ETag weakened when the client's
 * If-None-Match shows it holds the encoded variant (notModified). A client
 * that refused identity (identity;q=0) gets a coding under min_size too.
 */
import { compressBytes, compressStream } from "../../edge/compress.ts";
import { appendVary } from "../../edge/cors.ts";
import { MediaTypeSet } from "../../edge/media-types.ts";
import { identityRefused, negotiateEncoding, type Coding } from "../../edge/negotiate.ts";
import type { RequestContext } from "../context.ts";
import { definePolicy, knownBody, replaceBody, type Policy } from "../types.ts";
import {
  COMPRESSION_ROUTE_KEYS,
  COMPRESSION_SECTION_KEYS,
  mergeCompression,
  normalizeCompressionRoute,
  normalizeCompressionTable,
  type CompressionSettings,
} from "./config.ts";

const NO_TRANSFORM = /(?:^|[\s,])no-transform(?:$|[\s,;=])/i;

function noTransform(cc: string | null): boolean {
  return cc !== null && NO_TRANSFORM.test(cc);
}

function compressionPolicy(s: CompressionSettings): Policy {
  const types = new MediaTypeSet(s.types);
  const { algorithms, min_size: minSize, levels } = s;
  return {
    name: "compression",
    knownBodies: true,
    onResponse(ctx, res) {
      const status = res.status;
      if (status === 304) return notModified(ctx, res.headers, algorithms);
      if (ctx.method === "HEAD" || status < 200 || status === 204 || status === 206) return;
      const h = res.headers;
      if (h.has("content-encoding") || h.has("content-range") || !types.has(h.get("content-type"))) return;
      // no-transform from the origin (RFC 9111 §5.2.2.6) or from the client (§5.2.1.6): the content goes as it is.
      if (noTransform(h.get("cache-control")) || noTransform(ctx.req.headers.get("cache-control"))) return;
      appendVary(h, "Accept-Encoding");
      if (res.body === null) return;
      const known = knownBody(res);
      const declared = h.get("content-length");
      const length = known !== undefined ? known.length : declared !== null ? Number(declared) : -1;
      if (length === 0) return;
      const accept = ctx.req.headers.get("accept-encoding");
      const coding = negotiateEncoding(accept, algorithms);
      if (coding === null) return;
      // min_size is the server's preference; a client that refused identity gets a coding it takes.
      if (length > 0 && length < minSize && !identityRefused(accept)) return;
      h.set("content-encoding", coding);
      const etag = h.get("etag");
      if (etag !== null && etag.startsWith('"')) h.set("etag", `W/${etag}`);
      if (known !== undefined) {
        const out = compressBytes(coding, known, levels[coding]);
        h.set("content-length", String(out.length));
        return replaceBody(res, out);
      }
      h.delete("content-length");
      return new Response(compressStream(coding, res.body, levels[coding]), { status, headers: h });
    },
  };
}

/**
 * A 304 carries the ETag and Vary the 200 would have (RFC 9110 §15.4.5). The
 * origin (or the cache, which stores identity) sends the strong tag; when
 * the client's If-None-Match holds its weak form and this client would get
 * an encoded 200, the client holds the encoded variant that this gateway
 * weakened: so the 304 is weakened the same way, and a cache can match it to
 * its stored response (RFC 9111 §4.3.4).
 */
function notModified(ctx: RequestContext, h: Headers, algorithms: readonly Coding[]): void {
  const etag = h.get("etag");
  if (etag === null || !etag.startsWith('"')) return;
  const inm = ctx.req.headers.get("if-none-match");
  if (inm === null || !inm.includes(`W/${etag}`)) return;
  if (noTransform(h.get("cache-control")) || noTransform(ctx.req.headers.get("cache-control"))) return;
  if (negotiateEncoding(ctx.req.headers.get("accept-encoding"), algorithms) === null) return;
  h.set("etag", `W/${etag}`);
  appendVary(h, "Accept-Encoding");
}

export const compression = definePolicy<void>({
  name: "compression",
  sectionKeys: COMPRESSION_SECTION_KEYS,
  normalizeSections: (ctx, doc) => ({
    compression: doc.compression === undefined ? null : normalizeCompressionTable(ctx, doc.compression, ["compression"]),
  }),
  routeKeys: COMPRESSION_ROUTE_KEYS,
  normalizeRoute: normalizeCompressionRoute,
  create(route, _setup, config) {
    const s = mergeCompression(config.compression, route.compression);
    return s === null || s.algorithms.length === 0 ? null : compressionPolicy(s);
  },
});
