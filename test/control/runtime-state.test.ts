import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redactConfig } from "../../src/control/admin-config.ts";
import { emptyState, mergeRuntimeState, parseState } from "../../src/control/runtime-state.ts";
import { fileStateStore } from "../../src/control/state-store.ts";
import { parseConfig } from "../../src/config/load.ts";

const digest = (k: string) => new Bun.CryptoHasher("sha256").update(k).digest("hex");

describe("mergeRuntimeState", () => {
  const raw = { consumers: [{ name: "file", api_keys: ["k1"] }], upstreams: [{ name: "u", targets: [{ url: "http://127.0.0.1:1" }] }] };

  test("adds runtime consumers and targets; the file wins on names and URLs", () => {
    const state = emptyState();
    state.consumers.push({ name: "file", roles: ["x"], rate_limits: [], keys: [{ id: "a", digest: digest("evil"), created: "" }] });
    state.consumers.push({ name: "rt", roles: ["r"], rate_limits: [], keys: [{ id: "b", digest: digest("k2"), created: "" }] });
    state.targets.u = [{ url: "http://127.0.0.1:1" }, { url: "http://127.0.0.1:2", weight: 3 }];
    state.targets.gone = [{ url: "http://127.0.0.1:3" }];
    const { raw: merged, shadowed } = mergeRuntimeState(raw, state);
    expect(shadowed).toEqual(["file"]);
    expect(merged.consumers).toEqual([raw.consumers[0], { name: "rt", roles: ["r"], rate_limits: [], api_key_digests: [digest("k2")] }]);
    expect((merged.upstreams as { targets: unknown[] }[])[0]!.targets).toEqual([{ url: "http://127.0.0.1:1" }, { url: "http://127.0.0.1:2", weight: 3 }]);
    // The input is not modified.
    expect(raw.consumers).toHaveLength(1);
    expect(raw.upstreams[0]!.targets).toHaveLength(1);
  });

  test("a digest-only consumer authenticates through the normal config path", () => {
    const config = parseConfig(`[[consumers]]\nname = "d"\napi_key_digests = ["${digest("secret-key").toUpperCase()}"]\n`, "/tmp/x.toml", {});
    expect(config.consumers[0]!.api_key_digests).toEqual([digest("secret-key")]);
    expect(() => parseConfig(`[[consumers]]\nname = "d"\napi_key_digests = ["abc"]\n`, "/tmp/x.toml", {})).toThrow(
      "consumers[0].api_key_digests[0]: expected a SHA-256 digest (64 hex digits)",
    );
    expect(() => parseConfig(`[[consumers]]\nname = "a"\napi_keys = ["same"]\n[[consumers]]\nname = "b"\napi_key_digests = ["${digest("same")}"]\n`, "/tmp/x.toml", {})).toThrow(
      'the same key is already given to consumer "a"',
    );
  });
});

describe("parseState", () => {
  test("refuses what is not a state document", () => {
    expect(() => parseState("{")).toThrow();
    expect(() => parseState("[]")).toThrow("not a gateway state document");
    expect(() => parseState('{"version":2}')).toThrow("not a gateway state document");
    expect(() => parseState('{"version":1,"consumers":[{"roles":[]}]}')).toThrow("consumer without a name");
  });
  test("drops malformed keys rather than trusting them", () => {
    const s = parseState(JSON.stringify({ version: 1, consumers: [{ name: "c", keys: [{ id: "1", digest: "nothex" }, { id: "2", digest: digest("k") }] }] }));
    expect(s.consumers[0]!.keys.map((k) => k.id)).toEqual(["2"]);
  });
});

describe("file state store", () => {
  test("writes atomically (no temporary file left) with mode 0600, and reads back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-state-"));
    const path = join(dir, "state.json");
    const store = fileStateStore(path);
    expect(await store.load()).toEqual(emptyState());
    const s = emptyState();
    s.consumers.push({ name: "c", roles: [], rate_limits: [], keys: [] });
    await store.save(s);
    expect(await store.load()).toEqual(s);
    expect(readdirSync(dir)).toEqual(["state.json"]);
    const { statSync } = await import("node:fs");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, "garbage");
    await expect(store.load()).rejects.toThrow();
    expect(readFileSync(path, "utf8")).toBe("garbage");
  });
});

describe("redactConfig", () => {
  test("hides credentials, keeps the rest", () => {
    const out = redactConfig({
      admin: { token: "t0k", listen: "x" },
      redis: { url: "redis://user:pw@h:6379/0" },
      jwt: [{ secret: "s", issuer: "i" }],
      consumers: [{ name: "c", api_keys: ["k1", "k2"], rate_limits: [{ key: ["consumer"] }] }],
      routes: [{ request: { headers: { set: { Authorization: "Bearer x", "x-env": "prod" } } } }],
    }) as Record<string, any>;
    expect(out.admin).toEqual({ token: "REDACTED", listen: "x" });
    expect(out.redis.url).toBe("redis://***@h:6379/0");
    expect(out.jwt[0]).toEqual({ secret: "REDACTED", issuer: "i" });
    expect(out.consumers[0]).toEqual({ name: "c", api_keys: ["REDACTED", "REDACTED"], rate_limits: [{ key: ["consumer"] }] });
    expect(out.routes[0].request.headers.set).toEqual({ Authorization: "REDACTED", "x-env": "prod" });
  });

  test("a string under any credential-sounding name (plugin configs, headers) is hidden; names, sizes and switches are not", () => {
    const out = redactConfig({
      redis: { url: "redis+sentinel://u:p%40ss@h1:1,h2:2/m" },
      plugins: [{ name: "t", config: { api_token: "s3cr3t", upstream_password: "x", clientSecret: "y", keys: { private_key: "pem" }, header: "x-tenant", tokens: ["a", "b"] } }],
      routes: [{ request: { headers: { set: { "x-auth-token": "t", "x-api-key": "k", "x-env": "prod" } } } }],
      auth: { api_key_header: "x-api-key", api_key_query: "api_key", max_token_size: 8192, strip_api_key: true },
    }) as Record<string, any>;
    expect(out.redis.url).toBe("redis+sentinel://***@h1:1,h2:2/m");
    expect(out.plugins[0].config).toEqual({ api_token: "REDACTED", upstream_password: "REDACTED", clientSecret: "REDACTED", keys: { private_key: "REDACTED" }, header: "x-tenant", tokens: ["REDACTED", "REDACTED"] });
    expect(out.routes[0].request.headers.set).toEqual({ "x-auth-token": "REDACTED", "x-api-key": "REDACTED", "x-env": "prod" });
    expect(out.auth).toEqual({ api_key_header: "x-api-key", api_key_query: "api_key", max_token_size: 8192, strip_api_key: true });
  });
});
