import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as jose from "jose";
import { allocateAuthShared, RevocationSet, startRevocationSync } from "../../src/auth/index.ts";
import { allocateRevocationBuffer, digestFromHex, digestHi, digestLo, sha256 } from "../../src/auth/revocation.ts";
import { consumer, gatewayConfig, ISSUER, issuerConfig } from "./helpers.ts";
import { SECRET, signJwt } from "./keys.ts";

describe("shared revocation set", () => {
  test("add, has, remove, per kind", () => {
    const set = new RevocationSet(allocateRevocationBuffer(64));
    expect(set.revoke("jti", "a")).toBe(true);
    expect(set.revoke("jti", "a")).toBe(false);
    expect(set.isRevoked("jti", "a")).toBe(true);
    expect(set.isRevoked("api_key", "a")).toBe(false); // kinds are separate tables
    expect(set.isRevoked("jti", "b")).toBe(false);
    expect(set.size(0)).toBe(1);
    const v = set.version();
    expect(set.unrevoke("jti", "a")).toBe(true);
    expect(set.unrevoke("jti", "a")).toBe(false);
    expect(set.isRevoked("jti", "a")).toBe(false);
    expect(set.version()).toBeGreaterThan(v);
  });

  test("removal leaves the rest of a probe chain reachable", () => {
    const set = new RevocationSet(allocateRevocationBuffer(16));
    // Same low bits → same home slot: a chain of three.
    set.add(1, 11, 0x10);
    set.add(1, 22, 0x20);
    set.add(1, 33, 0x30);
    set.remove(1, 22, 0x20);
    expect(set.has(1, 11, 0x10)).toBe(true);
    expect(set.has(1, 33, 0x30)).toBe(true);
    expect(set.has(1, 22, 0x20)).toBe(false);
    set.add(1, 44, 0x40); // reuses the tombstone
    expect(set.entries(1).sort()).toEqual(["11:16", "33:48", "44:64"]);
  });

  test("matches a plain Set over a long random churn (tombstone rebuilds included)", () => {
    const set = new RevocationSet(allocateRevocationBuffer(32)); // at most 24 live
    const model = new Set<string>();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      const value = `v${rand() % 40}`;
      if (rand() % 2 === 0 && model.size < 24) {
        set.revoke("jti", value);
        model.add(value);
      } else {
        set.unrevoke("jti", value);
        model.delete(value);
      }
      if (i % 97 === 0) for (let k = 0; k < 40; k++) expect(set.isRevoked("jti", `v${k}`)).toBe(model.has(`v${k}`));
    }
    expect(set.size(0)).toBe(model.size);
  });

  test("a full table refuses more, loudly", () => {
    const set = new RevocationSet(allocateRevocationBuffer(16));
    for (let i = 0; i < 12; i++) set.revoke("jti", `j${i}`);
    expect(() => set.revoke("jti", "one-too-many")).toThrow(RangeError);
    expect(set.isRevoked("jti", "j11")).toBe(true);
  });

  test("digests are the SHA-256 prefix, hex form agrees, markers are avoided", () => {
    const d = sha256("key-1");
    const hex = Buffer.from(d).toString("hex");
    expect(digestFromHex(hex)).toEqual([digestHi(d), digestLo(d)]);
    expect(digestFromHex("xyz")).toBeNull();
    expect(digestLo(new Uint8Array(32))).toBe(2); // all-zero digest would read as "empty"
    expect(() => allocateRevocationBuffer(100)).toThrow(RangeError);
    expect(() => new RevocationSet(new SharedArrayBuffer(1024))).toThrow("bad magic");
  });

  test("allocateAuthShared seeds the config's revoked jtis and keys", () => {
    const config = gatewayConfig({ auth: { revoked_jtis: ["j1", "j2"], revoked_api_keys: ["k1"] } });
    const set = new RevocationSet(allocateAuthShared(config));
    expect(set.isRevoked("jti", "j1") && set.isRevoked("jti", "j2") && set.isRevoked("api_key", "k1")).toBe(true);
    expect(set.isRevoked("api_key", "j1")).toBe(false);
  });
});

