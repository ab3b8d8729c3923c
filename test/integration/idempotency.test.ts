/**
 * Issue 11 end to end: a real gateway process (4 workers sharing one arena)
 * in front of a real upstream that counts executions per Idempotency-Key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const executions = new Map<string, number>();
let upstream: ReturnType<typeof Bun.serve>;
/** A second target of the same service (the `pair` upstream: retries go to the other one). */
let twin: ReturnType<typeof Bun.serve>;
const BIG = "x".repeat(200_000);
/** Resolved when the upstream has the first bytes of a /stream request body. */
let firstChunkArrived: () => void = () => {};
const streamDigests: string[] = [];

async function readStreamed(req: Request): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  const reader = req.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    firstChunkArrived();
    h.update(value);
  }
  return h.digest("hex");
}

async function serveCounted(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const key = req.headers.get("idempotency-key") ?? "-";
  const id = `${url.pathname}|${key}|${req.headers.get("x-consumer") ?? ""}`;
  executions.set(id, (executions.get(id) ?? 0) + 1);
  let body: string;
  if (url.pathname.startsWith("/pay/stream")) {
    body = await readStreamed(req);
    streamDigests.push(body);
  } else body = await req.text();
  if (url.pathname.startsWith("/slow") || url.pathname.startsWith("/wait") || url.pathname.startsWith("/timeout")) await Bun.sleep(600);
  if (url.pathname.startsWith("/lease")) await Bun.sleep(1200);
  if (url.pathname.startsWith("/fail")) return new Response("upstream broke", { status: 500 });
  if (url.pathname.startsWith("/big")) return new Response(BIG, { headers: { "content-type": "text/plain" } });
  const headers = new Headers({ "content-type": "application/json", "x-order": crypto.randomUUID() });
  headers.append("set-cookie", "session=abc; Path=/");
  headers.append("set-cookie", "theme=dark; Path=/");
  return new Response(JSON.stringify({ nonce: crypto.randomUUID(), got: body, consumer: req.headers.get("x-consumer") }), { status: 201, headers });
}

beforeAll(() => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: serveCounted });
  twin = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: serveCounted });
});
afterAll(() => {
  upstream.stop(true);
  twin.stop(true);
});

let gw: GatewayProcess;
let k = 0;
const newKey = () => `"${process.pid}-${Date.now()}-${k++}"`;
const count = (path: string, key: string, consumer = "") => executions.get(`${path}|${key}|${consumer}`) ?? 0;

beforeAll(async () => {
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 4
access_log = false

[metrics]
listen = "127.0.0.1:0"

[idempotency]
max_response_size = "64KB"

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
timeouts = { read = "2s" }

[[upstreams]]
name = "quick"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
timeouts = { read = "300ms" }
retries = 0

[[upstreams]]
name = "pair"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }, { url = "http://127.0.0.1:${twin.port}" }]
timeouts = { read = "1s" }
retries = 1

[[upstreams]]
name = "dead"
targets = [{ url = "http://127.0.0.1:1" }]
timeouts = { connect = "200ms", read = "1s" }

[[consumers]]
name = "alice"
api_keys = ["alice-key"]

[[consumers]]
name = "bob"
api_keys = ["bob-key"]

[[routes]]
name = "pay"
path = "/pay/*"
methods = ["POST", "PATCH", "GET"]
upstream = "u"
idempotency = { required = true, ttl = "1h", lock_timeout = "5s" }

[[routes]]
name = "short"
path = "/short/*"
upstream = "u"
idempotency = { ttl = "1s", lock_timeout = "3s" }

[[routes]]
name = "slow"
path = "/slow/*"
upstream = "u"
idempotency = { lock_timeout = "5s" }

[[routes]]
name = "fail"
path = "/fail/*"
upstream = "u"
idempotency = { lock_timeout = "5s" }

[[routes]]
name = "big"
path = "/big/*"
upstream = "u"
idempotency = { lock_timeout = "5s" }

[[routes]]
name = "dead"
path = "/dead/*"
upstream = "dead"
idempotency = { lock_timeout = "5s" }

[[routes]]
name = "timeout"
path = "/timeout/*"
upstream = "quick"
idempotency = { lock_timeout = "5s" }

[[routes]]
name = "lease"
path = "/lease/*"
upstream = "pair"
idempotency = { lock_timeout = "1s" }

[[routes]]
name = "wait"
path = "/wait/*"
upstream = "u"
idempotency = { lock_timeout = "5s", wait_in_flight = "3s" }

