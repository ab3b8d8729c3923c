import type { AuthConfig, ConsumerConfig } from "../config/types.ts";
import { ConfigError, keyedLine, type KeyedProblem } from "../errors.ts";
import { ownValue } from "./segments.ts";

/** Who the caller is, once an auth policy has said so. */
export interface Identity {
  via: "jwt" | "api_key";
  /** [[consumers]].name, when the key or the token's consumer claim names one. */
  consumer: string | null;
  /** JWT `sub`; null for API keys. */
  subject: string | null;
  roles: string[];
  scopes: string[];
  /** Verified JWT claims; null for API keys. */
  claims: Record<string, unknown> | null;
}

/**
 * Who the caller is, plus the identity headers the upstream receives.
 * Built once per API-key consumer at load and once per verified token (then
 * cached with it), so a request only copies references.
 */
export interface Grant {
  readonly failed: false;
  readonly identity: Identity;
  /** Lower-case header names; values are safe to put on the wire. */
  readonly headers: readonly (readonly [string, string])[];
}

export const HEADER_CONSUMER = "x-consumer";
export const HEADER_USER_ID = "x-user-id";
export const HEADER_USER_ROLES = "x-user-roles";

/**
 * Every header name the gateway sets from an identity, lower-cased. The
 * forwarder strips these from EVERY inbound request before forwarding, on
 * every route, so a client can never present its own X-User-ID.
 */
export function identityHeaderNames(auth: AuthConfig): string[] {
  const names = new Set([HEADER_CONSUMER, HEADER_USER_ID, HEADER_USER_ROLES]);
  for (const header of Object.values(auth.forward_claims)) names.add(header.toLowerCase());
  return [...names];
}

/** Which claims hold what, per issuer. */
export interface ClaimNames {
  readonly consumer: ClaimReader;
  readonly roles: ClaimReader;
  readonly scopes: ClaimReader;
  readonly permissions: ClaimReader;
}

export type ClaimReader = (claims: Record<string, unknown>) => unknown;

/**
 * A reader for a claim name: the top-level claim of that exact name, else,
 * when the name has dots, the nested path ("realm_access.roles"). Exact first
 * because namespaced claims are often URLs with dots in them.
 */
export function claimReader(name: string): ClaimReader {
  if (!name.includes(".")) return (claims) => ownValue(claims, name);
  const path = name.split(".");
  return (claims) => {
    const direct = ownValue(claims, name);
    if (direct !== undefined) return direct;
    let v: unknown = claims;
    for (const part of path) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
      v = ownValue(v as Record<string, unknown>, part);
    }
    return v;
  };
}

/**
 * Headers a claim may never be forwarded into: framing and routing belong to
 * the proxy (RFC 9110 §7.6.1, §6.4), credentials and X-Forwarded-* to the
 * client and the gateway. Config load refuses them too (normalize-auth.ts).
 */
export const CLAIM_HEADER_DENYLIST: ReadonlySet<string> = new Set([
  "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
  "authorization", "proxy-authorization", "cookie", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
]);
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/; // RFC 9110 §5.6.2 tchar, lower-cased

/** What IdentityMapper refuses in auth.forward_claims, each at the path [claim] (pure; config load runs it too). */
export function forwardClaimProblems(forwardClaims: Readonly<Record<string, string>>): KeyedProblem[] {
  const problems: KeyedProblem[] = [];
  for (const [claim, header] of Object.entries(forwardClaims)) {
    const name = header.toLowerCase();
    if (!TOKEN_RE.test(name)) problems.push({ path: [claim], message: `"${header}" is not a valid header name` });
    else if (CLAIM_HEADER_DENYLIST.has(name)) problems.push({ path: [claim], message: `"${header}" may not be set from a claim` });
  }
  return problems;
}

export class IdentityMapper {
  private readonly consumers = new Map<string, ConsumerConfig>();
  private readonly consumerGrants = new Map<string, Grant>();
  private readonly forward: readonly (readonly [ClaimReader, string])[];

