/**
 * How the proxy terminal frames a request body it has no length for. Over
 * HTTP/2 a body comes in DATA frames and Content-Length is optional
 * (RFC 9113 §8.1.1); Bun then hands the handler a body stream and neither
 * Content-Length nor Transfer-Encoding, the same as a Request built here with
 * a body and no length. The gateway used to take such a request as body-less
 * and send `content-length: 0`: the body never reached the upstream
 * (test/integration/tls.test.ts has the same case over real HTTP/2).
 */
import { expect, test } from "bun:test";
import { inProcessGateway, withRoutes } from "../helpers/handler.ts";

const ROUTE = withRoutes(
  `
[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
`,
  'max_body_size = "1KB"',
);

const stream = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });

test("a body without Content-Length or Transfer-Encoding goes upstream chunked, whole", async () => {
  const gw = inProcessGateway(ROUTE);
  const res = await gw.handle("/api/x", { method: "POST", body: stream("hello") });
  expect(res.status).toBe(200);
  const { head, body } = gw.client.sent[0]!;
  expect(head).toContain("transfer-encoding: chunked\r\n");
  expect(head).not.toContain("content-length");
  expect(await new Response(body as ReadableStream<Uint8Array>).text()).toBe("hello");
});

test("such a body is held to max_body_size as it streams: the read fails with 413", async () => {
  const gw = inProcessGateway(ROUTE);
  await gw.handle("/api/x", { method: "PUT", body: stream("x".repeat(2048)) });
  const body = gw.client.sent[0]!.body as ReadableStream<Uint8Array>;
  // The pool reads the body as it sends it; the canned client leaves that to the test.
  const failure = await new Response(body).arrayBuffer().then(() => null, (e: unknown) => e);
  expect(failure).toMatchObject({ status: 413, message: "request body too large" });
});

test("a POST without a body still says content-length: 0", async () => {
  const gw = inProcessGateway(ROUTE);
  await gw.handle("/api/x", { method: "POST" });
  expect(gw.client.sent[0]!.head).toContain("content-length: 0\r\n");
  expect(gw.client.sent[0]!.body).toBeNull();
});
