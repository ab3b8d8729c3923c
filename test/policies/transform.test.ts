import { describe, expect, test } from "bun:test";
import { inProcessGateway, withRoutes } from "../helpers/handler.ts";
import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({ name: "transform", routeKeys: 'response = { headers = { remove = ["server"] } }', admits: [{}] });

describe("transform in the pipeline", () => {
  test("a route with only request edits has no response hook, and no buffering", () => {
    const gw = inProcessGateway(withRoutes('[[routes]]\nname = "r"\npath = "/r"\nupstream = "u"\nrequest = { headers = { set = { "x-a" = "1" } } }'));
    const route = gw.state.snapshot.router.find("GET", "gw.test", "/r")!.value!;
    // Only the pre-route stage's hooks (metrics) remain: transform adds none.
    expect(route.chain.response).toHaveLength(gw.state.snapshot.unrouted.response.length);
    expect(route.chain.upstream).toHaveLength(gw.state.snapshot.unrouted.upstream.length + 1);
    expect(route.chain.buffer).toBe(0);
  });

  test("response body edits buffer up to their max_size", () => {
    const gw = inProcessGateway(withRoutes('[[routes]]\nname = "r"\npath = "/r"\nupstream = "u"\nresponse = { body = { remove = ["a"], max_size = "2KB" } }'));
    expect(gw.state.snapshot.router.find("GET", "gw.test", "/r")!.value!.chain.buffer).toBe(2048);
  });

  test("request edits run after strip_prefix; a path template replaces the stripped path", async () => {
    const gw = inProcessGateway(
      withRoutes(`
[[routes]]
name = "r"
path = "/api/items/:id"
upstream = "u"
strip_prefix = "/api"
request = { path = "/v2/items/{id}" }
[[routes]]
name = "s"
path = "/api/other/*"
upstream = "u"
strip_prefix = "/api"
request = { query = { add = { x = "1" } } }
`),
    );
    await gw.handle("/api/items/9");
    expect(gw.client.sent[0]!.head.split("\r\n")[0]).toBe("GET /v2/items/9 HTTP/1.1");
    await gw.handle("/api/other/a?b=2");
    expect(gw.client.sent[1]!.head.split("\r\n")[0]).toBe("GET /other/a?b=2&x=1 HTTP/1.1");
  });

  test("a status mapped to 204 drops the body", async () => {
    const gw = inProcessGateway(withRoutes('[[routes]]\nname = "r"\npath = "/r"\nupstream = "u"\nresponse = { status = { 200 = 204 } }'));
    const res = await gw.handle("/r");
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  test("HEAD responses are not rewritten", async () => {
    const gw = inProcessGateway(withRoutes('[[routes]]\nname = "r"\npath = "/r"\nupstream = "u"\nresponse = { body = { remove = ["ok"] } }'));
    gw.client.answer = { body: '{"ok":true,"b":1}' };
    expect(await (await gw.handle("/r")).json()).toEqual({ b: 1 });
    const head = await gw.handle("/r", { method: "HEAD" });
    expect(head.status).toBe(200);
  });
});
