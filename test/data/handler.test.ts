/**
 * The pipeline's contract (src/policies/types.ts), in-process: the real
 * handler and snapshot with recorded test policies in the recipe and a
 * canned upstream client.
 */
import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/errors.ts";
import { onCleanup } from "../../src/policies/context.ts";
import { reject } from "../../src/policies/respond.ts";
import { definePolicy, replaceBody, type Policy, type PolicyFactory } from "../../src/policies/types.ts";
import { inProcessGateway, withRoutes } from "../helpers/handler.ts";

const ROUTE = withRoutes(`
[[routes]]
name = "api"
path = "/api/*"
methods = ["GET", "POST"]
upstream = "u"
`);

/** A recipe entry whose policy records every hook call in `calls` and can be told to answer or fail. */
function recorder(name: string, calls: string[], over: Partial<Policy> = {}): PolicyFactory<void> {
  return definePolicy<void>({
    name,
    create: () => ({
      name,
      onRequest: () => void calls.push(`${name}.request`),
      onUpstreamRequest: () => void calls.push(`${name}.upstream`),
      onResponse: () => void calls.push(`${name}.response`),
      onError: () => void calls.push(`${name}.error`),
      onLog: () => void calls.push(`${name}.log`),
      ...over,
    }),
    preRoute: () => ({
      name,
      onRequest: () => void calls.push(`${name}.request`),
      onResponse: () => void calls.push(`${name}.response`),
      onLog: () => void calls.push(`${name}.log`),
      ...over,
    }),
  });
}

describe("hook order", () => {
  test("request hooks in recipe order, response and log hooks in reverse", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, { recipe: ["a", "b", "c"].map((n) => recorder(n, calls)) });
    const res = await gw.handle("/api/x");
    expect(res.status).toBe(200);
    expect(calls).toEqual([
      "a.request", "b.request", "c.request",
      "a.upstream", "b.upstream", "c.upstream",
      "c.response", "b.response", "a.response",
      "c.log", "b.log", "a.log",
    ]);
    expect(gw.client.sent).toHaveLength(1);
  });

  test("a policy that answers ends the request side; only the policies before it see the response", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, {
      recipe: [
        recorder("a", calls),
        recorder("b", calls, {
          onRequest: (ctx) => {
            calls.push("b.request");
            return reject(ctx, 403, "forbidden", "no");
          },
        }),
        recorder("c", calls),
      ],
    });
    const res = await gw.handle("/api/x", { headers: { "x-request-id": "rid-answer" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-request-id")).toBe("rid-answer");
    expect(await res.json()).toEqual({ error: "forbidden", message: "no", request_id: "rid-answer" });
    // b answered: a's response hook runs, b's own and c's do not; b and a log (b saw the request).
    expect(calls).toEqual(["a.request", "b.request", "a.response", "b.log", "a.log"]);
    expect(gw.client.sent).toHaveLength(0);
    expect(gw.log.at(-1)).toMatchObject({ status: 403, route: "api", request_id: "rid-answer" });
  });

  test("an asynchronous onRequest is awaited and the chain goes on", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, {
      recipe: [
        recorder("a", calls, { onRequest: () => Bun.sleep(5).then(() => void calls.push("a.request")) }),
        recorder("b", calls),
      ],
    });
    expect((await gw.handle("/api/x")).status).toBe(200);
    expect(calls.slice(0, 2)).toEqual(["a.request", "b.request"]);
  });

  test("a response hook may replace the response; earlier policies see the replacement", async () => {
    const seen: number[] = [];
    const gw = inProcessGateway(ROUTE, {
      recipe: [
        definePolicy<void>({ name: "outer", create: () => ({ name: "outer", onResponse: (_c, res) => void seen.push(res.status) }) }),
        definePolicy<void>({ name: "inner", create: () => ({ name: "inner", onResponse: () => new Response("replaced", { status: 201 }) }) }),
      ],
    });
    const res = await gw.handle("/api/x");
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("replaced");
    expect(seen).toEqual([201]);
  });

  test("a hook that throws is a 500 JSON error with the request id, and the next request is fine", async () => {
    let fail = true;
    const gw = inProcessGateway(ROUTE, {
      recipe: [
        definePolicy<void>({
          name: "boom",
          create: () => ({
            name: "boom",
            onRequest: (): undefined => {
              if (fail) throw new Error("boom");
            },
          }),
        }),
      ],
    });
    const res = await gw.handle("/api/x", { headers: { "x-request-id": "rid-boom" } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal", message: "internal error", request_id: "rid-boom" });
    expect(gw.log.at(-1)).toMatchObject({ status: 500, error: "internal: boom" });
    fail = false;
    expect((await gw.handle("/api/x")).status).toBe(200);
  });
});

