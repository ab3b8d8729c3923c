import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/wait.ts";

/**
 * "Never loses a request on reload": SIGHUP and admin reloads while clients
 * keep sending, with requests in flight on targets the new config drops.
 * Every request must get its 200, from the old snapshot or the new one.
 */

const upstreams: ReturnType<typeof Bun.serve>[] = [];
beforeAll(() => {
  for (const tag of ["a", "b"]) {
    upstreams.push(
      Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        async fetch(req) {
          const url = new URL(req.url);
          const ms = Number(url.searchParams.get("ms") ?? 0);
          if (ms > 0) await Bun.sleep(ms);
          const body = req.method === "POST" ? await req.text() : "";
          return Response.json({ tag, path: url.pathname, body });
        },
      }),
    );
  }
});
afterAll(() => {
  for (const u of upstreams) u.stop(true);
});

const ADMIN_TOKEN = "reload-test-admin-token-0123456789";

function config(version: number, targets: ("a" | "b")[]): string {
  const urls = targets.map((t) => `{ url = "http://127.0.0.1:${upstreams[t === "a" ? 0 : 1]!.port}" }`).join(", ");
  return `
[server]
listen = "127.0.0.1:0"
workers = 2
access_log = false
drain_timeout = "5s"

[admin]
listen = "127.0.0.1:0"
token = "${ADMIN_TOKEN}"

[[upstreams]]
name = "u"
balancer = "${version % 2 === 0 ? "round_robin" : "least_conn"}"
targets = [${urls}]
retries = 0

[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
strip_prefix = "/api"
rate_limits = [{ algorithm = "token_bucket", limit = 1000000, window = "1s", key = "ip" }]

[[routes]]
name = "v${version}"
path = "/v${version}"
upstream = "u"
`;
}

interface Tally {
  ok: number;
  bad: string[];
}

/** `clients` loops sending GETs and small POSTs until `stop()` says so. */
function load(base: string, clients: number): { stop(): Promise<Tally> } {
  const tally: Tally = { ok: 0, bad: [] };
  let running = true;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; running; i++) {
      const post = i % 3 === 0;
      const body = post ? `client ${c} request ${i}` : undefined;
      try {
        const res = await fetch(`${base}/api/item/${c}?ms=${i % 5 === 0 ? 20 : 0}`, { method: post ? "POST" : "GET", body });
        const json = (await res.json()) as { path: string; body: string };
        if (res.status === 200 && json.path === `/item/${c}` && json.body === (body ?? "")) tally.ok++;
        else tally.bad.push(`${res.status} ${JSON.stringify(json)}`);
      } catch (err) {
        tally.bad.push(String(err));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

describe("reload under load", () => {
  test("twenty reloads (SIGHUP and admin) during steady traffic: every request answered 200", async () => {
    const gw = await startGateway(config(0, ["a", "b"]));
    try {
      const traffic = load(gw.url, 12);
      for (let v = 1; v <= 20; v++) {
        await Bun.sleep(60);
        gw.writeConfig(config(v, v % 3 === 0 ? ["b"] : ["a", "b"]));
        if (v % 2 === 0) {
          const res = await fetch(`${gw.adminUrl}/reload`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
          expect(res.status).toBe(200);
        } else gw.signal("SIGHUP");
        await until(`route v${v} is served`, async () => (await fetch(`${gw.url}/v${v}`)).status === 200, 5000);
      }
      const tally = await traffic.stop();
      expect(tally.bad).toEqual([]);
      expect(tally.ok).toBeGreaterThan(200);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  test("requests in flight on a target the new config drops still complete", async () => {
    const gw = await startGateway(config(0, ["a"]));
    try {
      // Slow requests on target a, then a reload that leaves only b.
      const slow = Array.from({ length: 10 }, (_, i) =>
        fetch(`${gw.url}/api/slow/${i}?ms=700`).then(async (r) => ({ status: r.status, json: (await r.json()) as { tag: string } })),
      );
      await Bun.sleep(150);
      gw.writeConfig(config(1, ["b"]));
      gw.signal("SIGHUP");
      await until("route v1 is served", async () => (await fetch(`${gw.url}/v1`)).status === 200, 5000);
      const after = (await (await fetch(`${gw.url}/api/now`)).json()) as { tag: string };
      expect(after.tag).toBe("b");
      for (const r of await Promise.all(slow)) {
        expect(r.status).toBe(200);
        expect(r.json.tag).toBe("a");
      }
    } finally {
      await gw.stop();
    }
  }, 20_000);

  test("a rejected reload under load changes nothing and drops nothing", async () => {
    const gw = await startGateway(config(0, ["a", "b"]));
    try {
      const traffic = load(gw.url, 8);
      await Bun.sleep(100);
      gw.writeConfig(`${config(1, ["a"])}\n[[routes]]\nname = "broken"\npath = "/x"\nupstream = "nope"\n`);
      gw.signal("SIGHUP");
      await until("the bad reload is logged", () => gw.stderr().includes("reload rejected"), 5000);
      await Bun.sleep(200);
      const tally = await traffic.stop();
      expect(tally.bad).toEqual([]);
      expect((await fetch(`${gw.url}/v0`)).status).toBe(200);
      expect((await fetch(`${gw.url}/v1`)).status).toBe(404);
    } finally {
      await gw.stop();
    }
  }, 20_000);
});
