/**
 * The cache policy on the real handler (in process, canned upstream) for
 * what the public HTTP caching test suite (test/integration/
 * http-cache-tests.test.ts) found: byte ranges of a stored response (RFC
 * 9110 §14), a 304 that names another representation (RFC 9111 §4.3.4),
 * Surrogate-Control and Surrogate-Capability (src/cache/surrogate.ts), and
 * unrecognised statuses (§3, §5.2.2.3).
 */
import { describe, expect, test } from "bun:test";
import { inProcessGateway, withRoutes, type CannedAnswer } from "../../helpers/handler.ts";

const gw = inProcessGateway(
  withRoutes(`
[[routes]]
name = "c"
path = "/*"
upstream = "u"
cache = {}
`),
);

/** Answers by path; counts what reached the upstream per path. */
const answers = new Map<string, (head: string) => CannedAnswer>();
const calls = new Map<string, number>();
gw.client.answer = (sent) => {
  const path = sent.head.split(" ")[1]!;
  calls.set(path, (calls.get(path) ?? 0) + 1);
  return answers.get(path)!(sent.head);
};
const upstreamCalls = (path: string) => calls.get(path) ?? 0;
const header = (head: string, name: string) => new RegExp(`^${name}: (.*)$`, "im").exec(head)?.[1]?.trim() ?? null;

describe("byte ranges from a stored complete response (RFC 9110 §14)", () => {
  answers.set("/range", () => ({ headers: [["cache-control", "max-age=3600"], ["etag", '"r1"']], body: "0123456789A" }));

  test("regression (http-cache-tests partial-store-complete-reuse-partial): a range of a stored 200 is a 206 from the cache", async () => {
    expect(await (await gw.handle("/range")).text()).toBe("0123456789A");
    for (const [range, part, cr] of [
      ["bytes=0-1", "01", "bytes 0-1/11"],
      ["bytes=1-", "123456789A", "bytes 1-10/11"],
      ["bytes=-1", "A", "bytes 10-10/11"],
    ] as const) {
      const res = await gw.handle("/range", { headers: { range } });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(cr);
      expect(res.headers.get("content-length")).toBe(String(part.length));
      expect(res.headers.get("cache-status")).toStartWith("gateway; hit");
      expect(await res.text()).toBe(part);
    }
    expect(upstreamCalls("/range")).toBe(1);
  });
  test("several ranges, an unsatisfiable one or a failed If-Range: the whole stored response", async () => {
    await gw.handle("/range");
    const cases: Record<string, string>[] = [{ range: "bytes=0-1,4-5" }, { range: "bytes=50-" }, { range: "bytes=0-1", "if-range": '"other"' }];
    for (const headers of cases) {
      const res = await gw.handle("/range", { headers });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("0123456789A");
    }
    const ok = await gw.handle("/range", { headers: { range: "bytes=0-1", "if-range": '"r1"' } });
    expect([ok.status, await ok.text()]).toEqual([206, "01"]);
  });
});

describe("§4.3.4 a 304 updates only the stored response it selects", () => {
  test("regression (http-cache-tests 304-etag-update-response-ETag): a 304 with another strong ETag updates nothing", async () => {
    let n = 0;
    answers.set("/etag", (head) => {
      n++;
      if (n === 1) return { headers: [["cache-control", "max-age=0"], ["etag", '"abcdef"'], ["x-v", "A"]], body: "stored" };
      expect(header(head, "if-none-match")).toBe('"abcdef"');
      return { status: 304, headers: [["cache-control", "max-age=3600"], ["etag", '"ghijkl"'], ["x-v", "B"]], body: null };
    });
    await gw.handle("/etag");
    const res = await gw.handle("/etag");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"abcdef"');
    expect(res.headers.get("x-v")).toBe("A");
    expect(res.headers.get("cache-status")).toContain("detail=validator-mismatch");
    expect(await res.text()).toBe("stored");
    // not freshened by it: the next request revalidates again
    await gw.handle("/etag");
    expect(upstreamCalls("/etag")).toBe(3);
  });
  test("a 304 with the stored ETag updates and freshens it", async () => {
    let n = 0;
    answers.set("/etag-ok", () => {
      n++;
      if (n === 1) return { headers: [["cache-control", "max-age=0"], ["etag", '"a"'], ["x-v", "A"]], body: "stored" };
      return { status: 304, headers: [["cache-control", "max-age=3600"], ["etag", '"a"'], ["x-v", "B"]], body: null };
    });
    await gw.handle("/etag-ok");
    expect((await gw.handle("/etag-ok")).headers.get("x-v")).toBe("B");
    const hit = await gw.handle("/etag-ok");
    expect([hit.headers.get("x-v"), await hit.text()]).toEqual(["B", "stored"]);
    expect(upstreamCalls("/etag-ok")).toBe(2);
  });
});

