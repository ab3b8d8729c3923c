/**
 * Runtime consumers, API keys and targets (admin API):
 *
 *   GET    /consumers                         file and runtime consumers (never keys; runtime key ids)
 *   POST   /consumers                         { name, roles, rate_limits } → 201
 *   PATCH  /consumers/:name                   { roles?, rate_limits? }
 *   DELETE /consumers/:name                   a runtime consumer and all its keys
 *   POST   /consumers/:name/keys              → 201 { id, key }: the key is shown once, kept as its SHA-256
 *   DELETE /consumers/:name/keys/:id          the key stops working on every worker when this returns
 *   POST   /upstreams/:name/targets           { url, weight } → 201
 *   DELETE /upstreams/:name/targets?url=…     drains: no new requests; in-flight ones finish on the old snapshot
 *
 * Only runtime entries can be changed here: a consumer or target that
 * config.toml defines answers 409 (the file wins, and is changed by editing it).
 */
import { randomBytes } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { TargetSchema } from "../config/schema.ts";
import { NameList, RateLimits } from "../config/schema-kit.ts";
import type { AdminApi } from "./admin-api.ts";
import type { ApplyResult, RuntimeConfig } from "./runtime-config.ts";
import type { RuntimeState } from "./runtime-state.ts";

const ConsumerName = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description: "letters, digits, . _ - (at most 64)" });
const NewConsumer = Type.Object(
  { name: ConsumerName, roles: Type.Optional(NameList), rate_limits: Type.Optional(RateLimits) },
  { additionalProperties: false },
);
const ConsumerPatch = Type.Object({ roles: Type.Optional(NameList), rate_limits: Type.Optional(RateLimits) }, { additionalProperties: false });
const Consumer = Type.Object({
  name: Type.String(),
  source: Type.Union([Type.Literal("config"), Type.Literal("runtime")]),
  roles: Type.Array(Type.String()),
  rate_limits: Type.Array(Type.Unknown()),
  keys: Type.Array(Type.Object({ id: Type.String(), created: Type.String() })),
});
const IssuedKey = Type.Object({ id: Type.String(), key: Type.String({ description: "shown only in this answer" }) });
const TargetQuery = Type.Object({ url: Type.String({ minLength: 1 }) });
const Err = { description: "refused", schema: Type.Object({ error: Type.String(), message: Type.String() }) };

export interface RuntimeRoutesDeps {
  runtime(): RuntimeConfig;
  apply(config: import("../config/types.ts").GatewayConfig): Promise<ApplyResult>;
}

type Ctx = Parameters<Parameters<AdminApi["add"]>[0]["handler"]>[0];