describe("onUpstreamRequest", () => {
  test("edits path, query, headers and body of the request that goes upstream", async () => {
    const gw = inProcessGateway(ROUTE, {
      recipe: [
        definePolicy<void>({
          name: "edit",
          create: () => ({
            name: "edit",
            onUpstreamRequest(_ctx, draft) {
              draft.path = "/v2" + draft.path;
              draft.query = "?page=2";
              draft.setHeader("X-Env", "prod");
              draft.appendHeader("accept", "text/plain");
              draft.removeHeader("x-debug");
              expect(new TextDecoder().decode(draft.body as Uint8Array)).toBe("hello");
              draft.body = new TextEncoder().encode("hello, world");
            },
          }),
        }),
      ],
    });
    const res = await gw.handle("/api/x?page=1", { method: "POST", body: "hello", headers: { accept: "application/json", "x-debug": "1", "content-length": "5" } });
    expect(res.status).toBe(200);
    const { head, body } = gw.client.sent[0]!;
    expect(head.startsWith("POST /v2/api/x?page=2 HTTP/1.1\r\n")).toBe(true);
    expect(head).toContain("x-env: prod\r\n");
    expect(head).toContain("accept: application/json, text/plain\r\n");
    expect(head).not.toContain("x-debug");
    expect(head).toContain("content-length: 12\r\n");
    expect(new TextDecoder().decode(body as Uint8Array)).toBe("hello, world");
  });

  test("a header value with CR or LF never reaches the upstream: 400", async () => {
    const gw = inProcessGateway(ROUTE, {
      recipe: [definePolicy<void>({ name: "bad", create: () => ({ name: "bad", onUpstreamRequest: (_c, d) => d.setHeader("x-a", "1\r\nx-b: 2") }) })],
    });
    const res = await gw.handle("/api/x");
    expect(res.status).toBe(400);
    expect(gw.client.sent).toHaveLength(0);
  });

  test("strip_prefix and credential stripping are onUpstreamRequest hooks of their policies", async () => {
    const gw = inProcessGateway(
      withRoutes(
        `
[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
strip_prefix = "/api"
`,
        `[auth]\nstrip_authorization = true`,
      ),
    );
    const route = gw.state.snapshot.router.find("GET", "gw.test", "/api/x")!.value!;
    expect(route.chain.policies.slice(route.chain.preRoute).map((p) => p.name)).toEqual(["credentials", "strip_prefix"]);
    await gw.handle("/api/users/1", { headers: { authorization: "Bearer abc" } });
    await gw.handle("/api");
    expect(gw.client.sent[0]!.head.startsWith("GET /users/1 HTTP/1.1")).toBe(true);
    expect(gw.client.sent[0]!.head).not.toContain("authorization");
    expect(gw.client.sent[1]!.head.startsWith("GET / HTTP/1.1")).toBe(true);
  });

  test("a route that uses no policy compiles an empty chain (the pre-route stage's metrics and tracing hooks alone; no upstream hook, so no draft)", () => {
    const gw = inProcessGateway(ROUTE);
    const chain = gw.state.snapshot.router.find("GET", "gw.test", "/api/x")!.value!.chain;
    expect(chain.policies.map((p) => p.name)).toEqual(["metrics", "tracing"]);
    expect(chain.policies.slice(chain.preRoute)).toHaveLength(0);
    expect([chain.request, chain.upstream, chain.response, chain.error, chain.log].map((l) => l.length)).toEqual([0, 0, 1, 0, 2]);
  });
});

