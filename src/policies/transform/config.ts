/**
 * The transform policy's [[routes]] keys: `request` and `response`
 * (DESIGN.md). Normalized to plain data (the worker compiles it); every
 * template and field path is compiled once here too, so a bad one is a
 * key-path problem at load, never a surprise in a worker.
 *
 *   request  = { headers = {set, add, remove, rename}, query = {…}, path = "/v2/users/{id}",
 *                body = { remove, rename, set, add, max_size = "1MB", strict = false } }
 *   response = { headers = {…}, body = { allow, remove, rename, set, add, max_size = "1MB" },
 *                status = { 201 = 200 }, etag = "weaken" }
 */
import { Type } from "@sinclair/typebox";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import { readSize } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { Bool, oneOf, opt, Size, Str, StrList, table } from "../../config/schema-kit.ts";
import {
  compileFieldEdits,
  compileJsonEdits,
  compileTemplate,
  literalProblem,
  routeParamNames,
  type EditProblem,
  type RawFieldEdits,
  type RawJsonEdits,
} from "../../transform/index.ts";

const StrTable = Type.Record(Type.String(), Str, { errorMessage: 'expected a table of name = "value"' });
const AnyTable = Type.Record(Type.String(), Type.Unknown(), { errorMessage: "expected a table of field = value" });

export const FieldEditsSchema = table({ set: opt(StrTable), add: opt(StrTable), remove: opt(StrList), rename: opt(StrTable) });

const RequestBodySchema = table({
  remove: opt(StrList),
  rename: opt(StrTable),
  set: opt(AnyTable),
  add: opt(AnyTable),
  max_size: opt(Size),
  strict: opt(Bool),
});

export const ResponseBodyEditsSchema = table({
  allow: opt(StrList),
  remove: opt(StrList),
  rename: opt(StrTable),
  set: opt(AnyTable),
  add: opt(AnyTable),
});

const ResponseBodySchema = table({ ...ResponseBodyEditsSchema.properties, max_size: opt(Size) });

export const ETAG_MODES = ["weaken", "drop"] as const;

export const TRANSFORM_ROUTE_KEYS = {
  request: opt(table({ headers: opt(FieldEditsSchema), query: opt(FieldEditsSchema), path: opt(Str), body: opt(RequestBodySchema) })),
  response: opt(
    table({
      headers: opt(FieldEditsSchema),
      body: opt(ResponseBodySchema),
      status: opt(Type.Record(Type.String(), Type.Integer(), { errorMessage: "expected a table of status = status" })),
      etag: opt(oneOf(ETAG_MODES)),
    }),
  ),
};

/** Default cap on a JSON body the transformer reads whole (larger ones pass untouched, or are refused with strict). */
export const DEFAULT_BODY_MAX = 1024 * 1024;

export interface RequestTransformConfig {
  headers: RawFieldEdits | null;
  query: RawFieldEdits | null;
  path: string | null;
  body: (RawJsonEdits & { max_size: number; strict: boolean }) | null;
}

export interface ResponseTransformConfig {
  headers: RawFieldEdits | null;
  body: (RawJsonEdits & { max_size: number }) | null;
  /** Upstream status → status sent to the client. */
  status: Record<number, number>;
  /** A transformed body is not the upstream's bytes: its strong ETag is weakened (W/) or dropped. */
  etag: (typeof ETAG_MODES)[number];
}

export interface TransformRouteConfig {
  request: RequestTransformConfig | null;
  response: ResponseTransformConfig | null;
}

/** Header names the gateway writes itself (framing, forwarding): not the transformer's to set. */
const GATEWAY_OWNED: ReadonlySet<string> = new Set([
  "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade",
  "proxy-connection", "via", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip",
]);

type Raw = Record<string, unknown>;