  constructor(auth: AuthConfig, consumers: readonly ConsumerConfig[]) {
    const problems = forwardClaimProblems(auth.forward_claims);
    if (problems.length > 0) throw new ConfigError(problems.map((p) => keyedLine(["auth", "forward_claims"], p)));
    const forward: [ClaimReader, string][] = [];
    for (const [claim, header] of Object.entries(auth.forward_claims)) forward.push([claimReader(claim), header.toLowerCase()]);
    this.forward = forward;
    for (const c of consumers) this.consumers.set(c.name, c);
    for (const c of consumers) {
      const identity: Identity = {
        via: "api_key",
        consumer: c.name,
        subject: null,
        roles: stringList(c.roles),
        scopes: [],
        claims: null,
      };
      // Built once at load: frozen, since every request of this consumer shares it.
      const grant = this.grant(identity, null);
      Object.freeze(identity.roles);
      Object.freeze(identity.scopes);
      Object.freeze(identity);
      Object.freeze(grant.headers);
      this.consumerGrants.set(c.name, Object.freeze(grant));
    }
  }

  /** The prebuilt grant of an API-key consumer. */
  forConsumer(name: string): Grant | undefined {
    return this.consumerGrants.get(name);
  }

  /**
   * Identity of a verified token: roles ∪ the named consumer's roles, scopes ∪
   * permissions. Runs once per token (then cached), so it stays cheap: plain
   * arrays, no Set, no Object.freeze (freezing cost ~µs per object in JSC).
   * The result is shared by every request that presents the token: readers
   * must treat it as immutable.
   */
  fromClaims(claims: Record<string, unknown>, names: ClaimNames): Grant {
    const roles = stringList(names.roles(claims));
    const scopes = stringList(names.scopes(claims));
    const permissions = names.permissions(claims);
    if (permissions !== undefined) appendNew(scopes, stringList(permissions));
    const consumerName = names.consumer(claims);
    const consumer = typeof consumerName === "string" ? this.consumers.get(consumerName) : undefined;
    if (consumer !== undefined) appendNew(roles, consumer.roles);
    const sub = ownValue(claims, "sub");
    const identity: Identity = {
      via: "jwt",
      consumer: consumer !== undefined ? consumer.name : null,
      subject: typeof sub === "string" ? sub : null,
      roles,
      scopes,
      claims,
    };
    return this.grant(identity, claims);
  }

  private grant(identity: Identity, claims: Record<string, unknown> | null): Grant {
    const headers: [string, string][] = [];
    if (identity.consumer !== null) headers.push([HEADER_CONSUMER, headerValue(identity.consumer)]);
    if (identity.subject !== null) headers.push([HEADER_USER_ID, headerValue(identity.subject)]);
    if (identity.roles.length > 0) headers.push([HEADER_USER_ROLES, headerValue(identity.roles.join(","))]);
    if (claims !== null) {
      for (const [read, name] of this.forward) {
        const text = claimText(read(claims));
        if (text !== null) headers.push([name, headerValue(text)]);
      }
    }
    return { failed: false as const, identity, headers };
  }
}

/** Distinct strings from an array claim, or a space-separated string claim (RFC 9068 §2.2.3 "scope"). */
function stringList(value: unknown): string[] {
  const out: string[] = [];
  if (typeof value === "string") {
    let start = 0;
    for (let i = 0; i <= value.length; i++) {
      if (i === value.length || value.charCodeAt(i) === 32) {
        if (i > start) {
          const s = value.slice(start, i);
          if (!out.includes(s)) out.push(s);
        }
        start = i + 1;
      }
    }
  } else if (Array.isArray(value)) {
    for (const s of value) if (typeof s === "string" && s.length > 0 && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Append the members of `more` not already in `list` (lists are short: linear is fastest). */
function appendNew(list: string[], more: readonly string[]): void {
  for (const s of more) if (!list.includes(s)) list.push(s);
}

function claimText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))).join(",");
  return JSON.stringify(value);
}

/**
 * A field value the upstream can read back exactly: visible ASCII, space and
 * tab pass as they are; anything else (non-ASCII, CR, LF, NUL and other
 * controls, RFC 9110 §5.5) makes the whole value percent-encoded, so a claim
 * can never inject a header line.
 */
export function headerValue(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return encodeURIComponent(v);
  }
  return v;
}