describe("onError", () => {
  test("may answer instead of the JSON error; only the response hooks before it run", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, {
      recipe: [
        recorder("a", calls),
        recorder("b", calls, {
          onError: (_ctx, err) => {
            calls.push(`b.error:${err.kind}`);
            return new Response("stale copy", { status: 200 });
          },
        }),
        recorder("c", calls),
      ],
    });
    gw.client.answer = { error: new GatewayError("upstream_unreachable", 502, "upstream connection failed", { source: "upstream" }) };
    const res = await gw.handle("/api/x");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("stale copy");
    expect(res.headers.get("x-request-id")).not.toBeNull();
    expect(calls.slice(6)).toEqual(["c.error", "b.error:upstream_unreachable", "a.response", "c.log", "b.log", "a.log"]);
  });

  test("without an answer the failure is the JSON error", async () => {
    const gw = inProcessGateway(ROUTE);
    gw.client.answer = { error: new GatewayError("upstream_timeout", 504, "upstream timed out", { source: "upstream" }) };
    const res = await gw.handle("/api/x");
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: string }).error).toBe("upstream_timeout");
  });
});

describe("buffered response bodies", () => {
  const streamOf = (...parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
  function bufferer(cap: number, seen: (string | null)[]): PolicyFactory<void> {
    return definePolicy<void>({
      name: "buf",
      create: () => ({
        name: "buf",
        bufferResponse: cap,
        onResponse: (_c, res, body) => {
          seen.push(body === null ? null : new TextDecoder().decode(body));
          if (body !== null) return replaceBody(res, new TextEncoder().encode(new TextDecoder().decode(body).toUpperCase()));
        },
      }),
    });
  }

  test("a streamed body within the cap reaches the hook as bytes, and a replaced body goes out", async () => {
    const seen: (string | null)[] = [];
    const gw = inProcessGateway(ROUTE, { recipe: [bufferer(1024, seen)] });
    gw.client.answer = () => ({ body: streamOf("hello ", "world") });
    const res = await gw.handle("/api/x");
    expect(seen).toEqual(["hello world"]);
    expect(await res.text()).toBe("HELLO WORLD");
  });

  test("bytes that came with the head are seen without a read", async () => {
    const seen: (string | null)[] = [];
    const gw = inProcessGateway(ROUTE, { recipe: [bufferer(1024, seen)] });
    gw.client.answer = { body: "in hand" };
    expect(await (await gw.handle("/api/x")).text()).toBe("IN HAND");
    expect(seen).toEqual(["in hand"]);
  });

  test("a body over the cap reaches the hook as null and streams through whole", async () => {
    const seen: (string | null)[] = [];
    const gw = inProcessGateway(ROUTE, { recipe: [bufferer(8, seen)] });
    gw.client.answer = () => ({ body: streamOf("0123456", "789abc", "def") });
    const res = await gw.handle("/api/x");
    expect(seen).toEqual([null]);
    expect(await res.text()).toBe("0123456789abcdef");
  });
});

describe("cleanups", () => {
  function cleanupCounter(count: { n: number }): PolicyFactory<void> {
    return definePolicy<void>({ name: "slot", create: () => ({ name: "slot", onRequest: (ctx) => void onCleanup(ctx, () => count.n++) }) });
  }

  test("run exactly once when the body is in hand", async () => {
    const count = { n: 0 };
    const gw = inProcessGateway(ROUTE, { recipe: [cleanupCounter(count)] });
    const res = await gw.handle("/api/x");
    expect(count.n).toBe(1);
    await res.text();
    expect(count.n).toBe(1);
  });

  test("run exactly once, after the last byte, when the body streams", async () => {
    const count = { n: 0 };
    const gw = inProcessGateway(ROUTE, { recipe: [cleanupCounter(count)] });
    let push!: ReadableStreamDefaultController<Uint8Array>;
    gw.client.answer = () => ({ body: new ReadableStream<Uint8Array>({ start: (c) => void (push = c) }) });
    const res = await gw.handle("/api/x");
    expect(count.n).toBe(0);
    push.enqueue(new TextEncoder().encode("part"));
    push.close();
    expect(await res.text()).toBe("part");
    expect(count.n).toBe(1);
  });

  test("run exactly once when the client cancels a streamed body", async () => {
    const count = { n: 0 };
    const gw = inProcessGateway(ROUTE, { recipe: [cleanupCounter(count)] });
    gw.client.answer = () => ({ body: new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(16)) }) });
    const res = await gw.handle("/api/x");
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(count.n).toBe(1);
  });

  test("run exactly once when a later policy answers", async () => {
    const count = { n: 0 };
    const gw = inProcessGateway(ROUTE, {
      recipe: [cleanupCounter(count), definePolicy<void>({ name: "deny", create: () => ({ name: "deny", onRequest: (ctx) => reject(ctx, 429, "rate_limited", "slow down") }) })],
    });
    expect((await gw.handle("/api/x")).status).toBe(429);
    expect(count.n).toBe(1);
  });
});

