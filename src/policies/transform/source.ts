/**
 * The request as templates see it (TemplateSource, src/transform): one small
 * object per request that reads the context lazily; the query is parsed on
 * the first {query.X}, never otherwise.
 */
import type { RequestContext } from "../context.ts";
import { queryValue, type TemplateSource } from "../../transform/index.ts";
import { GatewayError } from "../../errors.ts";
import { MissingValue } from "../../transform/index.ts";

export class ContextSource implements TemplateSource {
  constructor(
    private readonly ctx: RequestContext,
    /** Aggregation: the answers of earlier calls by name. */
    private readonly answers: ReadonlyMap<string, unknown> | null = null,
  ) {}

  param(name: string): string | undefined {
    return this.ctx.params[name];
  }

  claim(name: string): unknown {
    const claims = this.ctx.identity?.claims;
    return claims != null && Object.hasOwn(claims, name) ? claims[name] : undefined;
  }

  header(name: string): string | null {
    return this.ctx.req.headers.get(name);
  }

  query(name: string): string | null {
    return queryValue(this.ctx.query, name);
  }

  get consumer(): string | null {
    return this.ctx.identity?.consumer ?? null;
  }

  get clientIp(): string {
    return this.ctx.clientIp;
  }

  get requestId(): string {
    return this.ctx.requestId;
  }

  ref(call: string, path: readonly string[]): unknown {
    let v: unknown = this.answers?.get(call);
    for (const key of path) {
      if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  }
}

/** A required template value was missing: the client's request lacks it, so 400 (never a half-built upstream request). */
export function missingValueError(e: unknown): unknown {
  if (e instanceof MissingValue) return new GatewayError("bad_request", 400, `${e.message} for this route`);
  return e;
}
