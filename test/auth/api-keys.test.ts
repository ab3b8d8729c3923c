import { afterAll, describe, expect, test } from "bun:test";
import { allocateAuthShared, createAuthRuntime, queryParam, redactQueryParam, removeQueryParam, RevocationSet, type AuthRuntime } from "../../src/auth/index.ts";
import { createAuthPolicy } from "../../src/policies/auth/policy.ts";
import { ConfigError } from "../../src/errors.ts";
import type { AuthConfig } from "../../src/config/types.ts";
import { consumer, gatewayConfig, requestContext, routeConfig, runPolicy, upstreamHeader, errorBody } from "./helpers.ts";

const KEY = "k_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const OTHER_KEY = "k_live_0000aaaa1111bbbb2222cccc3333dddd";
const runtimes: AuthRuntime[] = [];
afterAll(() => runtimes.forEach((r) => r.close()));

function setup(auth: Partial<AuthConfig> = {}) {
  const config = gatewayConfig({
    auth,
    consumers: [consumer("mobile-app", [KEY], ["user"]), consumer("partner", [OTHER_KEY], ["partner", "user"])],
  });
  const shared = allocateAuthShared(config);
  const rt = createAuthRuntime(config, shared);
  runtimes.push(rt);
  return { rt, shared, policy: createAuthPolicy(routeConfig({ auth: "api_key" }), rt)! };
}

describe("API key store", () => {
  test("a valid key yields its consumer; an invalid one is refused", () => {
    const { rt } = setup();
    const ok = rt.apiKeys.authenticate(KEY);
    if (ok.failed) throw new Error(ok.reason);
    expect(ok.identity).toMatchObject({ via: "api_key", consumer: "mobile-app", subject: null, roles: ["user"], claims: null });
    expect(rt.apiKeys.authenticate(OTHER_KEY)).toMatchObject({ identity: { consumer: "partner" } });
    for (const bad of ["", "k_live", KEY + "x", KEY.slice(0, -1), KEY.toUpperCase(), ` ${KEY}`]) {
      expect(rt.apiKeys.authenticate(bad)).toMatchObject({ failed: true, reason: "invalid API key" });
    }
    expect(rt.apiKeys.size).toBe(2);
  });

  test("keys are held as SHA-256 digests only", () => {
    const { rt } = setup();
    // Walk the store: no string in it equals a configured key.
    const seen: unknown[] = [];
    const walk = (v: unknown, depth: number) => {
      if (depth > 6 || v === null || typeof v !== "object") return seen.push(v);
      if (ArrayBuffer.isView(v)) return;
      for (const x of v instanceof Map ? v.values() : Object.values(v)) walk(x, depth + 1);
    };
    walk(rt.apiKeys, 0);
    expect(seen).not.toContain(KEY);
    expect(seen).not.toContain(OTHER_KEY);
  });

  test("the same key for two consumers, or an empty key, does not load, and the error does not show the key", () => {
    const dup = gatewayConfig({ consumers: [consumer("a", [KEY]), consumer("b", [KEY])] });
    let err: unknown;
    try {
      createAuthRuntime(dup, allocateAuthShared(dup));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('consumers.b.api_keys[0]: the same key is already given to consumer "a"');
    expect((err as Error).message).not.toContain(KEY);
    const empty = gatewayConfig({ consumers: [consumer("a", [""])] });
    expect(() => createAuthRuntime(empty, allocateAuthShared(empty))).toThrow("consumers.a.api_keys[0]: empty key");
  });

  test("a key revoked in config or at run time is refused", () => {
    const { rt, shared } = setup({ revoked_api_keys: [OTHER_KEY] });
    expect(rt.apiKeys.authenticate(OTHER_KEY)).toMatchObject({ failed: true, reason: "API key revoked" });
    const writer = new RevocationSet(shared);
    writer.revoke("api_key", KEY);
    expect(rt.apiKeys.authenticate(KEY)).toMatchObject({ failed: true, reason: "API key revoked" });
    writer.unrevoke("api_key", KEY);
    expect(rt.apiKeys.authenticate(KEY)).toMatchObject({ failed: false });
  });
});

describe("API key routes", () => {
  test("key in the configured header → identity and upstream headers", async () => {
    const { policy } = setup();
    const ctx = requestContext({ headers: { "x-api-key": KEY } });
    expect(await runPolicy(policy, ctx)).toBeUndefined();
    expect(ctx.identity?.consumer).toBe("mobile-app");
    expect(upstreamHeader(ctx, "x-consumer")).toBe("mobile-app");
    expect(upstreamHeader(ctx, "x-user-roles")).toBe("user");
    expect(upstreamHeader(ctx, "x-user-id")).toBeUndefined();
  });

  test("a custom header name is honoured", async () => {
    const { policy } = setup({ api_key_header: "x-gateway-key" });
    expect(await runPolicy(policy, requestContext({ headers: { "x-gateway-key": KEY } }))).toBeUndefined();
    expect((await runPolicy(policy, requestContext({ headers: { "x-api-key": KEY } })))!.status).toBe(401);
  });

  test("missing key → 401 unauthorized with an ApiKey challenge", async () => {
    const { policy } = setup();
    const res = (await runPolicy(policy, requestContext({ requestId: "rid-7" })))!;
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("www-authenticate")).toBe('ApiKey realm="gateway", header="x-api-key"');
    expect(await errorBody(res)).toEqual({ error: "unauthorized", message: "authentication required", request_id: "rid-7" });
  });

  test("wrong key → 401 invalid_api_key, and the key is not in the response", async () => {
    const { policy } = setup();
    const wrong = "k_live_guessed_guessed_guessed_guess";
    const res = (await runPolicy(policy, requestContext({ headers: { "x-api-key": wrong } })))!;
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "invalid_api_key", message: "invalid API key", request_id: "req-1" });
    expect(text).not.toContain(wrong);
    expect([...res.headers.values()].join(" ")).not.toContain(wrong);
  });

  test("a key in the query is ignored unless api_key_query is set", async () => {
    const off = setup().policy;
    const res = (await runPolicy(off, requestContext({ query: `?api_key=${KEY}` })))!;
    expect(res.status).toBe(401);
    expect((await errorBody(res)).error).toBe("unauthorized");

    const on = setup({ api_key_query: "api_key" }).policy;
    const ctx = requestContext({ query: `?a=1&api_key=${KEY}&b=2` });
    expect(await runPolicy(on, ctx)).toBeUndefined();
    expect(ctx.identity?.consumer).toBe("mobile-app");
    const missing = (await runPolicy(on, requestContext({ query: "?a=1" })))!;
    expect(missing.headers.get("www-authenticate")).toBe('ApiKey realm="gateway", header="x-api-key", query="api_key"');
    const bad = (await runPolicy(on, requestContext({ query: "?api_key=nope" })))!;
    expect((await errorBody(bad)).error).toBe("invalid_api_key");
    // The header wins over the query when both are present.
    const both = requestContext({ headers: { "x-api-key": OTHER_KEY }, query: `?api_key=${KEY}` });
    expect(await runPolicy(on, both)).toBeUndefined();
    expect(both.identity?.consumer).toBe("partner");
  });
});