describe("Surrogate-Control (src/cache/surrogate.ts)", () => {
  test("regression (http-cache-tests surrogate-append-capabilities): requests that may fill the cache carry Surrogate-Capability", async () => {
    let seen: (string | null)[] = [];
    answers.set("/cap", (head) => {
      seen.push(header(head, "surrogate-capability"));
      return { headers: [["cache-control", "no-store"]], body: "x" };
    });
    await gw.handle("/cap");
    await gw.handle("/cap", { headers: { "surrogate-capability": 'cdn="Surrogate/1.0"' } });
    expect(seen[0]).toBe('gateway="Surrogate/1.0"');
    // appended to a downstream surrogate's (Edge Architecture §2.1)
    expect(seen[1]).toMatch(/^cdn="Surrogate\/1\.0",\s*gateway="Surrogate\/1\.0"$/);
    seen = [];
  });
  test("regression (http-cache-tests surrogate-fresh-cc-nostore): a max-age aimed at this cache is a hit despite Cache-Control no-store", async () => {
    answers.set("/sc-fresh", () => ({ headers: [["cache-control", "no-store"], ["surrogate-control", "max-age=10000;gateway"]], body: "edge" }));
    await gw.handle("/sc-fresh");
    const res = await gw.handle("/sc-fresh");
    expect(res.headers.get("cache-status")).toStartWith("gateway; hit");
    // forwarded unchanged, for a surrogate in front
    expect(res.headers.get("surrogate-control")).toBe("max-age=10000;gateway");
    expect(upstreamCalls("/sc-fresh")).toBe(1);
  });
  test("regression (http-cache-tests surrogate-no-store-cc-fresh): its no-store is never stored, whatever Cache-Control says", async () => {
    answers.set("/sc-nostore", () => ({ headers: [["cache-control", "max-age=10000"], ["surrogate-control", "no-store"]], body: "x" }));
    await gw.handle("/sc-nostore");
    await gw.handle("/sc-nostore");
    expect(upstreamCalls("/sc-nostore")).toBe(2);
  });
  test("regression (http-cache-tests surrogate-max-age-long-cc-max-age): its short max-age outranks a long Cache-Control one", async () => {
    answers.set("/sc-short", () => ({ headers: [["cache-control", "max-age=3600"], ["surrogate-control", "max-age=0"]], body: "x" }));
    await gw.handle("/sc-short");
    await gw.handle("/sc-short");
    expect(upstreamCalls("/sc-short")).toBe(2);
  });
});

describe("statuses this cache does not know (§3, §5.2.2.3)", () => {
  test("regression (http-cache-tests status-599-fresh): a fresh 599 with explicit freshness is a hit", async () => {
    answers.set("/599", () => ({ status: 599, headers: [["cache-control", "max-age=3600"]], body: "whatever" }));
    await gw.handle("/599");
    const res = await gw.handle("/599");
    expect([res.status, res.headers.get("cache-status")?.startsWith("gateway; hit")]).toEqual([599, true]);
    expect(upstreamCalls("/599")).toBe(1);
  });
  test("regression (http-cache-tests status-599-must-understand): with must-understand it is not stored", async () => {
    answers.set("/599mu", () => ({ status: 599, headers: [["cache-control", "max-age=3600, must-understand"]], body: "whatever" }));
    await gw.handle("/599mu");
    const res = await gw.handle("/599mu");
    expect(res.headers.get("cache-status")).toContain("detail=must-understand");
    expect(upstreamCalls("/599mu")).toBe(2);
  });
});
