/**
 * The request side of `request = { … }` (onUpstreamRequest, after
 * strip_prefix): path template, then headers, query and JSON body, each in
 * the order remove → rename → set → add.
 *
 * The path template replaces the forwarded path whole (so it serves "after
 * or instead of strip_prefix": the template decides). A JSON body is edited
 * when its Content-Type is application/json (or +json), it carries no
 * Content-Encoding and it fits `max_size`; otherwise it passes untouched, or,
 * with `strict = true`, is refused (413 too large, 415 not JSON, 400 not
 * valid JSON). Content-Length follows the new body (the proxy frames it).
 */
import { GatewayError } from "../../errors.ts";
import {
  applyHeaderEdits,
  applyJsonEdits,
  applyQueryEdits,
  compileFieldEdits,
  compileJsonEdits,
  compileTemplate,
  isEmptyFieldEdits,
  isJsonType,
  render,
  routeParamNames,
  type FieldEdits,
  type HeaderTarget,
  type JsonEdits,
  type Template,
} from "../../transform/index.ts";
import type { RequestContext, UpstreamDraft } from "../context.ts";
import type { RequestTransformConfig } from "./config.ts";
import { ContextSource, missingValueError } from "./source.ts";

export interface CompiledRequestTransform {
  readonly path: Template | null;
  readonly headers: FieldEdits | null;
  readonly query: FieldEdits | null;
  readonly body: { readonly edits: JsonEdits; readonly max: number; readonly strict: boolean } | null;
}

export function compileRequestTransform(cfg: RequestTransformConfig, routePath: string): CompiledRequestTransform {
  const opts = { params: routeParamNames(routePath) };
  // Checked at load (config.ts): compiling again cannot fail here.
  const path = cfg.path === null ? null : (compileTemplate(cfg.path, "path", opts) as Template);
  const headers = cfg.headers === null ? null : compileFieldEdits(cfg.headers, "header", opts, []);
  const query = cfg.query === null ? null : compileFieldEdits(cfg.query, "query", opts, []);
  const body = cfg.body === null ? null : { edits: compileJsonEdits(cfg.body, opts, []), max: cfg.body.max_size, strict: cfg.body.strict };
  return {
    path,
    headers: headers !== null && !isEmptyFieldEdits(headers) ? headers : null,
    query: query !== null && !isEmptyFieldEdits(query) ? query : null,
    body,
  };
}

/** An UpstreamDraft as the engine's HeaderTarget. */
class DraftHeaders implements HeaderTarget {
  constructor(private readonly draft: UpstreamDraft) {}
  get(name: string): string | null {
    return this.draft.getHeader(name);
  }
  set(name: string, value: string): void {
    this.draft.setHeader(name, value);
  }
  append(name: string, value: string): void {
    this.draft.appendHeader(name, value);
  }
  delete(name: string): void {
    this.draft.removeHeader(name);
  }
}

export function transformRequest(t: CompiledRequestTransform, ctx: RequestContext, draft: UpstreamDraft): void | Promise<void> {
  const src = new ContextSource(ctx);
  try {
    if (t.path !== null) draft.path = render(t.path, src);
    if (t.headers !== null) applyHeaderEdits(new DraftHeaders(draft), t.headers, src);
    if (t.query !== null) draft.query = applyQueryEdits(draft.query, t.query, src);
  } catch (e) {
    throw missingValueError(e);
  }
  if (t.body === null) return;
  const b = t.body;
  const body = draft.body;
  if (body === null) return;
  const contentType = draft.getHeader("content-type");
  const encoded = draft.getHeader("content-encoding");
  if (!isJsonType(contentType) || (encoded !== null && encoded.toLowerCase() !== "identity")) {
    if (b.strict) throw new GatewayError("bad_request", 415, "this route takes an application/json request body");
    return;
  }
  if (body instanceof Uint8Array) {
    editBody(b, draft, body, src);
    return;
  }
  return readCapped(body, b.max).then((read) => {
    if (read.bytes === null) {
      if (b.strict) throw new GatewayError("payload_too_large", 413, "request body too large to transform");
      draft.body = read.replay;
      return;
    }
    editBody(b, draft, read.bytes, src);
  });
}

function editBody(b: NonNullable<CompiledRequestTransform["body"]>, draft: UpstreamDraft, bytes: Uint8Array, src: ContextSource): void {
  if (bytes.length > b.max) {
    if (b.strict) throw new GatewayError("payload_too_large", 413, "request body too large to transform");
    return;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    if (b.strict) throw new GatewayError("bad_request", 400, "the request body is not valid JSON");
    return;
  }
  try {
    doc = applyJsonEdits(doc, b.edits, src);
  } catch (e) {
    throw missingValueError(e);
  }
  draft.body = new TextEncoder().encode(JSON.stringify(doc));
}

/** A streamed body read whole when it has at most `max` bytes; else a stream replaying what was read, then the rest. */
async function readCapped(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ bytes: Uint8Array; replay: null } | { bytes: null; replay: ReadableStream<Uint8Array> }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), replay: null };
    chunks.push(value);
    total += value.byteLength;
    if (total > max) {
      let i = 0;
      const replay = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (i < chunks.length) return controller.enqueue(chunks[i++]!);
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return { bytes: null, replay };
    }
  }
}
