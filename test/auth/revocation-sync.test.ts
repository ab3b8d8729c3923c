import { until } from "../helpers/wait.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import {
  allocateAuthShared,
  createAuthRuntime,
  startRevocationSync,
  type AuthRuntime,
  type RevocationController,
} from "../../src/auth/index.ts";
import type { GatewayConfig } from "../../src/config/types.ts";
import { startRedis, type RedisProcess } from "../helpers/redis.ts";
import { consumer, gatewayConfig, ISSUER, issuerConfig } from "./helpers.ts";
import { SECRET, signJwt } from "./keys.ts";

const KEY = "k_sync_sync_sync_sync_sync_sync_s";
const PREFIX = "gwtest:";

interface Instance {
  config: GatewayConfig;
  runtime: AuthRuntime;
  control: RevocationController;
}

let redis: RedisProcess;
let raw: Redis;
const instances: Instance[] = [];

function instance(revoked_jtis: string[] = []): Instance {
  const config = gatewayConfig({
    jwt: [issuerConfig({ secret: SECRET })],
    consumers: [consumer("app", [KEY])],
    auth: { revoked_jtis },
    redis: { url: redis.url, key_prefix: PREFIX, command_timeout: 300 },
  });
  const shared = allocateAuthShared(config);
  const inst = { config, runtime: createAuthRuntime(config, shared), control: startRevocationSync(config, shared, { pollInterval: 200 }) };
  instances.push(inst);
  return inst;
}


const tokenFor = (jti: string) =>
  signJwt({ iss: ISSUER, aud: "api", sub: "u", jti, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET, { alg: "HS256" });

async function status(inst: Instance, token: string): Promise<string> {
  const r = await inst.runtime.jwt!.authenticate(token);
  return r.failed ? r.reason : "ok";
}
const keyStatus = (inst: Instance) => {
  const r = inst.runtime.apiKeys.authenticate(KEY);
  return r.failed ? r.reason : "ok";
};

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  raw.on("error", () => {});
  await raw.connect();
});
afterAll(async () => {
  for (const i of instances) {
    await i.control.stop();
    i.runtime.close();
  }
  raw.disconnect();
  await redis.stop();
});

describe("Redis-backed revocation", () => {
  let a: Instance;
  let b: Instance;

  test("two instances converge on revoke and unrevoke, API keys stored hashed", async () => {
    a = instance(["seeded-in-a"]);
    b = instance();
    await Promise.all([a.control.ready, b.control.ready]);

    const t1 = await tokenFor("jti-1");
    expect(await status(a, t1)).toBe("ok");
    expect(await status(b, t1)).toBe("ok"); // now cached in b

    expect(await a.control.revoke("jti", "jti-1")).toBe(true);
    expect(await status(a, t1)).toBe("token revoked"); // local: immediate
    await until("b refuses the revoked jti", async () => (await status(b, t1)) === "token revoked");

    expect(await b.control.revoke("api_key", KEY)).toBe(true);
    await until("a refuses the revoked key", () => keyStatus(a) === "API key revoked");
    const members = await raw.smembers(`${PREFIX}revoked:key`);
    expect(members).toHaveLength(1);
    expect(members[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(members[0]).not.toContain(KEY);

    // a's config entry reached Redis and b.
    expect(await raw.sismember(`${PREFIX}revoked:jti`, "seeded-in-a")).toBe(1);
    await until("b refuses a's config-seeded jti", async () => (await status(b, await tokenFor("seeded-in-a"))) === "token revoked");

    expect(await b.control.unrevoke("jti", "jti-1")).toBe(true);
    expect(await b.control.unrevoke("api_key", KEY)).toBe(true);
    await until("a accepts again", async () => (await status(a, t1)) === "ok" && keyStatus(a) === "ok");
  });

  test("a change written to Redis without an announcement still arrives by polling", async () => {
    await raw.sadd(`${PREFIX}revoked:jti`, "quiet-jti");
    const t = await tokenFor("quiet-jti");
    await until("both refuse", async () => (await status(a, t)) === "token revoked" && (await status(b, t)) === "token revoked");
    await raw.srem(`${PREFIX}revoked:jti`, "quiet-jti");
    await until("both accept", async () => (await status(a, t)) === "ok" && (await status(b, t)) === "ok");
  });

  test("Redis killed: requests keep being served with the last known set; changes queue and converge after restart", async () => {
    const revokedBefore = await tokenFor("before-outage");
    await a.control.revoke("jti", "before-outage");
    await until("b has it", async () => (await status(b, revokedBefore)) === "token revoked");

    await redis.kill();
    const fresh = await tokenFor("fresh");
    // Both instances keep deciding, synchronously, from shared memory.
    for (const inst of [a, b]) {
      expect(await status(inst, fresh)).toBe("ok");
      expect(await status(inst, revokedBefore)).toBe("token revoked");
      expect(keyStatus(inst)).toBe("ok");
    }
    // A revoke during the outage applies locally at once and is queued.
    const started = Date.now();
    expect(await a.control.revoke("jti", "during-outage")).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(a.control.pending).toBe(1);
    const during = await tokenFor("during-outage");
    expect(await status(a, during)).toBe("token revoked");
    expect(await status(b, during)).toBe("ok");
    expect(await a.control.sync()).toBe(false);
    expect(await status(b, revokedBefore)).toBe("token revoked"); // polling failed; b kept its set

    // Redis comes back empty (no persistence): nobody un-revokes; a's queued change reaches b.
    await redis.restart();
    await until("a flushed its queue", () => a.control.pending === 0, 10_000);
    await until("b refuses the outage revocation", async () => (await status(b, during)) === "token revoked", 10_000);
    expect(await status(a, revokedBefore)).toBe("token revoked");
    expect(await status(b, revokedBefore)).toBe("token revoked");
    expect(await raw.sismember(`${PREFIX}revoked:jti`, "before-outage")).toBe(1);
    expect(await raw.sismember(`${PREFIX}revoked:jti`, "during-outage")).toBe(1);
  }, 30_000);
});
