import { describe, expect, test } from "bun:test";
import { cleanTracestate, formatTraceparent, newSpanId, newTraceId, parseTraceparent } from "../../src/tracing/trace-context.ts";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PID = "00f067aa0ba902b7";

describe("traceparent (W3C Trace Context §3.2)", () => {
  test("the spec's example parses", () => {
    expect(parseTraceparent(`00-${TID}-${PID}-01`)).toEqual({ traceId: TID, parentId: PID, sampled: true });
    expect(parseTraceparent(`00-${TID}-${PID}-00`)!.sampled).toBe(false);
  });
  test.each([
    ["absent", null],
    ["all-zero trace id", `00-00000000000000000000000000000000-${PID}-01`],
    ["all-zero parent id", `00-${TID}-0000000000000000-01`],
    ["upper-case hex", `00-${TID.toUpperCase()}-${PID}-01`],
    ["version ff", `ff-${TID}-${PID}-01`],
    ["version 00 with a tail", `00-${TID}-${PID}-01-extra`],
    ["too short", `00-${TID}-${PID}-1`],
    ["bad separators", `00_${TID}_${PID}_01`],
    ["non-hex flags", `00-${TID}-${PID}-zz`],
  ])("refused: %s", (_, v) => expect(parseTraceparent(v as string | null)).toBeNull());
  test("a future version is read by its version-00 prefix", () => {
    expect(parseTraceparent(`cc-${TID}-${PID}-01-what-the-future-holds`)!.traceId).toBe(TID);
    expect(parseTraceparent(`cc-${TID}-${PID}-01x`)).toBeNull();
  });
  test("ids made here are well-formed and distinct", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSpanId()));
    expect(ids.size).toBe(1000);
    const tp = formatTraceparent(newTraceId(), newSpanId(), true);
    expect(parseTraceparent(tp)).not.toBeNull();
  });
});

describe("tracestate (§3.3)", () => {
  test("members kept, empty ones dropped", () => expect(cleanTracestate("rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE")).toBe("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  test("multi-tenant keys", () => expect(cleanTracestate("tenant@vendor=x")).toBe("tenant@vendor=x"));
  test.each([["no =", "rojo"], ["bad key", "Rojo=1"], ["duplicate key", "a=1,a=2"], ["too long", `a=${"x".repeat(600)}`], ["33 members", Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",")]])(
    "dropped: %s",
    (_, v) => expect(cleanTracestate(v)).toBeNull(),
  );
});