describe("the pre-route stage", () => {
  test("runs for 404, 405 and liveness answers, which are logged (liveness excepted)", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, { preRoute: [recorder("edge", calls)] });
    const missing = await gw.handle("/nothing", { headers: { "x-request-id": "rid-404" } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found", request_id: "rid-404" });
    expect(calls.splice(0)).toEqual(["edge.request", "edge.response", "edge.log"]);
    const wrong = await gw.handle("/api/x", { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(calls.splice(0)).toEqual(["edge.request", "edge.response", "edge.log"]);
    expect((await gw.handle("/__health")).status).toBe(200);
    expect(calls.splice(0)).toEqual(["edge.request", "edge.response", "edge.log"]);
    expect(gw.log.map((l) => [l.status, l.route])).toEqual([[404, null], [405, null]]);
  });

  test("runs before the route's policies and sees their response last", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, { preRoute: [recorder("edge", calls)], recipe: [recorder("a", calls)] });
    await gw.handle("/api/x");
    expect(calls).toEqual(["edge.request", "a.request", "a.upstream", "a.response", "edge.response", "a.log", "edge.log"]);
  });

  test("may answer before routing (a CORS preflight to a GET-only route, say): no 405, no route hook", async () => {
    const calls: string[] = [];
    const preflight = recorder("cors", calls, {
      onRequest: (ctx) => (ctx.method === "OPTIONS" ? new Response(null, { status: 204 }) : undefined),
    });
    const gw = inProcessGateway(ROUTE, { preRoute: [preflight], recipe: [recorder("a", calls)] });
    const res = await gw.handle("/api/x", { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("x-request-id")).not.toBeNull();
    expect(calls).toEqual(["cors.log"]);
    expect(gw.log.at(-1)).toMatchObject({ status: 204, route: null });
  });

  test("the gateway's own refusals (bad Host, CONNECT) pass it too and are logged", async () => {
    const calls: string[] = [];
    const gw = inProcessGateway(ROUTE, { preRoute: [recorder("edge", calls)] });
    const res = await gw.handle("/api/x", { method: "CONNECT" });
    expect(res.status).toBe(501);
    expect(calls).toEqual(["edge.request", "edge.response", "edge.log"]);
    expect(gw.log.at(-1)).toMatchObject({ status: 501, route: null });
  });
});