describe("controller without Redis", () => {
  test("revoke/unrevoke apply to the buffer; applyConfig adds a reloaded config's entries; empty values are refused", async () => {
    const config = gatewayConfig({});
    const shared = allocateAuthShared(config);
    const set = new RevocationSet(shared);
    const control = startRevocationSync(config, shared);
    await control.ready;
    expect(await control.revoke("jti", "j")).toBe(true);
    expect(set.isRevoked("jti", "j")).toBe(true);
    expect(await control.unrevoke("jti", "j")).toBe(true);
    expect(set.isRevoked("jti", "j")).toBe(false);
    expect(await control.applyConfig(gatewayConfig({ auth: { revoked_jtis: ["reloaded"], revoked_api_keys: ["key-x"] } }))).toBe(true);
    expect(set.isRevoked("jti", "reloaded") && set.isRevoked("api_key", "key-x")).toBe(true);
    expect(() => control.revoke("jti", "")).toThrow(TypeError);
    expect(control.pending).toBe(0);
    await control.stop();
  });
});

describe("across worker threads", () => {
  const KEY = "k_worker_worker_worker_worker_wo";
  const config = gatewayConfig({ jwt: [issuerConfig({ secret: SECRET })], consumers: [consumer("app", [KEY], ["user"])] });
  const shared = allocateAuthShared(config);
  const workers: Worker[] = [];
  let nextId = 0;
  const call = (w: Worker, msg: object): Promise<any> =>
    new Promise((resolve) => {
      const id = ++nextId;
      const onMessage = (e: MessageEvent) => {
        if (e.data.id !== id) return;
        w.removeEventListener("message", onMessage);
        resolve(e.data);
      };
      w.addEventListener("message", onMessage);
      w.postMessage({ ...msg, id });
    });

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) workers.push(new Worker(new URL("./fixtures/auth-worker.ts", import.meta.url).href));
    await Promise.all(workers.map((w) => call(w, { type: "init", config, shared })));
  });
  afterAll(() => workers.forEach((w) => w.terminate()));

  test("revoking a jti and an API key on the main thread takes effect in both workers at once, cached tokens included", async () => {
    const claims: jose.JWTPayload = { iss: ISSUER, aud: "api", sub: "u", jti: "jti-42", exp: Math.floor(Date.now() / 1000) + 600 };
    const token = await signJwt(claims, SECRET, { alg: "HS256" });
    const all = (msg: object) => Promise.all(workers.map((w) => call(w, { type: "request", ...msg })));

    // Twice each: the second answer comes from each worker's token cache.
    for (let i = 0; i < 2; i++) {
      expect((await all({ token })).map((r) => r.status)).toEqual([200, 200]);
      expect((await all({ apiKey: KEY })).map((r) => r.consumer)).toEqual(["app", "app"]);
    }

    const control = startRevocationSync(config, shared);
    await control.ready;
    expect(await control.revoke("jti", "jti-42")).toBe(true);
    expect(await control.revoke("api_key", KEY)).toBe(true);
    // No message was sent to the workers: they see the shared memory.
    expect(await all({ token })).toEqual([
      { id: expect.any(Number), status: 401, message: "token revoked", consumer: null },
      { id: expect.any(Number), status: 401, message: "token revoked", consumer: null },
    ]);
    expect((await all({ apiKey: KEY })).map((r) => r.message)).toEqual(["API key revoked", "API key revoked"]);

    await control.unrevoke("jti", "jti-42");
    await control.unrevoke("api_key", KEY);
    expect((await all({ token })).map((r) => r.status)).toEqual([200, 200]);
    expect((await all({ apiKey: KEY })).map((r) => r.status)).toEqual([200, 200]);
    await control.stop();
  });

  test("readers never miss a present entry while the main thread churns the table (seqlock)", async () => {
    // A small table so tombstones force rebuilds (the riskiest write) many times during the probe.
    const small = allocateRevocationBuffer(256);
    const set = new RevocationSet(small);
    const always: [number, number][] = [];
    for (let i = 0; i < 8; i++) {
      const d = sha256(`always-${i}`);
      set.add(1, digestHi(d), digestLo(d));
      always.push([digestHi(d), digestLo(d)]);
    }
    const probes = workers.map((w) => call(w, { type: "probe", shared: small, always, ms: 400 }));
    const until = performance.now() + 400;
    let ops = 0;
    while (performance.now() < until) {
      for (let k = 0; k < 64; k++) set.revoke("api_key", `churn-${ops}-${k}`);
      for (let k = 0; k < 64; k++) set.unrevoke("api_key", `churn-${ops}-${k}`);
      ops++;
      if (ops % 8 === 0) await Bun.sleep(0);
    }
    const results = await Promise.all(probes);
    const rebuildsAtLeast = Math.floor((ops * 64) / (256 * 0.75));
    for (const r of results) {
      expect(r.reads).toBeGreaterThan(1000);
      expect(r.misses).toBe(0);
    }
    expect(rebuildsAtLeast).toBeGreaterThan(10);
  });
});
