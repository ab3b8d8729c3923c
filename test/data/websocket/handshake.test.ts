/** The opening handshake as a server checks it (RFC 6455 §4.2.1), case by case. */
import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/errors.ts";
import { checkHandshake } from "../../../src/data/websocket/handshake.ts";

const GOOD = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

function refusal(method: string, headers: Record<string, string>): { status: number; message: string; headers: Record<string, string> | undefined } {
  try {
    checkHandshake(method, new Headers(headers));
  } catch (e) {
    const g = e as GatewayError;
    expect(g).toBeInstanceOf(GatewayError);
    return { status: g.status, message: g.message, headers: g.headers };
  }
  throw new Error("handshake accepted");
}

describe("checkHandshake", () => {
  test("a valid handshake: no protocols offered", () => {
    expect(checkHandshake("GET", new Headers(GOOD))).toEqual([]);
  });

  test("token lists and case: Connection: keep-alive, Upgrade; Upgrade: WebSocket", () => {
    expect(checkHandshake("GET", new Headers({ ...GOOD, connection: "keep-alive, Upgrade", upgrade: "WebSocket" }))).toEqual([]);
  });

  test("offered subprotocols in the client's order, trimmed, duplicates once", () => {
    expect(checkHandshake("GET", new Headers({ ...GOOD, "sec-websocket-protocol": "chat.v2, chat.v1 ,chat.v2" }))).toEqual(["chat.v2", "chat.v1"]);
  });

  test("no Upgrade: 426 naming websocket (RFC 9110 §15.5.22)", () => {
    const r = refusal("GET", { host: "a" });
    expect(r.status).toBe(426);
    expect(r.headers).toEqual({ upgrade: "websocket", connection: "Upgrade" });
  });

  test("Upgrade to something else (h2c): 426", () => {
    expect(refusal("GET", { ...GOOD, upgrade: "h2c" }).status).toBe(426);
  });

  test("not a GET: 400", () => {
    expect(refusal("POST", GOOD).status).toBe(400);
  });

  test("Connection without upgrade: 400", () => {
    expect(refusal("GET", { ...GOOD, connection: "keep-alive" }).status).toBe(400);
  });

  test("another version: 426 with Sec-WebSocket-Version: 13 (RFC 6455 §4.4)", () => {
    const r = refusal("GET", { ...GOOD, "sec-websocket-version": "8" });
    expect(r.status).toBe(426);
    expect(r.headers).toEqual({ "sec-websocket-version": "13" });
    expect(refusal("GET", { ...GOOD, "sec-websocket-version": "" }).status).toBe(426);
  });

  test("a key that is not 16 bytes of base64: 400", () => {
    for (const key of ["", "short", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25j*Q==", "dGhlIHNhbXBsZSBub25jZQ==AA"]) {
      expect(refusal("GET", { ...GOOD, "sec-websocket-key": key }).status).toBe(400);
    }
  });

  test("a subprotocol that is not a token: 400", () => {
    expect(refusal("GET", { ...GOOD, "sec-websocket-protocol": "chat v1" }).status).toBe(400);
    expect(refusal("GET", { ...GOOD, "sec-websocket-protocol": "a/b" }).status).toBe(400);
  });
});
