/**
 * One call of an aggregate route: its request built from templates, sent
 * through the upstream's balancer, breaker, retries and pool (the proxy's
 * forward()), its JSON answer read (bounded, any content coding decoded) and
 * edited. The outcome says honestly what happened: the upstream's status, a
 * timeout, an unreachable upstream, a body that was not JSON.
 */
import type { AggregateCallConfig } from "../../config/normalize-aggregate.ts";
import { GatewayError } from "../../errors.ts";
import type { RequestContext } from "../../policies/context.ts";
import { ContextSource, missingValueError } from "../../policies/transform/source.ts";
import {
  applyJsonEdits,
  codingOf,
  compileJsonEdits,
  compileTemplate,
  decodeBody,
  isEmptyEdits,
  isJsonType,
  render,
  routeParamNames,
  type JsonEdits,
  type Template,
} from "../../transform/index.ts";
import { asGatewayError, forward, type UpstreamBinding } from "../proxy/forward.ts";
import { appendVia } from "../proxy/headers.ts";
import { traceHeaderLines } from "../../tracing/trace-context.ts";
import type { ProxyEnv } from "../proxy/terminal.ts";

export interface CompiledCall {
  readonly cfg: AggregateCallConfig;
  readonly binding: UpstreamBinding;
  readonly path: Template;
  /** The template's part after "?", encoded as a query; null when it has none. */
  readonly query: Template | null;
  readonly headers: readonly (readonly [string, Template])[];
  readonly edits: JsonEdits | null;
}

export type Outcome =
  | { readonly ok: true; readonly status: number; readonly value: unknown; readonly target: string | null; readonly tries: number }
  | {
      readonly ok: false;
      /** The upstream's status when it answered; null when it did not. */
      readonly status: number | null;
      /** upstream_status | upstream_timeout | upstream_unreachable | invalid_json | dependency_failed | … */
      readonly error: string;
      readonly message: string;
      readonly target: string | null;
      readonly tries: number;
    };

export function compileCall(cfg: AggregateCallConfig, routePath: string, callNames: ReadonlySet<string>, binding: UpstreamBinding): CompiledCall {
  const opts = { params: routeParamNames(routePath), calls: callNames };
  const q = cfg.path.indexOf("?");
  // Checked at load (normalize-aggregate.ts): these compile.
  const path = compileTemplate(q < 0 ? cfg.path : cfg.path.slice(0, q), "path", opts) as Template;
  const query = q < 0 ? null : (compileTemplate(cfg.path.slice(q), "query", opts) as Template);
  const headers = Object.entries(cfg.headers as Record<string, string>).map(([n, v]) => [n, compileTemplate(v, "header", opts) as Template] as const);
  const edits = cfg.response === null ? null : compileJsonEdits(cfg.response, opts, []);
  return { cfg, binding, path, query, headers, edits: edits !== null && !isEmptyEdits(edits) ? edits : null };
}

const decoder = new TextDecoder();

