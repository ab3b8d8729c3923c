/**
 * The aggregate terminal (`[[routes.aggregate]]`): one client request fans
 * out to several upstream calls and is answered with one JSON object.
 *
 * - Calls run in parallel, except that a call whose templates use another's
 *   answer ({user.id}) starts once that one is in (dependencies are checked
 *   acyclic at load).
 * - The route's `timeout` bounds the whole fan-out: a call still running at
 *   the deadline counts as timed out. A call's own `timeout` bounds it alone.
 * - `as = "key"` puts a call's JSON under that key; `merge = true` puts the
 *   fields of its object at the top level, calls later in the config winning
 *   a conflict (then the `as` keys, which are the route's own names).
 * - A failed optional call leaves its key null; the answer stays 200 and says
 *   which calls failed, in `X-Aggregate-Failed: name, name` and in an
 *   `_errors` member ({ name: { status, error, message } }, the upstream's
 *   status when it answered), and `Cache-Control: no-store`, so no cache
 *   (the route's or one downstream) keeps the degraded answer. A failed
 *   required call makes the whole answer a JSON error naming it: 504 when
 *   it timed out, else 502, with the upstream's status in the body. A call
 *   depending on a failed one fails with `dependency_failed`.
 * - Every call's status is in the access log line (`target`:
 *   "user=200 orders=504:upstream_timeout"), so a 200 never hides a failure.
 */
import type { RouteConfig } from "../../config/types.ts";
import type { RequestContext } from "../../policies/context.ts";
import { noteBody } from "../../policies/types.ts";
import { isObject } from "../../transform/index.ts";
import type { UpstreamBinding } from "../proxy/forward.ts";
import type { ProxyEnv } from "../proxy/terminal.ts";
import type { Terminal } from "../route.ts";
import { compileCall, runCall, type CompiledCall, type Outcome } from "./call.ts";

const encoder = new TextEncoder();

export class AggregateTerminal implements Terminal {
  readonly kind = "aggregate";
  private readonly calls: readonly CompiledCall[];
  /** Calls in an order where each comes after those it depends on. */
  private readonly order: readonly CompiledCall[];

  constructor(
    private readonly env: ProxyEnv,
    private readonly route: RouteConfig,
    upstreams: ReadonlyMap<string, UpstreamBinding>,
  ) {
    const names = new Set(route.aggregate.map((c) => c.name));
    this.calls = route.aggregate.map((c) => compileCall(c, route.path, names, upstreams.get(c.upstream)!));
    const done = new Set<string>();
    const order: CompiledCall[] = [];
    while (order.length < this.calls.length) {
      for (const c of this.calls) {
        if (!done.has(c.cfg.name) && c.cfg.depends.every((d) => done.has(d))) {
          done.add(c.cfg.name);
          order.push(c);
        }
      }
    }
    this.order = order;
  }

  async run(ctx: RequestContext): Promise<Response> {
    const started = performance.now();
    const bound = this.route.timeout > 0 ? started + this.route.timeout : Infinity;
    const maxBody = this.env.server.max_body_size;
    const answers = new Map<string, unknown>();
    const pending = new Map<string, Promise<Outcome>>();
    for (const call of this.order) {
      const cfg = call.cfg;
      const deps = cfg.depends.map((d) => pending.get(d)!);
      const start = async (): Promise<Outcome> => {
        if (deps.length > 0) {
          const got = await Promise.all(deps);
          const bad = got.findIndex((o) => !o.ok);
          if (bad >= 0) {
            const dep = cfg.depends[bad]!;
            return { ok: false, status: null, error: "dependency_failed", message: `depends on "${dep}", which failed`, target: null, tries: 0 };
          }
        }
        const left = bound - performance.now();
        const limit = cfg.timeout > 0 ? Math.min(cfg.timeout, left) : left;
        if (limit <= 0) return { ok: false, status: null, error: "upstream_timeout", message: "timed out", target: null, tries: 0 };
        const outcome = await runCall(call, ctx, this.env, answers, limit, maxBody);
        if (outcome.ok) answers.set(cfg.name, outcome.value);
        return outcome;
      };
      pending.set(cfg.name, start());
    }
    const outcomes = await Promise.all(this.calls.map((c) => pending.get(c.cfg.name)!));
    ctx.target = this.calls.map((c, i) => `${c.cfg.name}=${describe(outcomes[i]!)}`).join(" ");
    ctx.tries = outcomes.reduce((n, o) => n + o.tries, 0);

    const ridHeader = this.env.server.request_id_header;
    const headers = new Headers({ "content-type": "application/json", [ridHeader]: ctx.requestId });
    const requiredFailure = this.calls.findIndex((c, i) => !c.cfg.optional && !outcomes[i]!.ok);
    if (requiredFailure >= 0) {
      const o = outcomes[requiredFailure]! as Extract<Outcome, { ok: false }>;
      const name = this.calls[requiredFailure]!.cfg.name;
      const status = o.error === "upstream_timeout" ? 504 : 502;
      const body = {
        error: "aggregate_call_failed",
        message: `call "${name}" failed: ${o.message}`,
        call: name,
        upstream_status: o.status,
        request_id: ctx.requestId,
      };
      return new Response(JSON.stringify(body), { status, headers });
    }

    const out: Record<string, unknown> = {};
    const errors: Record<string, unknown> = {};
    const failedNames: string[] = [];
    // Merged objects first, in config order (later wins), then the `as` keys.
    this.calls.forEach((c, i) => {
      const o = outcomes[i]!;
      if (c.cfg.merge && o.ok && isObject(o.value)) Object.assign(out, o.value);
    });
    this.calls.forEach((c, i) => {
      const o = outcomes[i]!;
      if (c.cfg.as !== null) out[c.cfg.as] = o.ok ? o.value : null;
      if (!o.ok) {
        failedNames.push(c.cfg.name);
        errors[c.cfg.name] = { status: o.status, error: o.error, message: o.message };
      }
    });
    if (failedNames.length > 0) {
      out._errors = errors;
      headers.set("x-aggregate-failed", failedNames.join(", "));
      // A degraded answer must not outlive the failure: neither the route's cache nor one downstream may keep it (RFC 9111 §5.2.2.5).
      headers.set("cache-control", "no-store");
    }
    const bytes = encoder.encode(JSON.stringify(out));
    return noteBody(new Response(bytes, { status: 200, headers }), bytes);
  }
}

function describe(o: Outcome): string {
  if (o.ok) return String(o.status);
  return o.status === null ? o.error : `${o.status}:${o.error}`;
}
