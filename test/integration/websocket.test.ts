import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { startWsUpstream, wsClient, type WsUpstream } from "../helpers/websocket.ts";

let up: WsUpstream;
let gw: GatewayProcess;
let wsBase: string;

function config(upPort: number, extra = ""): string {
  return `
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false

[[upstreams]]
name = "ws"
targets = [{ url = "http://127.0.0.1:${upPort}" }]

[[routes]]
name = "live"
path = "/ws/*"
upstream = "ws"
strip_prefix = "/ws"
websocket = true

[[routes]]
name = "plain"
path = "/plain/*"
upstream = "ws"
${extra}
`;
}

beforeAll(async () => {
  up = startWsUpstream();
  gw = await startGateway(config(up.port));
  wsBase = gw.url.replace(/^http/, "ws");
});
afterAll(async () => {
  await gw.stop();
  up.stop();
});

describe("relay", () => {
  test("text messages echo through the gateway", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    c.ws.send("hello");
    expect(await c.next()).toBe("hello");
    c.ws.send("é—ü 🚀");
    expect(await c.next()).toBe("é—ü 🚀");
    c.ws.close(1000, "done");
    expect(await c.closed).toEqual({ code: 1000, reason: "done" });
  });

  test("a 1 MB binary message arrives whole, as binary, byte for byte", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    c.ws.send(big);
    const back = await c.next(5000);
    expect(typeof back).not.toBe("string");
    expect(Buffer.compare(back as Buffer, big)).toBe(0);
    c.ws.close();
    await c.closed;
  });
});