/** Run `call` for `ctx`, given the answers of the calls it depends on; never rejects except for a client-side MissingValue (400). */
export async function runCall(
  call: CompiledCall,
  ctx: RequestContext,
  env: ProxyEnv,
  answers: ReadonlyMap<string, unknown>,
  timeoutMs: number,
  maxBody: number,
): Promise<Outcome> {
  const cfg = call.cfg;
  const src = new ContextSource(ctx, answers);
  let target: string;
  let block = "";
  try {
    target = render(call.path, src) + (call.query === null ? "" : render(call.query, src));
    for (const [n, t] of call.headers) block += `${n}: ${render(t, src)}\r\n`;
  } catch (e) {
    throw missingValueError(e);
  }
  const headers = ctx.req.headers;
  for (const name of cfg.forward_headers) {
    const v = headers.get(name);
    // Values Bun accepted from the client carry no CR/LF.
    if (v !== null && !call.cfg.headers[name]) block += `${name}: ${v}\r\n`;
  }
  const trusted = env.trustedProxies.has(ctx.peerIp);
  const xff = trusted ? headers.get("x-forwarded-for") : null;
  block += `x-forwarded-for: ${xff ? `${xff}, ${ctx.peerIp}` : ctx.peerIp}\r\nx-forwarded-proto: ${env.scheme}\r\n`;
  if (ctx.hostPort !== "") block += `x-forwarded-host: ${ctx.hostPort}\r\n`;
  block += `x-real-ip: ${ctx.clientIp}\r\n${env.server.request_id_header}: ${ctx.requestId}\r\nvia: ${appendVia(undefined)}\r\n`;
  if (ctx.upstreamHeaders !== null) for (const [k, v] of ctx.upstreamHeaders) block += `${k}: ${v}\r\n`;
  // Each call its own client span (its own parent id upstream); their tries land in the request's one list.
  let trace = ctx.trace;
  if (trace !== null) {
    if (trace.record) trace.tries ??= [];
    trace = { ...trace, upstreamSpanId: null };
    block += traceHeaderLines(trace);
  }

  // Each call keeps its own target and tries for the log; the rest of the context is the client's.
  const callCtx: RequestContext = { ...ctx, method: cfg.method, target: null, tries: 0, trace };
  let timedOut = false;
  const sending = forward(callCtx, call.binding, {
    requestLine: `${cfg.method} ${target} HTTP/1.1\r\n`,
    headerBlock: block,
    clientHost: null,
    body: null,
    replayable: true,
    idempotencyKey: false,
    routeTimeout: Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 0,
  }).then(async (up) => {
    if (timedOut) {
      up.body?.cancel().catch(() => {});
      return null;
    }
    const bytes = up.bodyBytes ?? (up.body === null ? new Uint8Array(0) : await readCapped(up.body, maxBody));
    return { up, bytes };
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = Number.isFinite(timeoutMs)
    ? new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(0, timeoutMs))))
    : null;
  const failed = (status: number | null, error: string, message: string): Outcome => ({
    ok: false,
    status,
    error,
    message,
    target: callCtx.target,
    tries: callCtx.tries,
  });
  try {
    const got = deadline === null ? await sending : await Promise.race([sending, deadline]);
    if (got === "timeout" || got === null) {
      timedOut = true;
      sending.catch(() => {});
      return failed(null, "upstream_timeout", "timed out");
    }
    const { up, bytes } = got;
    if (bytes === null) return failed(up.status, "too_large", `answer larger than ${maxBody} bytes`);
    if (up.status < 200 || up.status > 299) return failed(up.status, "upstream_status", `upstream answered ${up.status}`);
    const value = parseAnswer(up.headers, bytes, maxBody);
    if (value === INVALID) return failed(up.status, "invalid_json", "upstream answer is not JSON");
    const edited = call.edits === null ? value : applyJsonEdits(value, call.edits, src);
    return { ok: true, status: up.status, value: edited, target: callCtx.target, tries: callCtx.tries };
  } catch (e) {
    if (e instanceof GatewayError && e.status === 400) throw e;
    const err = asGatewayError(e);
    return failed(null, err.kind, err.message);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const INVALID = Symbol("invalid");

function parseAnswer(pairs: readonly [string, string][], bytes: Uint8Array, max: number): unknown {
  let type: string | null = null;
  let encoding: string | null = null;
  for (const [k, v] of pairs) {
    const lower = k.toLowerCase();
    if (lower === "content-type") type = v;
    else if (lower === "content-encoding") encoding = v;
  }
  if (bytes.length === 0) return null;
  const coding = codingOf(encoding);
  if (coding === null) return INVALID;
  const plain = decodeBody(bytes, coding, max);
  // A JSON body without a JSON Content-Type is still taken: many services send text/plain.
  if (plain === null || (type !== null && !isJsonType(type) && !type.startsWith("text/"))) return INVALID;
  try {
    return JSON.parse(decoder.decode(plain));
  } catch {
    return INVALID;
  }
}

/** The body read whole, or null when it passes `max` bytes (the rest is not read). */
async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    total += value.byteLength;
    if (total > max) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
}
