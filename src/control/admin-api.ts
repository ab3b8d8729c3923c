/**
 * One table of admin endpoints, two uses: each entry is registered on the
 * Elysia app (which validates bodies and queries with its TypeBox schemas)
 * and described in the OpenAPI 3.1 document served at /openapi.json from the
 * very same schema objects. Config pieces (a consumer's roles and
 * rate_limits) are the config's own TypeBox schemas (src/config/schema.ts),
 * so the admin API and config.toml accept exactly the same shapes.
 *
 * Modules that add admin routes (cache purge, metrics) should add them with
 * `api.add(...)` so they appear in the document too.
 */
import type { TSchema } from "@sinclair/typebox";
import type { Elysia } from "elysia";

export type Method = "get" | "post" | "patch" | "delete";

export interface AdminContext {
  body: unknown;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  set: { status?: number | string; headers: Record<string, string | number> };
  request: Request;
}

export interface AdminEndpoint {
  method: Method;
  /** Elysia form: /consumers/:name (rendered /consumers/{name} in the document). */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  body?: TSchema;
  query?: TSchema;
  /** Status code → description and optional schema of the JSON answer. */
  responses: Record<number, { description: string; schema?: TSchema; contentType?: string }>;
  /** No bearer token needed (the human-readable pages and the document itself stay protected by default). */
  public?: boolean;
  handler(ctx: AdminContext): unknown;
}

export class AdminApi {
  readonly endpoints: AdminEndpoint[] = [];

  add(e: AdminEndpoint): this {
    this.endpoints.push(e);
    return this;
  }

  /** Register every endpoint on `app`. */
  mount(app: Elysia): void {
    for (const e of this.endpoints) {
      const hook: Record<string, unknown> = {};
      if (e.body) hook.body = e.body;
      if (e.query) hook.query = e.query;
      // Elysia's route typing is per literal path; the table is dynamic, so go through its untyped form.
      (app as unknown as { route(m: string, p: string, h: (c: AdminContext) => unknown, hook: unknown): void }).route(
        e.method.toUpperCase(),
        e.path,
        (ctx) => e.handler(ctx),
        hook,
      );
    }
  }

  /** The OpenAPI 3.1 document (JSON Schema 2020-12 dialect, which TypeBox schemas are). */
  document(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const e of this.endpoints) {
      const path = e.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
      const parameters: Record<string, unknown>[] = [];
      for (const m of e.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)) {
        parameters.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
      }
      if (e.query) {
        const q = plain(e.query) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, schema] of Object.entries(q.properties ?? {})) {
          parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema });
        }
      }
      const responses: Record<string, unknown> = {};
      for (const [code, r] of Object.entries(e.responses)) {
        responses[code] = r.schema || r.contentType
          ? { description: r.description, content: { [r.contentType ?? "application/json"]: { schema: r.schema ? plain(r.schema) : { type: "string" } } } }
          : { description: r.description };
      }
      if (!e.public) responses["401"] = { description: "missing or wrong bearer token", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
      const op: Record<string, unknown> = {
        operationId: operationId(e),
        summary: e.summary,
        tags: [e.tag],
        responses,
      };
      if (e.description) op.description = e.description;
      if (parameters.length > 0) op.parameters = parameters;
      if (e.body) op.requestBody = { required: true, content: { "application/json": { schema: plain(e.body) } } };
      if (e.public) op.security = [];
      (paths[path] ??= {})[e.method] = op;
    }
    return {
      openapi: "3.1.0",
      info: { title: info.title, version: info.version, description: "Admin API of the gateway: its own listener, every endpoint behind `Authorization: Bearer <admin.token>`." },
      jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
      security: [{ bearer: [] }],
      paths,
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
        schemas: {
          Error: {
            type: "object",
            required: ["error", "message"],
            properties: { error: { type: "string" }, message: { type: "string" } },
          },
        },
      },
    };
  }
}

function operationId(e: AdminEndpoint): string {
  const words = e.path.split("/").filter(Boolean).map((w) => (w.startsWith(":") ? "by_" + w.slice(1) : w));
  return [e.method, ...words].join("_").replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * A TypeBox schema as plain JSON Schema: its symbol-keyed metadata dropped
 * (JSON.stringify ignores symbols), and the config's own annotations
 * (`errorMessage`, the unit marker) kept only when they are JSON.
 */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema, (k, v) => (k === "errorMessage" ? undefined : v)));
}
