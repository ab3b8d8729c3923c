/**
 * The request as a plugin sees it (README "Writing a plugin"): getters over
 * the gateway's context, none writable, so a plugin cannot change the request
 * id, the route or the client address other policies and the log rely on
 * (assigning one throws a TypeError in the plugin's strict-mode module, which
 * fails that request with the plugin named). `params` and `identity` are
 * frozen copies made on first read: the router's params and the auth cache's
 * identities are shared with other requests, so a plugin must never hold the
 * originals. One view per request, the same object in every hook and plugin,
 * so a plugin may key its own per-request state on it (a WeakMap).
 */
import type { Identity, RequestContext } from "../context.ts";
import type { PluginContext } from "./api.ts";

export class PluginView implements PluginContext {
  readonly #ctx: RequestContext;
  #params: Readonly<Record<string, string>> | null = null;
  #identity: Readonly<Identity> | null | undefined = undefined;

  constructor(ctx: RequestContext) {
    this.#ctx = ctx;
  }
  get request(): Request {
    return this.#ctx.req;
  }
  get requestId(): string {
    return this.#ctx.requestId;
  }
  get route(): string | null {
    return this.#ctx.route?.name ?? null;
  }
  get clientIp(): string {
    return this.#ctx.clientIp;
  }
  get params(): Readonly<Record<string, string>> {
    return (this.#params ??= Object.freeze({ ...this.#ctx.params }));
  }
  /** Read when asked, not at the view's making: a plugin after `auth` sees the identity auth set. */
  get identity(): Readonly<Identity> | null {
    const id = this.#ctx.identity;
    if (id === null) return null;
    if (this.#identity === undefined || this.#identity === null) this.#identity = frozenIdentity(id);
    return this.#identity;
  }
}

function frozenIdentity(id: Identity): Readonly<Identity> {
  return Object.freeze({
    via: id.via,
    consumer: id.consumer,
    subject: id.subject,
    roles: Object.freeze([...id.roles]) as string[],
    scopes: Object.freeze([...id.scopes]) as string[],
    claims: id.claims === null ? null : deepFreeze(structuredClone(id.claims)),
  });
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** The request's view, made on its first plugin hook (kept in a context field: a WeakMap entry per request cost ~190 ns, bench/plugins.bench.ts). */
export function viewOf(ctx: RequestContext): PluginView {
  return (ctx.pluginView ??= new PluginView(ctx)) as PluginView;
}
