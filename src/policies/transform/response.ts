/**
 * The response side of `response = { … }` (onResponse): status mapping,
 * header edits (remove → rename → set → add), then JSON body edits (allow →
 * remove → rename → set → add) on bodies of at most `max_size` bytes.
 *
 * A JSON body with one known content coding (gzip, deflate, br, zstd) is
 * decoded (bounded by max_size too), edited, and encoded again with that
 * coding when the client's Accept-Encoding takes it, else sent as identity
 * (Vary: Accept-Encoding added, RFC 9110 §12.5.5). Content-Length is the new
 * body's. The bytes differ from the upstream's, so a strong ETag is no longer
 * true (RFC 9110 §8.8.3): it is weakened (W/…, same semantics) or dropped,
 * per `etag`; digests of the old bytes go. Non-JSON, larger, undecodable or
 * unparsable bodies stream through unchanged.
 */
import {
  accepts,
  applyHeaderEdits,
  applyJsonEdits,
  codingOf,
  compileFieldEdits,
  compileJsonEdits,
  decodeBody,
  encodeBody,
  isEmptyFieldEdits,
  isJsonType,
  routeParamNames,
  type FieldEdits,
  type JsonEdits,
} from "../../transform/index.ts";
import type { RequestContext } from "../context.ts";
import { replaceBody } from "../types.ts";
import type { ResponseTransformConfig } from "./config.ts";
import { ContextSource, missingValueError } from "./source.ts";

export interface CompiledResponseTransform {
  readonly status: ReadonlyMap<number, number>;
  readonly headers: FieldEdits | null;
  readonly body: { readonly edits: JsonEdits; readonly max: number } | null;
  readonly dropEtag: boolean;
}

export function compileResponseTransform(cfg: ResponseTransformConfig, routePath: string): CompiledResponseTransform {
  const opts = { params: routeParamNames(routePath) };
  const headers = cfg.headers === null ? null : compileFieldEdits(cfg.headers, "header", opts, []);
  return {
    status: new Map(Object.entries(cfg.status).map(([k, v]) => [Number(k), v])),
    headers: headers !== null && !isEmptyFieldEdits(headers) ? headers : null,
    body: cfg.body === null ? null : { edits: compileJsonEdits(cfg.body, opts, []), max: cfg.body.max_size },
    dropEtag: cfg.etag === "drop",
  };
}

/** Statuses whose responses carry no content (RFC 9110 §15.3.5, §15.3.6, §15.4.5). */
const NO_CONTENT: ReadonlySet<number> = new Set([204, 205, 304]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function transformResponse(t: CompiledResponseTransform, ctx: RequestContext, res: Response, body: Uint8Array | null): Response | void {
  let out = res;
  const mapped = t.status.get(res.status);
  if (mapped !== undefined && mapped !== res.status) {
    const keepBody = !NO_CONTENT.has(mapped);
    if (!keepBody) void res.body?.cancel().catch(() => {});
    out = keepBody && body !== null ? replaceBody(res, body, mapped) : new Response(keepBody ? res.body : null, { status: mapped, headers: res.headers });
  }
  if (t.headers !== null) {
    try {
      applyHeaderEdits(out.headers, t.headers, new ContextSource(ctx));
    } catch (e) {
      throw missingValueError(e);
    }
  }
  if (t.body !== null && body !== null && ctx.method !== "HEAD") {
    const edited = editBody(t, ctx, out, body);
    if (edited !== null) out = edited;
  }
  if (t.body !== null && out.status === 304) revalidated(t, ctx, out.headers);
  return out === res ? undefined : out;
}

/**
 * A 304 carries the ETag the 200 would have had (RFC 9110 §15.4.5). The
 * client's If-None-Match went upstream as we gave it (W/"abc"), the upstream
 * matched it weakly (§13.1.2) and answers with its own strong "abc": when
 * the client asked with the weakened tag, it is weakened again here, so the
 * client's stored validator stays what it got. A strong tag the client holds
 * (a body that passed through unedited) stays strong. With etag = "drop" the
 * edited answers carried none, so the 304 carries none either.
 */
function revalidated(t: CompiledResponseTransform, ctx: RequestContext, h: Headers): void {
  const etag = h.get("etag");
  if (etag === null || etag.startsWith("W/")) return;
  const inm = ctx.req.headers.get("if-none-match");
  if (inm === null || !inm.includes(`W/${etag}`)) return;
  if (t.dropEtag) h.delete("etag");
  else h.set("etag", `W/${etag}`);
}

function editBody(t: CompiledResponseTransform, ctx: RequestContext, res: Response, body: Uint8Array): Response | null {
  const h = res.headers;
  if (NO_CONTENT.has(res.status) || !isJsonType(h.get("content-type"))) return null;
  const coding = codingOf(h.get("content-encoding"));
  if (coding === null) return null;
  const plain = decodeBody(body, coding, t.body!.max);
  if (plain === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(plain));
  } catch {
    return null;
  }
  try {
    doc = applyJsonEdits(doc, t.body!.edits, t.body!.edits.templated ? new ContextSource(ctx) : null);
  } catch (e) {
    throw missingValueError(e);
  }
  let bytes: Uint8Array = encoder.encode(JSON.stringify(doc));
  if (coding !== "identity") {
    if (accepts(ctx.req.headers.get("accept-encoding"), coding)) bytes = encodeBody(bytes, coding);
    else h.delete("content-encoding");
    const vary = h.get("vary");
    if (vary === null || !vary.toLowerCase().includes("accept-encoding")) h.append("vary", "accept-encoding");
  }
  h.delete("content-length");
  h.delete("content-md5");
  h.delete("digest");
  h.delete("content-digest");
  h.delete("repr-digest");
  const etag = h.get("etag");
  if (etag !== null) {
    if (t.dropEtag) h.delete("etag");
    else if (!etag.startsWith("W/")) h.set("etag", `W/${etag}`);
  }
  return replaceBody(res, bytes);
}
