import { expect, test } from "bun:test";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { startGateway } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { startRecordingUpstream } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";

test("a JWKS that starts failing is one jwks_refresh_failed event (keys kept, tokens still verify), its recovery one jwks_recovered", async () => {
  const rsa = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  let failing = false;
  const jwks = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => (failing ? new Response("down", { status: 503 }) : Response.json({ keys: [jwk] })) });
  const up = startRecordingUpstream();
  const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 1
[metrics]
listen = "127.0.0.1:0"
[[jwt]]
issuer = "https://rsa.test/"
jwks_url = "http://127.0.0.1:${jwks.port}/jwks.json"
jwks_refresh = "100ms"
algorithms = ["RS256"]
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
auth = "jwt"
`);
  const token = await new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer("https://rsa.test/").setExpirationTime("5m").sign(rsa.privateKey);
  const call = async () => (await fetch(`${gw.url}/x`, { headers: { authorization: `Bearer ${token}` } })).status;
  const events = (name: string) => gw.stderr().split("\n").filter((l) => l.includes(`"event":"${name}"`));
  try {
    expect(await call()).toBe(200);
    failing = true;
    await until("jwks_refresh_failed", () => events("jwks_refresh_failed").length > 0, 5000);
    const ev = JSON.parse(events("jwks_refresh_failed")[0]!);
    expect(ev).toMatchObject({ level: "error", url: `http://127.0.0.1:${jwks.port}/jwks.json`, error: "JWKS fetch returned 503", keys_kept: 1 });
    // Several more failed refreshes: still one event; the kept key still verifies.
    await Bun.sleep(450);
    expect(events("jwks_refresh_failed")).toHaveLength(1);
    expect(await call()).toBe(200);
    failing = false;
    await until("jwks_recovered", () => events("jwks_recovered").length > 0, 5000);
    const fams = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    expect(valueOf(fams, "gateway_events_total", { event: "jwks_refresh_failed" })).toBe(1);
    expect(valueOf(fams, "gateway_events_total", { event: "jwks_recovered" })).toBe(1);
  } finally {
    await gw.stop();
    up.stop();
    jwks.stop(true);
  }
}, 30_000);
