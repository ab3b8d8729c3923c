import { GatewayError } from "../../errors.ts";

/**
 * The client's opening handshake, checked as a server must (RFC 6455
 * §4.2.1): GET, `Upgrade: websocket`, `Connection: Upgrade`, a
 * Sec-WebSocket-Key of 16 base64-encoded bytes, version 13. Returns the
 * offered subprotocols (§4.2.1 item 8, in the client's order of preference),
 * or throws the answer: 426 for a plain request or another version (with
 * `Upgrade`/`Sec-WebSocket-Version` saying what would work, RFC 9110
 * §15.5.22, RFC 6455 §4.4), 400 for a malformed handshake.
 */
export function checkHandshake(method: string, headers: Headers): string[] {
  const upgrade = headers.get("upgrade");
  if (upgrade === null || !hasToken(upgrade, "websocket")) {
    throw new GatewayError("bad_request", 426, "this route serves WebSocket connections only", {
      headers: { upgrade: "websocket", connection: "Upgrade" },
    });
  }
  if (method !== "GET") throw new GatewayError("bad_request", 400, "a WebSocket handshake must be a GET");
  if (!hasToken(headers.get("connection") ?? "", "upgrade")) throw new GatewayError("bad_request", 400, "a WebSocket handshake must carry Connection: Upgrade");
  const version = headers.get("sec-websocket-version");
  if (version === null || version.trim() !== "13") {
    throw new GatewayError("bad_request", 426, "unsupported WebSocket version", { headers: { "sec-websocket-version": "13" } });
  }
  const key = headers.get("sec-websocket-key");
  if (key === null || !validKey(key.trim())) throw new GatewayError("bad_request", 400, "invalid Sec-WebSocket-Key");
  const offered = headers.get("sec-websocket-protocol");
  if (offered === null) return [];
  const out: string[] = [];
  for (const raw of offered.split(",")) {
    const p = raw.trim();
    if (p === "") continue;
    // Subprotocol names are tokens (RFC 6455 §4.1, §11.3.4).
    if (!isToken(p)) throw new GatewayError("bad_request", 400, "invalid Sec-WebSocket-Protocol");
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
function hasToken(value: string, token: string): boolean {
  for (const raw of value.split(",")) if (raw.trim().toLowerCase() === token) return true;
  return false;
}

/** 16 bytes in base64: 22 characters and "==" (RFC 6455 §4.1 item 7). */
function validKey(key: string): boolean {
  if (key.length !== 24 || !key.endsWith("==")) return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) return false;
  }
  return true;
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
function isToken(s: string): boolean {
  return TCHAR.test(s);
}
