/**
 * A plugin's hooks as a Policy, with the faults a user's code can make kept
 * to the one request that met them (issue 15 "Faults"): a hook that throws,
 * a promise that rejects, returns something that is not a Response, or never
 * settles. Each fault is logged with the plugin, the hook and the stack,
 * counted in gateway_plugin_errors_total{plugin,hook,reason}, and answered
 * with the gateway's JSON error (500 internal, 504 plugin_timeout) carrying
 * the request id; the worker goes on. Synchronous hooks that return nothing
 * cost one call and two checks: no promise, no timer.
 */
import { GatewayError } from "../../errors.ts";
import type { RequestContext } from "../context.ts";
import { errorResponse } from "../respond.ts";
import type { Policy } from "../types.ts";
import { type PluginCounter, type PluginHooks, pluginLog } from "./api.ts";
import { viewOf } from "./view.ts";

export interface GuardEnv {
  /** The plugin's [[plugins]] name. */
  readonly plugin: string;
  /** How long a hook's promise may take (ms): the plugin's `timeout`, else the route's. */
  readonly timeoutMs: number;
  readonly ridHeader: string;
  readonly errors: PluginCounter;
}

type Reason = "threw" | "rejected" | "timeout" | "invalid";

/** Log and count one fault; the error the request fails with (the cause stays in the log). */
function fault(env: GuardEnv, hook: string, reason: Reason, ctx: RequestContext, cause: unknown): GatewayError {
  const err = cause instanceof Error ? cause : new Error(String(cause));
  pluginLog("error", env.plugin, `plugin ${hook} ${reason === "invalid" ? "returned an invalid value" : reason === "timeout" ? "timed out" : "failed"}`, {
    hook,
    reason,
    route: ctx.route?.name ?? null,
    request_id: ctx.requestId,
    error: err.message,
    stack: err.stack,
  });
  env.errors.inc([env.plugin, hook, reason]);
  if (reason === "timeout") return new GatewayError("plugin_timeout", 504, "the request took too long to process", { source: "internal", cause: err });
  return new GatewayError("internal", 500, "internal error", { source: "internal", cause: err });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return `an object (${(v as object).constructor?.name ?? "Object"})`;
  return `a ${typeof v}`;
}

/** `p` settled within the budget, else the timeout fault; a rejection is the plugin's fault too. Late settlements are dropped. */
function bounded<T>(env: GuardEnv, hook: string, ctx: RequestContext, p: PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(fault(env, hook, "timeout", ctx, new Error(`${hook} did not settle within ${env.timeoutMs} ms`)));
    }, env.timeoutMs);
    p.then(
      (v) => {
        if (done) return;
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        if (done) return;
        clearTimeout(timer);
        reject(fault(env, hook, "rejected", ctx, e));
      },
    );
  });
}

/** A hook's answer must be a Response or nothing. */
function answerOf(env: GuardEnv, hook: string, ctx: RequestContext, r: unknown): Response | undefined {
  if (r === undefined || r === null) return undefined;
  if (r instanceof Response) return r;
  throw fault(env, hook, "invalid", ctx, new TypeError(`${hook} returned ${describe(r)}; expected a Response or nothing`));
}

export function guardedPolicy(name: string, h: PluginHooks, env: GuardEnv): Policy {
  const p: { -readonly [K in keyof Policy]: Policy[K] } = { name };
  if (h.onRequest) {
    const hook = h.onRequest.bind(h);
    p.onRequest = (ctx) => {
      let r: unknown;
      try {
        r = hook(viewOf(ctx));
      } catch (e) {
        throw fault(env, "onRequest", "threw", ctx, e);
      }
      if (r === undefined || r === null) return undefined;
      if (r instanceof Response) return r;
      if (isThenable(r)) return bounded(env, "onRequest", ctx, r).then((v) => answerOf(env, "onRequest", ctx, v));
      return answerOf(env, "onRequest", ctx, r);
    };
  }
  if (h.onUpstreamRequest) {
    const hook = h.onUpstreamRequest.bind(h);
    p.onUpstreamRequest = (ctx, draft) => {
      let r: unknown;
      try {
        r = hook(viewOf(ctx), draft);
      } catch (e) {
        throw fault(env, "onUpstreamRequest", "threw", ctx, e);
      }
      // Any other value is ignored: `(ctx, d) => (d.path = "/v2")` is a fine hook.
      if (isThenable(r)) return bounded(env, "onUpstreamRequest", ctx, r).then(() => undefined);
    };
  }
  if (h.onResponse) {
    const hook = h.onResponse.bind(h);
    // A failure here answers with the JSON error instead of throwing, so the response hooks of the policies before it (CORS) still run on it.
    const failed = (ctx: RequestContext, res: Response, e: unknown): Response => {
      res.body?.cancel().catch(() => {});
      const err = e instanceof GatewayError ? e : fault(env, "onResponse", "threw", ctx, e);
      return errorResponse(err, ctx.requestId, env.ridHeader);
    };
    p.onResponse = (ctx, res, body) => {
      let r: unknown;
      try {
        r = hook(viewOf(ctx), res, body);
        if (r === undefined || r === null) return undefined;
        if (r instanceof Response) return r;
        if (!isThenable(r)) return answerOf(env, "onResponse", ctx, r);
      } catch (e) {
        return failed(ctx, res, e);
      }
      return bounded(env, "onResponse", ctx, r).then(
        (v) => answerOf(env, "onResponse", ctx, v),
        (e) => failed(ctx, res, e),
      ).catch((e) => failed(ctx, res, e));
    };
  }
  if (h.onError) {
    const hook = h.onError.bind(h);
    p.onError = (ctx, error) => {
      let r: unknown;
      try {
        r = hook(viewOf(ctx), error);
      } catch (e) {
        fault(env, "onError", "threw", ctx, e);
        return undefined;
      }
      if (r === undefined || r === null || r instanceof Response) return r ?? undefined;
      if (isThenable(r)) {
        // The error path is synchronous (as for the built-ins): a promise is not waited for.
        r.then(undefined, (e) => fault(env, "onError", "rejected", ctx, e));
        fault(env, "onError", "invalid", ctx, new TypeError("onError returned a promise; it must answer synchronously"));
        return undefined;
      }
      fault(env, "onError", "invalid", ctx, new TypeError(`onError returned ${describe(r)}; expected a Response or nothing`));
      return undefined;
    };
  }
  if (h.onLog) {
    const hook = h.onLog.bind(h);
    p.onLog = (ctx, entry) => {
      try {
        const r: unknown = hook(viewOf(ctx), entry);
        if (isThenable(r)) r.then(undefined, (e) => fault(env, "onLog", "rejected", ctx, e));
      } catch (e) {
        fault(env, "onLog", "threw", ctx, e);
      }
    };
  }
  return p as Policy;
}