export function normalizeTransformRoute(ctx: NormalizeContext, raw: Raw, at: KeyPath): TransformRouteConfig {
  const params = typeof raw.path === "string" ? routeParamNames(raw.path) : [];
  const report = (base: KeyPath) => (problems: EditProblem[]) => {
    for (const p of problems) ctx.problems.add([...base, ...p.path], p.message);
  };
  const fields = (value: unknown, base: KeyPath, kind: "header" | "query", owned: boolean): RawFieldEdits | null => {
    if (value === undefined) return null;
    const edits = value as RawFieldEdits;
    const problems: EditProblem[] = [];
    compileFieldEdits(edits, kind, { params }, problems);
    if (owned) {
      for (const key of ["set", "add", "rename"] as const) {
        const table = edits[key] ?? {};
        for (const [name, target] of Object.entries(table)) {
          const written = (key === "rename" ? target : name).toLowerCase();
          if (GATEWAY_OWNED.has(written)) problems.push({ path: [key, name], message: `${written} is written by the gateway itself` });
        }
      }
    }
    report(base)(problems);
    return edits;
  };
  const bodyEdits = (value: RawJsonEdits, base: KeyPath) => {
    const problems: EditProblem[] = [];
    compileJsonEdits(value, { params }, problems);
    report(base)(problems);
  };

  let request: RequestTransformConfig | null = null;
  if (raw.request !== undefined) {
    const r = raw.request as Raw;
    const base = [...at, "request"];
    let path: string | null = null;
    if (typeof r.path === "string") {
      path = r.path;
      const t = compileTemplate(r.path, "path", { params });
      if (typeof t === "string") ctx.problems.add([...base, "path"], t);
      else if (!r.path.startsWith("/")) ctx.problems.add([...base, "path"], 'must start with "/"');
      else if (r.path.includes("?") || r.path.includes("#")) ctx.problems.add([...base, "path"], 'a path only: edit the query with request.query');
      else {
        const bad = literalProblem(t, "path");
        if (bad !== null) ctx.problems.add([...base, "path"], bad);
      }
    }
    let body: RequestTransformConfig["body"] = null;
    if (r.body !== undefined) {
      const b = r.body as Raw & RawJsonEdits;
      bodyEdits(b, [...base, "body"]);
      body = {
        remove: b.remove, rename: b.rename, set: b.set, add: b.add,
        max_size: readSize(ctx, b.max_size as string | undefined, [...base, "body", "max_size"], DEFAULT_BODY_MAX),
        strict: b.strict === true,
      };
    }
    request = { headers: fields(r.headers, [...base, "headers"], "header", true), query: fields(r.query, [...base, "query"], "query", false), path, body };
  }

  let response: ResponseTransformConfig | null = null;
  if (raw.response !== undefined) {
    const r = raw.response as Raw;
    const base = [...at, "response"];
    let body: ResponseTransformConfig["body"] = null;
    if (r.body !== undefined) {
      const b = r.body as Raw & RawJsonEdits;
      bodyEdits(b, [...base, "body"]);
      body = {
        allow: b.allow, remove: b.remove, rename: b.rename, set: b.set, add: b.add,
        max_size: readSize(ctx, b.max_size as string | undefined, [...base, "body", "max_size"], DEFAULT_BODY_MAX),
      };
    }
    const status: Record<number, number> = {};
    for (const [from, to] of Object.entries((r.status as Record<string, number> | undefined) ?? {})) {
      const code = /^[1-5]\d\d$/.test(from) ? Number(from) : NaN;
      if (Number.isNaN(code)) ctx.problems.add([...base, "status", from], "expected an upstream status from 100 to 599 as the key");
      else if (!Number.isInteger(to) || to < 200 || to > 599) ctx.problems.add([...base, "status", from], "expected a status from 200 to 599");
      else status[code] = to;
    }
    response = {
      headers: fields(r.headers, [...base, "headers"], "header", false),
      body,
      status,
      etag: (r.etag as ResponseTransformConfig["etag"] | undefined) ?? "weaken",
    };
  }
  return { request, response };
}