describe("queryParam / redactQueryParam", () => {
  test("finds the first exact parameter and decodes it", () => {
    expect(queryParam("?api_key=abc", "api_key")).toBe("abc");
    expect(queryParam("api_key=abc", "api_key")).toBe("abc");
    expect(queryParam("?x=1&api_key=a%2Bb+c&api_key=second", "api_key")).toBe("a+b c");
    expect(queryParam("?api_key_2=x&xapi_key=y", "api_key")).toBeNull();
    expect(queryParam("?api_key", "api_key")).toBe("");
    expect(queryParam("?api_key=", "api_key")).toBe("");
    expect(queryParam("", "api_key")).toBeNull();
    expect(queryParam("?", "api_key")).toBeNull();
    expect(queryParam("?api_key=%E0%A4%A", "api_key")).toBeNull(); // bad percent-encoding
  });

  test("redacts every value of the parameter and nothing else", () => {
    expect(redactQueryParam(`?a=1&api_key=${KEY}&b=api_key`, "api_key")).toBe("?a=1&api_key=REDACTED&b=api_key");
    expect(redactQueryParam("api_key=x&api_key", "api_key")).toBe("api_key=REDACTED&api_key=REDACTED");
    expect(redactQueryParam("?a=1", "api_key")).toBe("?a=1");
  });

  test("removeQueryParam drops every copy of the parameter, keeps the rest in order", () => {
    expect(removeQueryParam(`?a=1&api_key=${KEY}&b=api_key`, "api_key")).toBe("?a=1&b=api_key");
    expect(removeQueryParam("?api_key=x&api_key", "api_key")).toBe("");
    expect(removeQueryParam("?api_key_2=x&xapi_key=y", "api_key")).toBe("?api_key_2=x&xapi_key=y");
    expect(removeQueryParam("?a=1", "api_key")).toBe("?a=1");
    expect(removeQueryParam("", "api_key")).toBe("");
  });
});