export function addRuntimeRoutes(api: AdminApi, deps: RuntimeRoutesDeps): void {
  const fileConsumer = (name: string) => deps.runtime().isFileConsumer(name);
  const shadowed = fileConsumer;

  /** Run an edit; answer its refusal or `ok`. */
  const change = async (ctx: Ctx, edit: (s: RuntimeState) => string | null | { status: number; message: string }, ok: () => unknown, okStatus = 200) => {
    let status = 409;
    const r = await deps.runtime().change((s) => {
      const out = edit(s);
      if (out !== null && typeof out === "object") {
        status = out.status;
        return out.message;
      }
      return out;
    }, deps.apply);
    if (r.ok) {
      ctx.set.status = okStatus;
      return ok();
    }
    ctx.set.status = r.status === 409 ? status : (r.status ?? 500);
    const error = ctx.set.status === 404 ? "not_found" : ctx.set.status === 409 ? "conflict" : ctx.set.status === 422 ? "invalid_config" : "failed";
    return { error, message: r.error };
  };
  const notFound = (what: string) => ({ status: 404, message: what });

  api.add({
    method: "get", path: "/consumers", tag: "consumers", summary: "List consumers (config file and runtime); keys are never shown",
    responses: { 200: { description: "consumers", schema: Type.Array(Consumer) } },
    handler: () => {
      const runtime = deps.runtime().snapshot();
      return deps.runtime().config.consumers.map((c) => {
        const rt = runtime.consumers.find((r) => r.name === c.name);
        const fromFile = shadowed(c.name) || rt === undefined;
        return {
          name: c.name,
          source: fromFile ? "config" : "runtime",
          roles: c.roles,
          rate_limits: fromFile ? c.rate_limits : rt!.rate_limits,
          keys: fromFile ? [] : rt!.keys.map((k) => ({ id: k.id, created: k.created })),
        };
      });
    },
  });

  api.add({
    method: "post", path: "/consumers", tag: "consumers", summary: "Create a runtime consumer", body: NewConsumer,
    responses: { 201: { description: "created" }, 409: Err, 422: Err },
    handler: (ctx) => {
      const b = ctx.body as { name: string; roles?: string[]; rate_limits?: Record<string, unknown>[] };
      return change(
        ctx,
        (s) => {
          if (deps.runtime().config.consumers.some((c) => c.name === b.name) || s.consumers.some((c) => c.name === b.name)) return `consumer "${b.name}" already exists`;
          s.consumers.push({ name: b.name, roles: b.roles ?? [], rate_limits: b.rate_limits ?? [], keys: [] });
          return null;
        },
        () => ({ name: b.name, roles: b.roles ?? [], rate_limits: b.rate_limits ?? [] }),
        201,
      );
    },
  });

  api.add({
    method: "patch", path: "/consumers/:name", tag: "consumers", summary: "Change a runtime consumer's roles and rate limits", body: ConsumerPatch,
    responses: { 200: { description: "changed" }, 404: Err, 409: Err, 422: Err },
    handler: (ctx) => {
      const b = ctx.body as { roles?: string[]; rate_limits?: Record<string, unknown>[] };
      const name = ctx.params.name!;
      let out: unknown;
      return change(
        ctx,
        (s) => {
          const c = s.consumers.find((x) => x.name === name);
          if (c === undefined || shadowed(name)) return fileConsumer(name) ? `consumer "${name}" is defined in the config file; edit the file` : notFound(`no consumer "${name}"`);
          if (b.roles) c.roles = b.roles;
          if (b.rate_limits) c.rate_limits = b.rate_limits;
          out = { name, roles: c.roles, rate_limits: c.rate_limits };
          return null;
        },
        () => out,
      );
    },
  });

  api.add({
    method: "delete", path: "/consumers/:name", tag: "consumers", summary: "Delete a runtime consumer and its keys",
    responses: { 200: { description: "deleted" }, 404: Err, 409: Err },
    handler: (ctx) => {
      const name = ctx.params.name!;
      return change(
        ctx,
        (s) => {
          const i = s.consumers.findIndex((x) => x.name === name);
          if (i < 0 || shadowed(name)) return fileConsumer(name) ? `consumer "${name}" is defined in the config file; edit the file` : notFound(`no consumer "${name}"`);
          s.consumers.splice(i, 1);
          return null;
        },
        () => ({ deleted: name }),
      );
    },
  });

  api.add({
    method: "post", path: "/consumers/:name/keys", tag: "consumers", summary: "Issue an API key (shown once, stored as its SHA-256)",
    responses: { 201: { description: "the new key", schema: IssuedKey }, 404: Err, 409: Err },
    handler: (ctx) => {
      const name = ctx.params.name!;
      // 256 random bits, base64url: unguessable, and safe in a header or a query string.
      const key = `gw_${randomBytes(32).toString("base64url")}`;
      const id = randomBytes(8).toString("hex");
      return change(
        ctx,
        (s) => {
          const c = s.consumers.find((x) => x.name === name);
          if (c === undefined || shadowed(name)) return fileConsumer(name) ? `consumer "${name}" is defined in the config file; give it keys there` : notFound(`no consumer "${name}"`);
          c.keys.push({ id, digest: new Bun.CryptoHasher("sha256").update(key).digest("hex"), created: new Date().toISOString() });
          return null;
        },
        () => ({ id, key }),
        201,
      );
    },
  });

  api.add({
    method: "delete", path: "/consumers/:name/keys/:id", tag: "consumers", summary: "Revoke an API key issued by the admin API",
    responses: { 200: { description: "revoked" }, 404: Err },
    handler: (ctx) => {
      const { name, id } = ctx.params as { name: string; id: string };
      return change(
        ctx,
        (s) => {
          const c = s.consumers.find((x) => x.name === name);
          const i = c?.keys.findIndex((k) => k.id === id) ?? -1;
          if (c === undefined || i < 0) return notFound(`no key "${id}" of consumer "${name}"`);
          c.keys.splice(i, 1);
          return null;
        },
        () => ({ revoked: id }),
      );
    },
  });

  api.add({
    method: "post", path: "/upstreams/:name/targets", tag: "upstreams", summary: "Register a target (service registration)", body: Type.Pick(TargetSchema, ["url", "weight"], { additionalProperties: false }),
    responses: { 201: { description: "registered" }, 404: Err, 409: Err, 422: Err },
    handler: (ctx) => {
      const name = ctx.params.name!;
      const b = ctx.body as { url: string; weight?: number };
      return change(
        ctx,
        (s) => {
          const u = deps.runtime().config.upstreams.find((x) => x.name === name);
          if (u === undefined) return notFound(`no upstream "${name}"`);
          const list = (s.targets[name] ??= []);
          if (list.some((t) => t.url === b.url) || u.targets.some((t) => t.url === b.url)) return `target ${b.url} is already in upstream "${name}"`;
          list.push(b.weight === undefined ? { url: b.url } : { url: b.url, weight: b.weight });
          return null;
        },
        () => ({ upstream: name, url: b.url, weight: b.weight ?? 1 }),
        201,
      );
    },
  });

  api.add({
    method: "delete", path: "/upstreams/:name/targets", tag: "upstreams", summary: "Deregister a target: no new requests; in-flight ones finish", query: TargetQuery,
    responses: { 200: { description: "draining" }, 404: Err, 409: Err },
    handler: (ctx) => {
      const name = ctx.params.name!;
      const url = ctx.query.url!;
      return change(
        ctx,
        (s) => {
          const list = s.targets[name] ?? [];
          const i = list.findIndex((t) => t.url === url);
          if (i < 0) {
            const fromFile = deps.runtime().config.upstreams.find((x) => x.name === name)?.targets.some((t) => t.url === url);
            return fromFile ? `target ${url} is defined in the config file; edit the file` : notFound(`no registered target ${url} in upstream "${name}"`);
          }
          list.splice(i, 1);
          if (list.length === 0) delete s.targets[name];
          return null;
        },
        () => ({ upstream: name, url, draining: true }),
      );
    },
  });
}
