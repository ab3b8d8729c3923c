/**
 * What Bun's HTTP/1.1 parser lets through but a proxy must not forward,
 * found by sending raw bytes to the real gateway
 * (test/integration/smuggling.test.ts). Each check is a string test on a
 * value already at hand; a request without the header pays nothing for it.
 * Every refusal closes the connection (RFC 9112 §9.6): what follows on it
 * cannot be trusted to be framed the way the client meant.
 */
import { GatewayError } from "../errors.ts";

/** Response headers of every refusal here. */
export const CLOSE: Record<string, string> = { connection: "close" };

/**
 * Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): an IP
 * literal or a non-empty reg-name (an http URI has a non-empty host,
 * §4.2.1). "," is refused although reg-name allows it: Bun joins two Host
 * lines with ", ", and §7.2 says more than one Host line MUST get 400.
 */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+;=%]+)(?::\d{0,5})?$/;

/**
 * Why the Host header is unusable, or null when it is fine. `value` null:
 * no Host at all, which Bun already answers with 400 on HTTP/1.1, so this is
 * HTTP/1.0 (§7.2 requires Host of 1.1 clients only).
 */
export function hostProblem(value: string | null): string | null {
  if (value === null) return null;
  if (!HOST_SYNTAX.test(value)) return "invalid Host header";
  // Only a 5-digit port can be out of range.
  const colon = value.indexOf(":", value.lastIndexOf("]") + 1);
  if (colon >= 0 && value.length - colon === 6 && Number(value.slice(colon + 1)) > 65535) return "invalid Host header";
  return null;
}

/**
 * Content-Length as a number. Bun refuses +4, -4, 0x4, "4, 4" in one line and
 * differing values, but joins two identical lines into "4, 4": RFC 9110 §8.6
 * lets a recipient refuse that, and it is refused here (400), so that one
 * rule holds whatever the line count.
 */
export function contentLength(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new GatewayError("bad_request", 400, "invalid Content-Length", { headers: CLOSE });
  }
  return n;
}

/**
 * Bun consumes the content of a GET, HEAD or TRACE request (by its
 * Content-Length or chunked framing) but hands the handler no body, so it
 * cannot be forwarded; sending the length without the bytes would desync
 * the upstream connection. RFC 9110 §9.3.1/§9.3.2 allow refusing such
 * content; §9.3.8 forbids it on TRACE.
 */
export function hiddenBody(method: string): GatewayError {
  return new GatewayError("bad_request", 400, `content is not accepted on a ${method} request`, { headers: CLOSE });
}

/** Max-Forwards = 1*DIGIT (RFC 9110 §7.6.2); -1 when absent or invalid (then it is dropped). */
export function maxForwards(value: string | string[] | undefined): number {
  if (typeof value !== "string" || value.length === 0 || value.length > 9) return -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(value);
}

/**
 * The gateway as the final recipient of a TRACE or OPTIONS with
 * Max-Forwards: 0 (RFC 9110 §7.6.2). TRACE reflects the request it received
 * as message/http (§9.3.8) minus credentials (`reflected` has none); OPTIONS
 * answers with the route's methods when it lists them (§9.3.7).
 */
export function answerAsFinalRecipient(method: string, reflected: string, methods: readonly string[]): Response {
  if (method === "TRACE") return new Response(reflected, { headers: { "content-type": "message/http" } });
  if (methods.length === 0) return new Response(null, { headers: { "content-length": "0" } });
  // As the router's 405 says it: sorted, HEAD wherever GET is (a GET route serves HEAD).
  const allow = new Set(methods);
  if (allow.has("GET")) allow.add("HEAD");
  return new Response(null, { headers: { allow: [...allow].sort().join(", "), "content-length": "0" } });
}
