import { GatewayError } from "../../errors.ts";
import type { UpstreamDraft } from "../../policies/context.ts";
import { isSafeFieldValue } from "./headers.ts";

/**
 * The outgoing request as onUpstreamRequest hooks edit it (UpstreamDraft).
 * Headers are edited in place in the record the terminal copies upstream
 * (Headers.toJSON(): lower-case names; a removed one is left undefined, which
 * is cheaper than `delete` and skipped when the head is written). Hop-by-hop
 * fields, framing and the gateway's own forwarding headers (Host,
 * X-Forwarded-*, X-Real-IP, Via, the request id, identity headers, the W3C
 * trace fields) are
 * written after the hooks and are not theirs to change.
 */
export class Draft implements UpstreamDraft {
  constructor(
    public path: string,
    public query: string,
    private readonly fields: Record<string, string | string[] | undefined>,
    public body: Uint8Array | ReadableStream<Uint8Array> | null,
  ) {}

  getHeader(name: string): string | null {
    const v = this.fields[name.toLowerCase()];
    return v === undefined ? null : typeof v === "string" ? v : v.join(", ");
  }

  setHeader(name: string, value: string): void {
    this.fields[name.toLowerCase()] = checked(value);
  }

  appendHeader(name: string, value: string): void {
    const lower = name.toLowerCase();
    const v = this.fields[lower];
    this.fields[lower] = v === undefined ? checked(value) : `${typeof v === "string" ? v : v.join(", ")}, ${checked(value)}`;
  }

  removeHeader(name: string): void {
    const lower = name.toLowerCase();
    if (this.fields[lower] !== undefined) this.fields[lower] = undefined;
  }
}

/** No CR, LF or NUL may reach the head we write (RFC 9110 §5.5): a value carrying one is refused, never sent. */
function checked(value: string): string {
  if (!isSafeFieldValue(value)) throw new GatewayError("bad_request", 400, "a header value for the upstream contains CR, LF or NUL");
  return value;
}