[[routes]]
name = "waitshort"
path = "/waitshort/*"
upstream = "u"
idempotency = { lock_timeout = "5s", wait_in_flight = "200ms" }

[[routes]]
name = "keyed"
path = "/keyed/*"
upstream = "u"
auth = "api_key"
idempotency = { required = true, lock_timeout = "5s" }
`);
});
afterAll(() => gw.stop());

const post = (path: string, key: string | null, body = "{\"amount\":10}", headers: Record<string, string> = {}) =>
  fetch(gw.url + path, { method: "POST", body, headers: { "content-type": "application/json", ...(key === null ? {} : { "idempotency-key": key }), ...headers } });

describe("Idempotency-Key through a real gateway (4 workers)", () => {
  test("a retry gets the stored response byte for byte, marked, and the upstream runs once", async () => {
    const key = newKey();
    const a = await post("/pay/1", key);
    const aBody = new Uint8Array(await a.arrayBuffer());
    expect(a.status).toBe(201);
    expect(a.headers.get("idempotent-replayed")).toBeNull();
    for (let i = 0; i < 3; i++) {
      const b = await post("/pay/1", key);
      expect(b.status).toBe(201);
      expect(b.headers.get("idempotent-replayed")).toBe("true");
      expect(new Uint8Array(await b.arrayBuffer())).toEqual(aBody);
      expect(b.headers.get("x-order")).toBe(a.headers.get("x-order"));
      expect(b.headers.getSetCookie()).toEqual(["session=abc; Path=/", "theme=dark; Path=/"]);
      expect(b.headers.get("x-request-id")).not.toBe(a.headers.get("x-request-id"));
    }
    expect(count("/pay/1", key)).toBe(1);
  });

  test("same key, different payload, path or query: 422, not executed", async () => {
    const key = newKey();
    expect((await post("/pay/2", key, '{"amount":10}')).status).toBe(201);
    for (const [path, body] of [["/pay/2", '{"amount":99}'], ["/pay/3", '{"amount":10}'], ["/pay/2?x=1", '{"amount":10}']] as const) {
      const r = await post(path, key, body);
      expect(r.status).toBe(422);
      const j = (await r.json()) as Record<string, unknown>;
      expect(j.error).toBe("idempotency_key_reused");
      expect(j.title).toBe("Idempotency-Key is already used");
    }
    const patch = await fetch(gw.url + "/pay/2", { method: "PATCH", body: '{"amount":10}', headers: { "idempotency-key": key } });
    expect(patch.status).toBe(422);
    expect(count("/pay/2", key) + count("/pay/3", key)).toBe(1);
  });

  test("same key while the first is in flight: 409 with Retry-After; afterwards the replay", async () => {
    const key = newKey();
    const first = post("/slow/1", key);
    await Bun.sleep(150);
    const dup = await post("/slow/1", key);
    expect(dup.status).toBe(409);
    expect(dup.headers.get("retry-after")).toBe("1");
    expect(((await dup.json()) as { error: string }).error).toBe("idempotency_request_in_flight");
    const a = await first;
    const aText = await a.text();
    const again = await post("/slow/1", key);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(aText);
    expect(count("/slow/1", key)).toBe(1);
  });

  test("50 concurrent identical requests across 4 workers: one execution, the rest replays or 409s", async () => {
    const key = newKey();
    const all = await Promise.all(Array.from({ length: 50 }, () => post("/pay/race", key)));
    const statuses = all.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(count("/pay/race", key)).toBe(1);
    const bodies = await Promise.all(all.filter((r) => r.status === 201).map((r) => r.text()));
    expect(new Set(bodies).size).toBe(1);
  });

  test("missing key when required: 400 stating the policy and linking its documentation", async () => {
    const r = await post("/pay/4", null);
    expect(r.status).toBe(400);
    expect(r.headers.get("link")).toContain('rel="help"');
    const j = (await r.json()) as { error: string; policy: Record<string, unknown>; type: string };
    expect(j.error).toBe("idempotency_key_missing");
    expect(j.policy).toMatchObject({ header: "Idempotency-Key", required: true, methods: ["POST", "PATCH"], expires_after_seconds: 3600 });
    expect(j.type).toContain("idempotency-key-header");
    // Methods outside `methods` pass without a key.
    expect((await fetch(gw.url + "/pay/4")).status).toBe(201);
  });

  test("malformed keys: 400 naming the problem, never executed", async () => {
    const cases: [string, string][] = [
      ["unquoted-token", "double quotes"],
      ['"unterminated', "unterminated"],
      ['"bad\\escape"', "invalid escape"],
      ['""', "empty"],
      [`"${"k".repeat(256)}"`, "at most 255"],
      ['"ok";Bad=1', "parameter name"],
      ['"a" "b"', "after the string"],
    ];
    for (const [value, why] of cases) {
      const r = await post("/pay/5", value);
      expect(r.status).toBe(400);
      const j = (await r.json()) as { error: string; message: string };
      expect(j.error).toBe("idempotency_key_invalid");
      expect(j.message).toContain(why);
    }
    expect(count("/pay/5", "unquoted-token")).toBe(0);
    expect((await post("/pay/5", `"${"k".repeat(255)}"`)).status).toBe(201);
  });

  test("keys are scoped to the caller: two API keys with the same Idempotency-Key each run once", async () => {
    const key = newKey();
    const a = await post("/keyed/1", key, "{}", { "x-api-key": "alice-key" });
    const b = await post("/keyed/1", key, "{}", { "x-api-key": "bob-key" });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(((await a.json()) as { consumer: string }).consumer).toBe("alice");
    expect(((await b.json()) as { consumer: string }).consumer).toBe("bob");
    const a2 = await post("/keyed/1", key, "{}", { "x-api-key": "alice-key" });
    expect(a2.headers.get("idempotent-replayed")).toBe("true");
    expect(((await a2.json()) as { consumer: string }).consumer).toBe("alice");
    expect(count("/keyed/1", key, "alice")).toBe(1);
    expect(count("/keyed/1", key, "bob")).toBe(1);
  });

  test("an upstream 5xx is the answer and is replayed", async () => {
    const key = newKey();
    const a = await post("/fail/1", key);
    expect(a.status).toBe(500);
    const b = await post("/fail/1", key);
    expect(b.status).toBe(500);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await b.text()).toBe("upstream broke");
    expect(count("/fail/1", key)).toBe(1);
  });

  test("no answer (upstream unreachable): the key is released, the retry runs again", async () => {
    const key = newKey();
    const a = await post("/dead/1", key);
    expect(a.status).toBe(502);
    const b = await post("/dead/1", key);
    expect(b.status).toBe(502);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
  });

  test("client gone before the answer: the key is released", async () => {
    const key = newKey();
    const ac = new AbortController();
    const aborted = fetch(gw.url + "/slow/abort2", { method: "POST", body: "{}", headers: { "idempotency-key": key }, signal: ac.signal }).catch(() => null);
    await Bun.sleep(150);
    ac.abort();
    await aborted;
    await Bun.sleep(700);
    const retry = await post("/slow/abort2", key, "{}");
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect(count("/slow/abort2", key)).toBe(2);
  });

  test("a response over max_response_size is answered in full, then refused on retry and never run again", async () => {
    const key = newKey();
    const a = await post("/big/1", key);
    expect(a.status).toBe(200);
    expect((await a.text()).length).toBe(BIG.length);
    const b = await post("/big/1", key);
    expect(b.status).toBe(409);
    const j = (await b.json()) as { error: string; original_status: number };
    expect(j.error).toBe("idempotency_response_not_replayable");
    expect(j.original_status).toBe(200);
    expect(count("/big/1", key)).toBe(1);
  });

  test("records expire after ttl: the same key then runs again", async () => {
    const key = newKey();
    expect((await post("/short/1", key)).status).toBe(201);
    expect((await post("/short/1", key)).headers.get("idempotent-replayed")).toBe("true");
    await Bun.sleep(1200);
    const c = await post("/short/1", key);
    expect(c.headers.get("idempotent-replayed")).toBeNull();
    expect(count("/short/1", key)).toBe(2);
  });

  test("reload keeps records", async () => {
    const key = newKey();
    const a = await post("/pay/reload", key);
    const text = await a.text();
    gw.signal("SIGHUP");
    await Bun.sleep(800);
    const b = await post("/pay/reload", key);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await b.text()).toBe(text);
    expect(count("/pay/reload", key)).toBe(1);
  });

  test("upstream read timeout (the gateway's 504, no answer): the key is released, the retry runs again", async () => {
    const key = newKey();
    const a = await post("/timeout/1", key);
    expect(a.status).toBe(504);
    const b = await post("/timeout/1", key);
    expect(b.status).toBe(504);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(count("/timeout/1", key)).toBe(2);
  });

  test("a request body is hashed as it streams: the upstream has its first bytes before the client sent the rest", async () => {
    const key = newKey();
    const chunk = (i: number) => new Uint8Array(64 * 1024).fill(65 + i);
    const arrived = new Promise<void>((resolve) => (firstChunkArrived = resolve));
    let sent = 0;
    let reachedBeforeEnd = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 1) {
          // Hold the rest back until the upstream has the start: a gateway that buffered the body whole never gets there.
          reachedBeforeEnd = await Promise.race([arrived.then(() => true), Bun.sleep(3000).then(() => false)]);
        }
        if (sent === 4) return controller.close();
        controller.enqueue(chunk(sent++));
      },
    });
    const a = await fetch(gw.url + "/pay/stream", { method: "POST", body, headers: { "idempotency-key": key, "content-type": "application/octet-stream" } });
    expect(a.status).toBe(201);
    expect(reachedBeforeEnd).toBe(true);
    const aText = await a.text();
    const whole = new Uint8Array(4 * 64 * 1024);
    for (let i = 0; i < 4; i++) whole.set(chunk(i), i * 64 * 1024);
    // The same bytes framed differently (Content-Length): the same fingerprint, replayed.
    const b = await fetch(gw.url + "/pay/stream", { method: "POST", body: whole, headers: { "idempotency-key": key } });
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await b.text()).toBe(aText);
    // One byte different at the very end: another payload.
    whole[whole.length - 1] = 0;
    expect((await fetch(gw.url + "/pay/stream", { method: "POST", body: whole, headers: { "idempotency-key": key } })).status).toBe(422);
    expect(count("/pay/stream", key)).toBe(1);
  });

  test("the lock is a lease renewed while the request runs: a request outliving lock_timeout (a retry on the other target) keeps its key", async () => {
    // lock_timeout 1s; the first try times out after 1s, the retry on the twin after 2s: the key must still be held at 1.4s.
    const key = newKey();
    const first = post("/lease/1", key);
    await Bun.sleep(1400);
    const dup = await post("/lease/1", key);
    expect(dup.status).toBe(409);
    expect((await first).status).toBe(504);
    expect(count("/lease/1", key)).toBe(2); // the two tries of the first request, nothing of the duplicate
  });

  test("wait_in_flight: a retry during the first request waits for its answer and gets the replay; another payload gets 422", async () => {
    const key = newKey();
    const first = post("/wait/1", key);
    await Bun.sleep(150);
    const t0 = performance.now();
    const [dup, other] = await Promise.all([post("/wait/1", key), post("/wait/1", key, '{"amount":11}')]);
    expect(performance.now() - t0).toBeGreaterThan(250);
    const a = await first;
    const aBody = await a.text();
    expect(dup.status).toBe(201);
    expect(dup.headers.get("idempotent-replayed")).toBe("true");
    expect(await dup.text()).toBe(aBody);
    expect(other.status).toBe(422);
    expect(count("/wait/1", key)).toBe(1);
  });

  test("wait_in_flight: 409 once the wait is over and the first is still running", async () => {
    const key = newKey();
    const first = post("/waitshort/1", key);
    await Bun.sleep(100);
    const t0 = performance.now();
    const dup = await post("/waitshort/1", key);
    const waited = performance.now() - t0;
    expect(dup.status).toBe(409);
    expect(waited).toBeGreaterThan(180);
    expect(waited).toBeLessThan(450);
    expect((await first).status).toBe(201);
    expect(count("/waitshort/1", key)).toBe(1);
  });

  test("wait_in_flight: when the first ends without an answer (client gone) the waiting retry takes the key and runs", async () => {
    const key = newKey();
    const ac = new AbortController();
    const first = fetch(gw.url + "/wait/3", { method: "POST", body: "{}", headers: { "idempotency-key": key }, signal: ac.signal }).catch(() => null);
    await Bun.sleep(100);
    const dup = post("/wait/3", key, "{}");
    await Bun.sleep(50);
    ac.abort();
    await first;
    const r = await dup;
    expect(r.status).toBe(201);
    expect(r.headers.get("idempotent-replayed")).toBeNull();
    expect(count("/wait/3", key)).toBe(2);
  });

  test("metrics count what the policy did", async () => {
    const text = await (await fetch(gw.metricsUrl!)).text();
    expect(text).toMatch(/gateway_idempotency_requests_total\{route="pay",result="replayed"\} [1-9]/);
    expect(text).toMatch(/gateway_idempotency_requests_total\{route="pay",result="mismatch"\} [1-9]/);
    expect(text).toMatch(/gateway_idempotency_requests_total\{route="pay",result="missing"\} [1-9]/);
    expect(text).toMatch(/gateway_idempotency_records_total\{route="dead",outcome="released"\} [1-9]/);
    expect(text).toMatch(/gateway_idempotency_records_total\{route="big",outcome="unreplayable"\} [1-9]/);
  });
});
