/** What a rate-limit key reads of a request (the pipeline's context satisfies it). */
export interface LimitRequest {
  readonly clientIp: string;
  readonly req: { readonly headers: Headers };
  readonly identity: { readonly consumer: string | null; readonly claims: Record<string, unknown> | null } | null;
}
import { hashString, hashUnit } from "./hash.ts";

/**
 * Rate-limit keys, compiled at load from the configured parts:
 *   ip | consumer | route | global | header:NAME | claim:NAME   (or a list)
 *
 * A request's key is never built as a string on the local path: each part is
 * fed to the hash as (kind tag, length, characters), so a value can't forge a
 * separator and "a"+"bc" differs from "ab"+"c". For Redis strict mode the same
 * parts are rendered as text `<tag><length>:<value>` joined by "|", which is
 * unambiguous for the same reason.
 *
 * A missing consumer, header or claim (or an empty one) falls back to the
 * client IP, tagged as an IP, never to one bucket shared by every anonymous
 * caller.
 */

const KIND_IP = 1;
const KIND_CONSUMER = 2;
const KIND_ROUTE = 3;
const KIND_GLOBAL = 4;
const KIND_HEADER = 5;
const KIND_CLAIM = 6;
const TAGS = ["", "i", "c", "r", "g", "h", "j"] as const;

interface KeyPart {
  readonly kind: number;
  /** Header name (lower-case), claim name, or the route name. */
  readonly name: string;
}

export interface KeyExtractor {
  readonly parts: readonly string[];
  /** Feed this request's key into the running hash (hash.ts state). */
  feed(ctx: LimitRequest): void;
  /** The key as text, for Redis key names. */
  text(ctx: LimitRequest): string;
}

/** Validate key parts; returns problems (empty when fine). */
export function keyPartProblems(parts: readonly string[]): string[] {
  const problems: string[] = [];
  for (const p of parts) {
    if (p === "ip" || p === "consumer" || p === "route" || p === "global") continue;
    if (p.startsWith("header:") && p.length > 7) continue;
    if (p.startsWith("claim:") && p.length > 6) continue;
    problems.push(`unknown key part "${p}" (ip, consumer, route, global, header:NAME, claim:NAME)`);
  }
  return problems;
}

function parsePart(p: string, routeName: string): KeyPart {
  if (p === "ip") return { kind: KIND_IP, name: "" };
  if (p === "consumer") return { kind: KIND_CONSUMER, name: "" };
  if (p === "route") return { kind: KIND_ROUTE, name: routeName };
  if (p === "global") return { kind: KIND_GLOBAL, name: "" };
  if (p.startsWith("header:")) return { kind: KIND_HEADER, name: p.slice(7).toLowerCase() };
  return { kind: KIND_CLAIM, name: p.slice(6) };
}

/** The part's value for this request, or null when it must fall back to the client IP. */
function partValue(part: KeyPart, ctx: LimitRequest): string | null {
  switch (part.kind) {
    case KIND_CONSUMER: {
      const c = ctx.identity?.consumer;
      return c ? c : null;
    }
    case KIND_HEADER: {
      const v = ctx.req.headers.get(part.name);
      return v ? v : null;
    }
    case KIND_CLAIM: {
      const v = ctx.identity?.claims?.[part.name];
      if (typeof v === "string") return v.length > 0 ? v : null;
      if (typeof v === "number" || typeof v === "boolean") return String(v);
      return null;
    }
    case KIND_ROUTE:
      return part.name;
    case KIND_GLOBAL:
      return "";
    default:
      return ctx.clientIp;
  }
}

/** Compile a key. `routeName` is the route the policy serves (the `route` part is constant per policy). */
export function compileKey(parts: readonly string[], routeName: string): KeyExtractor {
  const problems = keyPartProblems(parts);
  if (problems.length) throw new Error(problems.join("; "));
  const compiled = parts.map((p) => parsePart(p, routeName));
  const n = compiled.length;
  return {
    parts,
    feed(ctx) {
      for (let i = 0; i < n; i++) {
        const part = compiled[i]!;
        const v = partValue(part, ctx);
        if (v === null) {
          hashUnit(KIND_IP);
          hashString(ctx.clientIp);
        } else {
          hashUnit(part.kind);
          hashString(v);
        }
      }
    },
    text(ctx) {
      let out = "";
      for (let i = 0; i < n; i++) {
        const part = compiled[i]!;
        const v = partValue(part, ctx);
        const kind = v === null ? KIND_IP : part.kind;
        const value = v === null ? ctx.clientIp : v;
        out += (i ? "|" : "") + TAGS[kind] + value.length + ":" + value;
      }
      return out;
    },
  };
}
