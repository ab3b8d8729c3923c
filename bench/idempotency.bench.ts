/**
 * What Idempotency-Key costs (issue 11's bench), mitata, one process:
 *
 * - the check alone, on the engine the policy uses: parse the field, scope
 *   the key, take the lock on a new key (kept, or released so the arena
 *   stays the same size) / read a done record and compare its fingerprint
 *   (a replay), on the shared-memory arena and on a real redis-server;
 * - the whole request handler (real compiled snapshot, canned upstream as in
 *   handler.bench.ts, no sockets): a POST on a route without idempotency, a
 *   POST with a new key each time (lock, forward, store the record), and a
 *   replay of one key; memory, then Redis.
 *
 * DESIGN.md budget: idempotency check (new key, memory) < 2 µs.
 *
 *   bun bench/idempotency.bench.ts            # Redis rows need redis-server on PATH
 *
 * End to end req/s over sockets: bench/e2e-idempotency.ts.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { MemoryRecordStore, RedisRecordStore, newToken, type DoneRecord } from "../src/idempotency/index.ts";
import { fingerprint, digestBytes, scopedKey } from "../src/policies/idempotency/fingerprint.ts";
import { parseIdempotencyKey } from "../src/policies/idempotency/key.ts";
import { SharedStore } from "../src/store/index.ts";
import { createRedisClient } from "../src/util/redis.ts";
import { freePort } from "../test/helpers/ports.ts";
import { benchServer, cannedClient, localHandler } from "./handler-kit.ts";

const haveRedis = Bun.which("redis-server") !== null;
let redisProc: ReturnType<typeof Bun.spawn> | null = null;
let redisUrl = "";
if (haveRedis) {
  const port = await freePort();
  redisProc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
  redisUrl = `redis://127.0.0.1:${port}`;
  await Bun.sleep(300);
}

const requestBody = new TextEncoder().encode('{"amount":1000,"currency":"EUR","customer":"c_123","items":[{"sku":"a","qty":1}]}');
const responseBody = new TextEncoder().encode('{"id":"pay_1","status":"succeeded","amount":1000}');
const field = '"8e03978e-40d5-43e8-bc93-6894a57f9324"';
const caller = "consumer:mobile-app";

// --- the check alone -------------------------------------------------------

const arena = new MemoryRecordStore(new SharedStore(SharedStore.allocate(64 << 20, { maxObjectBytes: (1 << 20) + 65536 })));
const done = (fp: string): DoneRecord => ({ state: "done", fp, status: 201, headers: [["content-type", "application/json"], ["x-order", "o-1"]], body: responseBody });
const fp = fingerprint("POST", "/pay", "", digestBytes(requestBody));
const replayKey = scopedKey(caller, "replayed-key");
arena.begin(replayKey, "t", 60_000);
arena.complete(replayKey, "t", done(fp), 3_600_000);
let n = 0;

group("the check, memory arena", () => {
  summary(() => {
    bench("new key: parse + scope + lock (the check; records kept, so a full arena evicts)", () => {
      do_not_optimize(arena.begin(scopedKey(caller, `${parseIdempotencyKey(field)}-${n++}`), newToken(), 60_000));
    });
    bench("new key: parse + scope + lock + release (arena stays the same size)", () => {
      const key = scopedKey(caller, `${parseIdempotencyKey(field)}-${n++}`);
      const token = newToken();
      do_not_optimize(arena.begin(key, token, 60_000));
      arena.release(key, token);
    });
    bench("replay: parse + scope + read + body digest + fingerprint", () => {
      const key = scopedKey(caller, parseIdempotencyKey('"replayed-key"')!);
      const r = arena.begin(key, newToken(), 60_000);
      do_not_optimize(!r.taken && r.record.state === "done" && r.record.fp === fingerprint("POST", "/pay", "", digestBytes(requestBody)));
    });
  });
});

let redisStore: RedisRecordStore | null = null;
if (haveRedis) {
  const client = createRedisClient({ url: redisUrl, command_timeout: 1000 }, "bench");
  while (client.status !== "ready") await Bun.sleep(20);
  redisStore = new RedisRecordStore(client, "bench:");
  await redisStore.begin(replayKey, "t", 60_000);
  await redisStore.complete(replayKey, "t", done(fp), 3_600_000);
  const store = redisStore;
  group("the check, Redis (one round trip each on loopback)", () => {
    summary(() => {
      bench("new key: lock (SET NX PX script) + release", async () => {
        const key = scopedKey(caller, `r-${n++}`);
        const token = newToken();
        do_not_optimize(await store.begin(key, token, 60_000));
        await store.release(key, token);
      });
      bench("new key: lock only", async () => do_not_optimize(await store.begin(scopedKey(caller, `r1-${n++}`), newToken(), 60_000)));
      bench("replay: read the record + fingerprint", async () => {
        const r = await store.begin(replayKey, newToken(), 60_000);
        do_not_optimize(!r.taken && r.record.state === "done" && r.record.fp === fingerprint("POST", "/pay", "", digestBytes(requestBody)));
      });
    });
  });
}

// --- the whole handler ------------------------------------------------------

const canned = cannedClient(() => ({
  status: 201,
  statusText: "Created",
  headers: [["content-type", "application/json"], ["date", "Sun, 22 Nov 2026 22:00:00 GMT"], ["content-length", String(responseBody.length)], ["connection", "keep-alive"]],
  body: null,
  bodyBytes: responseBody,
  contentLength: responseBody.length,
}));
const configText = (route: string, extra = "") => `[server]
listen = "127.0.0.1:0"
access_log = false
${extra}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "pay"
path = "/pay/*"
upstream = "u"
${route}
`;
async function handlerFor(text: string): Promise<ReturnType<typeof localHandler>> {
  const h = localHandler(text, canned);
  await h.snapshot.ready(5000);
  return h;
}
const IDEM = 'idempotency = { ttl = "1h" }';
const plain = await handlerFor(configText(""));
const memory = await handlerFor(configText(IDEM));
const redis = haveRedis ? await handlerFor(configText(IDEM, `[redis]\nurl = "${redisUrl}"\ncommand_timeout = "1s"`)) : null;
const server = benchServer;
const post = (key: string | null) =>
  new Request("http://127.0.0.1:8080/pay/1", {
    method: "POST",
    body: requestBody,
    headers: { host: "127.0.0.1:8080", "content-type": "application/json", "content-length": String(requestBody.length), ...(key === null ? {} : { "idempotency-key": key }) },
  });
async function drain(res: Response | undefined): Promise<void> {
  if (res === undefined || res.status >= 300) throw new Error(`unexpected ${res?.status}`);
  await res.arrayBuffer();
}
// The replayed key: executed once before the run.
await drain(await memory.handle(post('"handler-replay"'), server));
if (redis) await drain(await redis.handle(post('"handler-replay"'), server));

group("whole handler, POST (canned upstream)", () => {
  summary(() => {
    bench("route without idempotency", async () => drain(await plain.handle(post(null), server)));
    bench("idempotency, memory: new key", async () => drain(await memory.handle(post(`"m-${n++}"`), server)));
    bench("idempotency, memory: replay", async () => drain(await memory.handle(post('"handler-replay"'), server)));
    if (redis) {
      bench("idempotency, Redis: new key", async () => drain(await redis.handle(post(`"r-${n++}"`), server)));
      bench("idempotency, Redis: replay", async () => drain(await redis.handle(post('"handler-replay"'), server)));
    }
  });
});

await run();
for (const h of [plain, memory, redis]) h?.snapshot.dispose();
redisProc?.kill();
process.exit(0);
